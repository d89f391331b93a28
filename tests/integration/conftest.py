"""Integration tests run against real lab hosts (see tests/lab/README.md).

Fixtures: ``lab`` (3 hosts, session-wide) and ``lab_factory(n)`` for more
(benchmarks use 8).  Every test in this directory is skipped, with the reason,
when the lab cannot run here (not root, or libvirtd/sshd/... missing).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `python -m pytest` puts the repo root on sys.path; a bare `pytest` may not.
_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from tests.integration.leftovers import assert_clean, delete_leftovers  # noqa: E402
from tests.lab import Lab, missing_requirements  # noqa: E402
from tests.lab.fixtures import lab, lab_factory  # noqa: E402, F401

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_requirements()
    if not reason:
        return
    marker = pytest.mark.skip(reason=f"integration lab unavailable: {reason}")
    for item in items:
        if item.path.resolve().is_relative_to(_HERE):
            item.add_marker(marker)


MARKER_IMAGE_ID = "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e"


@pytest.fixture(scope="session")
def marker_image(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The boot-sector guest (tests/guest.py) as a qcow2 image entry for an inventory."""
    from tests.guest import make_image

    path = make_image(tmp_path_factory.mktemp("images") / "marker.qcow2", "qcow2")
    return {"id": MARKER_IMAGE_ID, "name": "marker", "file": str(path), "disk_format": "qcow2"}


LINUX_IMAGE_ID = "6c0d5a2e-2222-4b7f-8e1d-3a2b4c5d6e7f"


@pytest.fixture(scope="session")
def linux_image() -> dict:
    """The real Linux guest (tests/linux_guest) as a qcow2 image entry: built from Debian packages on
    first use, then cached between runs (see tests/linux_guest/__init__.py)."""
    from tests.linux_guest import image

    return {"id": LINUX_IMAGE_ID, "name": "linux", "file": str(image()), "disk_format": "qcow2"}


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict) -> Iterator[Path]:  # noqa: F811 (lab: the fixture)
    """The lab with the marker image; afterwards every instance left is deleted and the lab checked empty
    (a module with other needs defines its own `inventory`)."""
    path = lab.write_inventory(tmp_path / "inventory.yaml", images=[marker_image])
    yield path
    delete_leftovers(path)  # leave the shared lab empty for the next test, whatever happened
    assert_clean(lab)
