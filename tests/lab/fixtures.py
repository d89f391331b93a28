"""pytest fixtures for labs, importable from any conftest.py:

    from tests.lab.fixtures import lab, lab_factory  # noqa: F401

``lab`` is a started 3-host lab shared by the session; ``lab_factory(n)``
starts another lab with n hosts (its own bridge and subnet), closed at the end
of the session or earlier with ``with lab_factory(8) as lab8: ...``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .lab import Lab, missing_requirements


class LabFactory:
    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._labs: list[Lab] = []

    def __call__(self, n_hosts: int, name: str = "lab") -> Lab:
        skip_if_unavailable()
        lab = Lab.start(n_hosts, self._tmp.mktemp(f"{name}{n_hosts}-", numbered=True))
        self._labs.append(lab)
        return lab

    def close_all(self) -> None:
        while self._labs:
            self._labs.pop().close()


def skip_if_unavailable() -> None:
    reason = missing_requirements()
    if reason:
        pytest.skip(f"integration lab unavailable: {reason}")


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    factory = LabFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture(scope="session")
def lab(lab_factory: LabFactory) -> Lab:
    return lab_factory(3)
