"""Hypervisor facts from libvirt, named as Nova's libvirt driver names them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from novactl.hoststate import (
    CRASHED,
    NOSTATE,
    PAUSED,
    RUNNING,
    SHUTDOWN,
    SUSPENDED,
    ComputeNode,
)

# libvirt's virDomainState -> Nova's power_state (nova/virt/libvirt/driver.py's LIBVIRT_POWER_STATE).
POWER_STATE = {
    libvirt.VIR_DOMAIN_NOSTATE: NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: SUSPENDED,
}


def compute_node(conn: libvirt.virConnect, host_ip: str, fs_total_bytes: int) -> ComputeNode:
    """Totals exactly as `virsh nodeinfo` reports them; local_gb is the instances filesystem."""
    model, memory_mb, cpus, _mhz, _nodes, sockets, cores, threads = conn.getInfo()
    caps = ET.fromstring(conn.getCapabilities())
    return ComputeNode(
        hypervisor_hostname=conn.getHostname(),
        memory_mb=memory_mb,
        vcpus=cpus,
        local_gb=fs_total_bytes // 1024**3,
        hypervisor_type=conn.getType(),
        hypervisor_version=conn.getVersion(),
        cpu_info=_cpu_info(caps, model, sockets, cores, threads),
        host_ip=host_ip,
        supported_instances=_supported_instances(caps),
    )


def _cpu_info(caps: ET.Element, arch: str, sockets: int, cores: int, threads: int) -> dict[str, Any]:
    cpu = caps.find("host/cpu")
    info: dict[str, Any] = {
        "arch": arch,
        "model": "",
        "vendor": "",
        "topology": {"sockets": sockets, "cores": cores, "threads": threads},
        "features": [],
    }
    if cpu is not None:
        info["arch"] = cpu.findtext("arch", arch)
        info["model"] = cpu.findtext("model", "")
        info["vendor"] = cpu.findtext("vendor", "")
        info["features"] = sorted(f.get("name", "") for f in cpu.findall("feature"))
    return info


def _supported_instances(caps: ET.Element) -> list[list[str]]:
    """[arch, hypervisor type, vm mode] for every guest type the host offers, as Nova reports them."""
    result = []
    for guest in caps.findall("guest"):
        vm_mode = guest.findtext("os_type", "hvm")
        arch = guest.find("arch")
        if arch is None:
            continue
        for domain in arch.findall("domain"):
            entry = [arch.get("name", ""), domain.get("type", ""), vm_mode]
            if entry not in result:
                result.append(entry)
    return result
