"""One instance's libvirt domain: define it, find it, wait for a state, undefine it, save its state.

`define` is the only way a domain comes to exist: boot and a cold move's target call it, so the XML
and the `libvirt.xml` copy beside the disks never differ. The callers drop the claim when their
build ends (the claim's builder lock tells `cleanup` whether a BUILD domain is still being built).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import libvirt

from novactl.drivers.libvirt import domain_xml, metadata, paths, vif
from novactl.drivers.libvirt.errors import host_errors, reason
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError
from novactl.hoststate import ComputeNode, InstanceInfo
from novactl.models import Network

LOG = logging.getLogger("novactl.virt.libvirt.guest")
STATE_TIMEOUT = 60  # seconds for libvirt to report a state change it started itself
# A managed save goes with the domain. No NVRAM flag: novactl defines no UEFI loader, and libvirt
# drivers without NVRAM support (its test driver among them) refuse the flag.
UNDEFINE_FLAGS = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE


def define(
    host: Host, instance: InstanceInfo, disks: list[tuple[str, str]], network: Network, mac: str, files: Mapping[str, bytes] | None = None
) -> libvirt.virDomain:
    """Build the domain XML, keep a copy in the instance directory, define it.

    `files`: other files of the instance (disk.info, the config drive), written in the same round
    trip as the copy of the XML.
    """
    node, config = host.polled_node(), host.config
    directory = paths.instance_dir(config, instance.uuid)
    xml = domain_xml.build(
        domain_xml.DomainSpec(
            instance=instance,
            virt_type=virt_type(node, config.virt_type),
            cpu_mode=config.cpu_mode,
            arch=node.cpu_info.get("arch", "x86_64"),
            instance_dir=directory,
            disks=disks,
            bridge=network.bridge,
            libvirt_network=network.libvirt_network,
            mac=mac,
            tap=vif.tap_name(instance.uuid),
            config_drive=paths.config_drive(config, instance.uuid) if instance.config_drive else None,
        )
    )
    host.connection.write_files({**(files or {}), f"{directory}/libvirt.xml": xml.encode()})
    return host.libvirt.defineXML(xml)


def virt_type(node: ComputeNode, wanted: str) -> str:
    arch = node.cpu_info.get("arch", "x86_64")
    if wanted == "qemu" or [arch, "kvm", "hvm"] in node.supported_instances:
        return wanted
    LOG.warning("KVM is not available on %s; falling back to TCG (type='qemu')", node.hypervisor_hostname)
    return "qemu"


def lookup(host: Host, instance_uuid: str) -> libvirt.virDomain:
    """The instance's domain; HostError when it has none."""
    try:
        return host.libvirt.lookupByUUIDString(instance_uuid)
    except libvirt.libvirtError as exc:
        raise HostError(host.name, f"instance {instance_uuid} has no domain: {reason(exc)}") from None


def find(host: Host, instance_uuid: str) -> libvirt.virDomain | None:
    try:
        return host.libvirt.lookupByUUIDString(instance_uuid)
    except libvirt.libvirtError:
        return None


def undefine(domain: libvirt.virDomain) -> None:
    """Stop the domain if it runs, then forget it with its managed save and NVRAM."""
    if domain.isActive():
        domain.destroy()
    domain.undefineFlags(UNDEFINE_FLAGS)


@host_errors
def save_state(host: Host, instance: InstanceInfo, domain: libvirt.virDomain | None = None, active: bool | None = None) -> None:
    """Write the instance's novactl metadata to its persistent definition and, while it runs, the live one.

    `active`: whether the domain runs, when the caller has just seen it (spawn: one libvirt round trip
    fewer); None asks libvirt.
    """
    domain = domain or lookup(host, instance.uuid)
    if active is None:
        active = bool(domain.isActive())
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if active else 0)
    domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.to_plain_xml(instance), metadata.PREFIX, metadata.NAMESPACE, flags)


def wait_for(domain: libvirt.virDomain, ok: Callable[[int], bool], host_name: str, what: str, timeout: float = STATE_TIMEOUT) -> None:
    """Poll the domain's state until `ok(state)`; HostError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ok(domain.info()[0]):
        if time.monotonic() > deadline:
            raise HostError(host_name, f"domain {domain.name()} not {what} after {timeout:g} s")
        time.sleep(0.1)


def wait_running(domain: libvirt.virDomain, host_name: str) -> None:
    wait_for(domain, lambda s: s == libvirt.VIR_DOMAIN_RUNNING, host_name, "running")
