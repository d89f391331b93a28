"""Host drivers behind one interface (drivers/base.py); `make_driver` picks one by the host's `driver`."""

from __future__ import annotations

from novactl.drivers.base import ComputeDriver
from novactl.models import HostConfig, Inventory


def make_driver(host: HostConfig, inventory: Inventory) -> ComputeDriver:
    if host.driver == "fake":
        from novactl.drivers.fake import FakeDriver

        return FakeDriver(host, inventory)
    # Imported on demand: libvirt and paramiko cost start-up time a fake-only or --help run never needs.
    from novactl.drivers.libvirt.driver import LibvirtDriver

    return LibvirtDriver(host, inventory)
