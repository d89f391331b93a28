"""Power verbs on one libvirt host, as nova/virt/libvirt/driver.py does them, plus state writes.

Whatever libvirt cannot express about an instance (vm_state `resized`, a task in flight, a fault,
"this shut-off domain holds a managed save") is written into the domain's novactl `<metadata>`,
to the persistent definition and, while it runs, to the live one, so every operator's poll sees it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import libvirt

from novactl.drivers.libvirt import metadata, paths
from novactl.errors import HostError
from novactl.hoststate import InstanceInfo

if TYPE_CHECKING:
    from novactl.drivers.libvirt.driver import LibvirtDriver

LOG = logging.getLogger("novactl.virt.libvirt.driver")
SHUTDOWN_RETRY_INTERVAL = 10  # Nova's SHUTDOWN_RETRY_INTERVAL: re-send the ACPI event this often
STATE_TIMEOUT = 60  # seconds for libvirt to report a state change it started itself
P = ParamSpec("P")
R = TypeVar("R")


def host_errors(func: Callable[P, R]) -> Callable[P, R]:
    """libvirt's errors as HostError naming the host (the driver is the first argument)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except libvirt.libvirtError as exc:
            host = getattr(args[0], "host", None)
            raise HostError(getattr(host, "name", "?"), f"libvirt: {exc.get_error_message()}") from None

    return wrapper


def domain(driver: LibvirtDriver, instance_uuid: str) -> libvirt.virDomain:
    try:
        return driver.libvirt.lookupByUUIDString(instance_uuid)
    except libvirt.libvirtError as exc:
        raise HostError(driver.host.name, f"instance {instance_uuid} has no domain: {exc.get_error_message()}") from None


@host_errors
def save_state(driver: LibvirtDriver, instance: InstanceInfo) -> None:
    """Write the instance's novactl metadata (vm_state, task_state, fault, flavor, meta) to its domain."""
    dom = domain(driver, instance.uuid)
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.to_plain_xml(instance), metadata.PREFIX, metadata.NAMESPACE, flags)


@host_errors
def power_off(driver: LibvirtDriver, instance: InstanceInfo, timeout: float, retry_interval: float = SHUTDOWN_RETRY_INTERVAL) -> bool:
    """Nova's _clean_shutdown, then destroy: True when the guest honoured ACPI within `timeout`."""
    dom = domain(driver, instance.uuid)
    clean = _clean_shutdown(dom, timeout, retry_interval)
    if not clean:
        LOG.info("[instance: %s] Instance failed to shutdown in %d seconds; destroying it.", instance.uuid, timeout)
        if dom.isActive():
            dom.destroy()
    _wait_for(dom, lambda s: s == libvirt.VIR_DOMAIN_SHUTOFF, driver.host.name, "shut off")
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
def power_on(driver: LibvirtDriver, instance: InstanceInfo) -> None:
    """Start the domain (restoring its managed save, if any)."""
    dom = domain(driver, instance.uuid)
    if not dom.isActive():
        dom.create()
    _wait_for(dom, lambda s: s == libvirt.VIR_DOMAIN_RUNNING, driver.host.name, "running")


@host_errors
def reboot(driver: LibvirtDriver, instance: InstanceInfo, hard: bool, timeout: float) -> str:
    """Soft: ACPI shutdown, then start again; a guest that ignores it is hard rebooted (Nova's reboot)."""
    dom = domain(driver, instance.uuid)
    if not hard and dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING:
        if _clean_shutdown(dom, timeout, SHUTDOWN_RETRY_INTERVAL):
            power_on(driver, instance)
            LOG.info("[instance: %s] Instance soft rebooted successfully.", instance.uuid)
            return "soft"
        LOG.warning("[instance: %s] Failed to soft reboot instance. Trying hard reboot.", instance.uuid)
    if dom.isActive():
        dom.destroy()
    if dom.hasManagedSaveImage(0):  # a hard reboot boots afresh; it does not restore a suspend
        dom.managedSaveRemove(0)
    if instance.metadata.pop("managed_save", None):
        save_state(driver, instance)
    power_on(driver, instance)
    LOG.info("[instance: %s] Instance rebooted successfully.", instance.uuid)
    return "hard"


@host_errors
def suspend(driver: LibvirtDriver, instance: InstanceInfo) -> None:
    """Managed save: memory to disk, domain shut off; `start`/`resume` restore it."""
    instance.metadata["managed_save"] = "1"
    save_state(driver, instance)  # first, so the saved image carries it and a poll in between agrees
    domain(driver, instance.uuid).managedSave(0)


@host_errors
def resume(driver: LibvirtDriver, instance: InstanceInfo) -> None:
    power_on(driver, instance)
    instance.metadata.pop("managed_save", None)
    instance.vm_state = "active"
    save_state(driver, instance)


@host_errors
def pause(driver: LibvirtDriver, instance: InstanceInfo) -> None:
    dom = domain(driver, instance.uuid)
    dom.suspend()
    _wait_for(dom, lambda s: s == libvirt.VIR_DOMAIN_PAUSED, driver.host.name, "paused")


@host_errors
def unpause(driver: LibvirtDriver, instance: InstanceInfo) -> None:
    dom = domain(driver, instance.uuid)
    dom.resume()
    _wait_for(dom, lambda s: s == libvirt.VIR_DOMAIN_RUNNING, driver.host.name, "running")


def console_log(driver: LibvirtDriver, instance: InstanceInfo, length: int | None) -> str:
    """The serial console's file, or its last `length` lines (Nova's get_console_output)."""
    data = driver.connection.read_file(f"{paths.instance_dir(driver.host, instance.uuid)}/console.log")
    text = (data or b"").decode(errors="replace")
    if length is None:
        return text
    return "\n".join(text.splitlines()[-length:]) if length > 0 else ""


def _wait_for(dom: libvirt.virDomain, ok, host: str, what: str) -> None:
    deadline = time.monotonic() + STATE_TIMEOUT
    while not ok(dom.info()[0]):
        if time.monotonic() > deadline:
            raise HostError(host, f"domain {dom.name()} not {what} after {STATE_TIMEOUT} s")
        time.sleep(0.1)
