"""Host drivers behind one interface (drivers/base.py); `make_driver` picks one by the host's `driver`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from novactl.models import HostConfig, Inventory

if TYPE_CHECKING:  # not imported at run time: a boot calls open_ahead before it needs any driver
    from novactl.drivers.base import ComputeDriver
    from novactl.remote import Connection
    from novactl.remote.ahead import OpenedAhead


def make_driver(host: HostConfig, inventory: Inventory, opener: Callable[[HostConfig], Connection] | None = None) -> ComputeDriver:
    """`opener`: how the driver gets its connection to the host (default: `remote.connect` on first use)."""
    if host.driver == "fake":
        from novactl.drivers.fake import FakeDriver

        return FakeDriver(host, inventory)
    # Imported on demand: libvirt and paramiko cost start-up time a fake-only or --help run never needs.
    from novactl.drivers.libvirt.driver import LibvirtDriver
    from novactl.drivers.libvirt.host import Host

    return LibvirtDriver(host, inventory, Host(host, opener) if opener else None)


def open_ahead(hosts: list[HostConfig]) -> OpenedAhead:
    """The connections these hosts' drivers will use (the libvirt driver's; a fake host has none),
    their handshakes started now: pass its `take` to `make_driver` as the opener."""
    from novactl.remote.ahead import OpenedAhead

    return OpenedAhead([host for host in hosts if host.driver != "fake"])
