"""The libvirt domain of an instance, declared once (xmlmodel.py): `Domain` builds and parses it.

Shape follows what Nova's libvirt driver defines for a qcow2-backed guest on a linux bridge: virtio
disks (vda root, vdb ephemeral, vdc swap), a bridge interface with a tap named after the instance (or
a libvirt-managed network's interface), a pty serial console that `novactl console` attaches to,
logged by libvirt (virtlogd) to `<instance dir>/console.log` for console-log, and novactl's
`<metadata>` element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from novactl.drivers.libvirt import metadata
from novactl.drivers.libvirt.metadata import InstanceMetadata
from novactl.drivers.libvirt.xmlmodel import XMLElement, child, flag, value
from novactl.hoststate import InstanceInfo


@dataclass(kw_only=True)
class Disk(XMLElement):
    TAG = "disk"
    type: str = value("@type", "file")
    device: str = value("@device", "disk")
    driver: str = value("driver/@name", "qemu")
    format: str = value("driver/@type", "qcow2")
    source: str = value("source/@file")
    target: str = value("target/@dev")
    bus: str = value("target/@bus", "virtio")
    readonly: bool = flag("readonly", default=False)


@dataclass(kw_only=True)
class Interface(XMLElement):
    TAG = "interface"
    type: str = value("@type", "bridge")  # or "network": a libvirt-managed network (NAT + DHCP)
    mac: str = value("mac/@address")
    bridge: str | None = value("source/@bridge", None)
    network: str | None = value("source/@network", None)
    tap: str = value("target/@dev")
    model: str = value("model/@type", "virtio")


@dataclass(kw_only=True)
class Serial(XMLElement):
    """A pty (what virDomainOpenConsole attaches to) whose output libvirt also logs to a file.

    append="off": the log starts afresh when the guest starts, as the file serial it replaces did.
    """

    TAG = "serial"
    type: str = value("@type", "pty")
    log: str = value("log/@file")
    log_append: str = value("log/@append", "off")
    port: int = value("target/@port", 0)


@dataclass(kw_only=True)
class Domain(XMLElement):
    TAG = "domain"
    type: str = value("@type")  # kvm, or qemu (TCG)
    name: str = value("name")
    uuid: str = value("uuid")
    metadata: InstanceMetadata | None = child("metadata", many=False)
    memory: int = value("memory")
    memory_unit: str = value("memory/@unit", "MiB")
    vcpu: int = value("vcpu")
    arch: str = value("os/type/@arch")
    os_type: str = value("os/type", "hvm")
    boot: str = value("os/boot/@dev", "hd")
    acpi: bool = flag("features/acpi")
    apic: bool = flag("features/apic")
    cpu_mode: str | None = value("cpu/@mode", None)
    clock: str = value("clock/@offset", "utc")
    on_poweroff: str = value("on_poweroff", "destroy")
    on_reboot: str = value("on_reboot", "restart")
    on_crash: str = value("on_crash", "destroy")
    disks: list[Disk] = child("devices")
    interfaces: list[Interface] = child("devices")
    serials: list[Serial] = child("devices")
    memballoon: str = value("devices/memballoon/@model", "virtio")


@dataclass(frozen=True)
class DomainSpec:
    instance: InstanceInfo
    virt_type: str  # kvm, or qemu (TCG) where the host has no KVM
    cpu_mode: str  # none | host-model | host-passthrough
    arch: str
    instance_dir: str
    disks: list[tuple[str, str]]  # (file, target dev) in boot order; all qcow2
    bridge: str
    mac: str
    tap: str
    config_drive: str | None = None  # the ISO's path, attached read-only as a cdrom as Nova does
    libvirt_network: str | None = None  # attach to this libvirt network instead of `bridge`


def domain(spec: DomainSpec) -> Domain:
    instance = spec.instance
    return Domain(
        type=spec.virt_type,
        name=instance.instance_name,
        uuid=instance.uuid,
        metadata=InstanceMetadata.of(instance),
        memory=instance.flavor.ram,
        vcpu=instance.flavor.vcpus,
        arch=spec.arch,
        # QEMU's own CPU model under TCG: host-model/passthrough need KVM.
        cpu_mode=spec.cpu_mode if spec.virt_type == "kvm" and spec.cpu_mode != "none" else None,
        disks=[Disk(source=path, target=target) for path, target in spec.disks] + _config_drive(spec),
        interfaces=[_interface(spec)],
        serials=[Serial(log=f"{spec.instance_dir}/console.log")],
    )


def _interface(spec: DomainSpec) -> Interface:
    if spec.libvirt_network:
        return Interface(type="network", mac=spec.mac, network=spec.libvirt_network, tap=spec.tap)
    return Interface(mac=spec.mac, bridge=spec.bridge, tap=spec.tap)


def _config_drive(spec: DomainSpec) -> list[Disk]:
    if not spec.config_drive:
        return []
    # Nova's config drive on i440fx: an IDE cdrom.
    return [Disk(device="cdrom", format="raw", source=spec.config_drive, target="hdd", bus="ide", readonly=True)]


def to_xml(domain: Domain) -> str:
    ET.register_namespace(metadata.PREFIX, metadata.NAMESPACE)
    root = domain.to_element()
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def from_xml(text: str) -> Domain:
    return Domain.from_element(ET.fromstring(text))


def build(spec: DomainSpec) -> str:
    return to_xml(domain(spec))
