"""Power verbs on one libvirt host, as nova/virt/libvirt/driver.py does them.

Whatever libvirt cannot express about an instance (a task in flight, "this shut-off domain holds a
managed save") is written into the domain's novactl `<metadata>` by `guest.save_state`.
"""

from __future__ import annotations

import logging
import time

import libvirt

from novactl.drivers.libvirt import guest
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.hoststate import InstanceInfo

LOG = logging.getLogger("novactl.virt.libvirt.driver")
SHUTDOWN_RETRY_INTERVAL = 10  # Nova's SHUTDOWN_RETRY_INTERVAL: re-send the ACPI event this often


def _is(state: int):
    return lambda s: s == state


@host_errors
def power_off(host: Host, instance: InstanceInfo, timeout: float, retry_interval: float = SHUTDOWN_RETRY_INTERVAL) -> bool:
    """Nova's _clean_shutdown, then destroy: True when the guest honoured ACPI within `timeout`."""
    dom = guest.lookup(host, instance.uuid)
    clean = _clean_shutdown(dom, timeout, retry_interval)
    if not clean:
        LOG.info("[instance: %s] Instance failed to shutdown in %d seconds; destroying it.", instance.uuid, timeout)
        if dom.isActive():
            dom.destroy()
    guest.wait_for(dom, _is(libvirt.VIR_DOMAIN_SHUTOFF), host.name, "shut off")
    return clean


def _clean_shutdown(dom: libvirt.virDomain, timeout: float, retry_interval: float) -> bool:
    if not dom.isActive():
        return True
    if dom.info()[0] == libvirt.VIR_DOMAIN_PAUSED:
        return False  # a paused guest cannot see the ACPI event (Nova destroys it too)
    deadline = time.monotonic() + timeout
    next_send = 0.0
    while time.monotonic() < deadline:
        if not dom.isActive():
            return True
        if time.monotonic() >= next_send:
            try:
                dom.shutdown()  # the guest may ignore it: send again now and then, as Nova does
            except libvirt.libvirtError:
                if not dom.isActive():
                    return True
                raise
            next_send = time.monotonic() + retry_interval
        time.sleep(0.2)
    return not dom.isActive()


@host_errors
def power_on(host: Host, instance: InstanceInfo) -> None:
    """Start the domain (restoring its managed save, if any)."""
    dom = guest.lookup(host, instance.uuid)
    if not dom.isActive():
        dom.create()
    guest.wait_running(dom, host.name)


@host_errors
def reboot(host: Host, instance: InstanceInfo, hard: bool, timeout: float) -> str:
    """Soft: ACPI shutdown, then start again; a guest that ignores it is hard rebooted (Nova's reboot)."""
    dom = guest.lookup(host, instance.uuid)
    if not hard and dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING:
        if _clean_shutdown(dom, timeout, SHUTDOWN_RETRY_INTERVAL):
            power_on(host, instance)
            LOG.info("[instance: %s] Instance soft rebooted successfully.", instance.uuid)
            return "soft"
        LOG.warning("[instance: %s] Failed to soft reboot instance. Trying hard reboot.", instance.uuid)
    if dom.isActive():
        dom.destroy()
    if dom.hasManagedSaveImage(0):  # a hard reboot boots afresh; it does not restore a suspend
        dom.managedSaveRemove(0)
    if instance.metadata.pop("managed_save", None):
        guest.save_state(host, instance)
    power_on(host, instance)
    LOG.info("[instance: %s] Instance rebooted successfully.", instance.uuid)
    return "hard"


@host_errors
def suspend(host: Host, instance: InstanceInfo) -> None:
    """Managed save: memory to disk, domain shut off; `start`/`resume` restore it."""
    instance.metadata["managed_save"] = "1"
    guest.save_state(host, instance)  # first, so the saved image carries it and a poll in between agrees
    guest.lookup(host, instance.uuid).managedSave(0)


@host_errors
def resume(host: Host, instance: InstanceInfo) -> None:
    power_on(host, instance)
    instance.metadata.pop("managed_save", None)
    instance.vm_state = "active"
    guest.save_state(host, instance)


@host_errors
def pause(host: Host, instance: InstanceInfo) -> None:
    dom = guest.lookup(host, instance.uuid)
    dom.suspend()
    guest.wait_for(dom, _is(libvirt.VIR_DOMAIN_PAUSED), host.name, "paused")


@host_errors
def unpause(host: Host, instance: InstanceInfo) -> None:
    dom = guest.lookup(host, instance.uuid)
    dom.resume()
    guest.wait_running(dom, host.name)
