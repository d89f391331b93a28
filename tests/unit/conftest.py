"""Shared helpers for the unit tests: fake inventories written to tmp_path, the CLI run in-process."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.runner import Run, run

# Three fake hosts, enough for every read-only command: compute1 up with two guests, compute2 up but
# disabled (its own zone, one guest), compute3 down. Usage figures in the CLI tests derive from these.
FAKE_CLUSTER = """\
scheduler:
  reserved_host_memory_mb: 512
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
  - {id: "2", name: m1.small, ram: 2048, disk: 20, vcpus: 1}
  - id: 42
    name: m1.special
    ram: 1024
    disk: 10
    ephemeral: 5
    swap: 512
    vcpus: 2
    rxtx_factor: 2.0
    is_public: false
    extra_specs: {"hw:cpu_policy": dedicated, "quota:cpu_shares": 2048}
images:
  - {id: 11111111-2222-3333-4444-555555555555, name: cirros, file: images/cirros.qcow2}
  - {id: 66666666-7777-8888-9999-aaaaaaaaaaaa, name: ubuntu, file: ubuntu.raw, disk_format: raw}
hosts:
  - name: compute1
    driver: fake
    address: 192.0.2.11
    facts:
      memory_mb: 8192
      vcpus: 4
      local_gb: 100
      instances:
        - {name: web1, flavor: m1.tiny}
        - {name: web2, flavor: "2"}
  - name: compute2
    driver: fake
    zone: az2
    facts:
      memory_mb: 4096
      vcpus: 2
      local_gb: 50
      disabled: true
      disabled_reason: maintenance
      instances:
        - {name: db1, flavor: m1.special}
  - name: compute3
    driver: fake
    facts:
      memory_mb: 16384
      vcpus: 8
      local_gb: 200
      up: false
      down_reason: connection refused
"""


@pytest.fixture
def write_inventory(tmp_path: Path) -> Callable[..., Path]:
    """write_inventory(text, name="inventory.yaml") -> the path of a file holding the dedented text."""

    def write(text: str, name: str = "inventory.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def fake_cluster(write_inventory: Callable[..., Path]) -> Path:
    """The FAKE_CLUSTER inventory in tmp_path, with the cirros image's file present (ubuntu's is not)."""
    path = write_inventory(FAKE_CLUSTER)
    (path.parent / "images").mkdir()
    make_qcow2(path.parent / "images" / "cirros.qcow2")
    return path


def make_qcow2(path: Path) -> Path:
    """A small, empty qcow2: boot checks an image file with qemu-img before anything is sent."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1M"], check=True)
    return path


@pytest.fixture
def run_main() -> Callable[..., Run]:
    """The CLI run in-process by tests/unit/runner.py's `run` (a fixture for tests that take it as one)."""
    return run
