"""Fixtures for the libvirt driver's unit tests: fake hosts (fakehost.py) and a small real image."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest

from novactl.drivers.libvirt.driver import LibvirtDriver
from tests.unit.drivers.fakehost import FakeHost, inventory


@pytest.fixture(autouse=True, scope="session")
def _quiet_libvirt() -> None:
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors arrive as exceptions; no stderr noise


@pytest.fixture(scope="session")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16 MiB qcow2 image (mostly unallocated), as an inventory's image file."""
    path = tmp_path_factory.mktemp("images") / "cirros.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path


@pytest.fixture
def make_hosts(tmp_path: Path, image_file: Path) -> Iterator[Callable[..., list[tuple[FakeHost, LibvirtDriver]]]]:
    """make_hosts(n, **config) -> n (FakeHost, polled LibvirtDriver) sharing one inventory."""
    drivers: list[LibvirtDriver] = []

    def make(n: int = 1, **config: object) -> list[tuple[FakeHost, LibvirtDriver]]:
        hosts = [FakeHost(tmp_path / f"compute{i + 1}", name=f"compute{i + 1}", **config) for i in range(n)]
        inv = inventory(hosts, image_file)
        pairs = [(h, h.driver(inv)) for h in hosts]
        for _h, driver in pairs:
            driver.poll()
            drivers.append(driver)
        return pairs

    yield make
    for driver in drivers:
        driver.close()
