"""The libvirt domain of an instance, built with ElementTree (never a string template).

Shape follows what Nova's libvirt driver defines for a qcow2-backed guest on a linux bridge: virtio
disks (vda root, vdb ephemeral, vdc swap), a bridge interface with a tap named after the instance,
the serial console logged to `<instance dir>/console.log`, and novactl's `<metadata>` element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from novactl.drivers.libvirt import metadata
from novactl.hoststate import InstanceInfo


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


def build(spec: DomainSpec) -> str:
    ET.register_namespace(metadata.PREFIX, metadata.NAMESPACE)
    instance = spec.instance
    domain = ET.Element("domain", {"type": spec.virt_type})
    ET.SubElement(domain, "name").text = instance.instance_name
    ET.SubElement(domain, "uuid").text = instance.uuid
    ET.SubElement(domain, "metadata").append(metadata.to_element(instance))
    ET.SubElement(domain, "memory", {"unit": "MiB"}).text = str(instance.flavor.ram)
    ET.SubElement(domain, "vcpu").text = str(instance.flavor.vcpus)
    os_el = ET.SubElement(domain, "os")
    ET.SubElement(os_el, "type", {"arch": spec.arch}).text = "hvm"
    ET.SubElement(os_el, "boot", {"dev": "hd"})
    features = ET.SubElement(domain, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    if spec.virt_type == "kvm" and spec.cpu_mode != "none":
        ET.SubElement(domain, "cpu", {"mode": spec.cpu_mode})
    ET.SubElement(domain, "clock", {"offset": "utc"})
    for event, action in (("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "destroy")):
        ET.SubElement(domain, event).text = action
    devices = ET.SubElement(domain, "devices")
    for path, target in spec.disks:
        disk = ET.SubElement(devices, "disk", {"type": "file", "device": "disk"})
        ET.SubElement(disk, "driver", {"name": "qemu", "type": "qcow2"})
        ET.SubElement(disk, "source", {"file": path})
        ET.SubElement(disk, "target", {"dev": target, "bus": "virtio"})
    if spec.config_drive:
        cdrom = ET.SubElement(devices, "disk", {"type": "file", "device": "cdrom"})
        ET.SubElement(cdrom, "driver", {"name": "qemu", "type": "raw"})
        ET.SubElement(cdrom, "source", {"file": spec.config_drive})
        ET.SubElement(cdrom, "target", {"dev": "hdd", "bus": "ide"})  # Nova's config drive on i440fx
        ET.SubElement(cdrom, "readonly")
    interface = ET.SubElement(devices, "interface", {"type": "bridge"})
    ET.SubElement(interface, "mac", {"address": spec.mac})
    ET.SubElement(interface, "source", {"bridge": spec.bridge})
    ET.SubElement(interface, "target", {"dev": spec.tap})
    ET.SubElement(interface, "model", {"type": "virtio"})
    serial = ET.SubElement(devices, "serial", {"type": "file"})
    ET.SubElement(serial, "source", {"path": f"{spec.instance_dir}/console.log"})
    ET.SubElement(serial, "target", {"port": "0"})
    ET.SubElement(devices, "memballoon", {"model": "virtio"})
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")
