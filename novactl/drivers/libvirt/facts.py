"""Hypervisor facts from libvirt, named as Nova's libvirt driver names them, and their cache on the host.

Five libvirt calls give a host's facts (getInfo, getCapabilities: a large XML document, getHostname,
getType, getVersion), and they rarely change, so a poll reads them from `<state_path>/node_facts.cache`
in the shell round trip it makes anyway, and makes the calls only on a miss, then rewrites the file.

The record is used only while nothing it depends on may have changed (its key, compared here, read
host-side with shell builtins by KEY_SCRIPT, in the poll's own command, before any call is made):
the boot, the hostname, MemTotal (the NUMA nodes' too), the online CPUs, whether /dev/kvm exists, the pid of the
libvirt daemon (virtqemud or libvirtd: a restart, an upgrade's included, is a new pid, socket
activation or not; the daemon's socket is not recreated when systemd holds it). The paths in its
watch list must not be newer than the file: the emulators the capabilities name and their
directories (a package upgrade renames a new binary into place: the directory changes, while the
binary keeps the package's old mtime), `/dev` (KVM appearing) and `/etc/hosts` (getHostname is the
resolver's canonical name). A record older than MAX_AGE seconds of the host's uptime is refetched
whatever the key says (DNS, an emulator installed elsewhere on libvirtd's PATH). Deleting the file is
always safe: the next poll refetches.

The file's mtime is set back to before the calls that filled it (the uptime read with the key, less a
second), so a change made while they ran is newer than the file and is seen by the next poll.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from novactl import host_records
from novactl.drivers.libvirt import paths
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError
from novactl.host_records import CachedNode
from novactl.hoststate import (
    CRASHED,
    NOSTATE,
    PAUSED,
    RUNNING,
    SHUTDOWN,
    SUSPENDED,
    ComputeNode,
)

LOG = logging.getLogger("novactl.virt.libvirt.facts")

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

MAX_AGE = 3600  # seconds of the host's uptime
CACHED_URI = "qemu:///system"  # a session daemon's pid file is not where a poll can find it: no cache
# The first line of each (empty if missing), whether /dev/kvm exists, then the first line of each NUMA
# node's meminfo: with NUMA, libvirt's node memory is their sum, not /proc/meminfo's MemTotal.
KEY_FILES = (
    "/proc/sys/kernel/random/boot_id",
    "/proc/sys/kernel/hostname",
    "/proc/meminfo",  # its first line is MemTotal
    "/sys/devices/system/cpu/online",
    "/run/virtqemud.pid",
    "/run/libvirtd.pid",
)
KEY_NAMES = ("boot", "hostname", "MemTotal", "online CPUs", "virtqemud", "libvirtd", "/dev/kvm")  # then NUMA nodes
FIXED_WATCH = ("/dev", "/etc/hosts")
# Builtins only (read, printf, test): no process on the host but `head`, which caps the bytes read (a
# `read` loop would read a hostile file of any size). Takes the cache file as "$C" and leaves its first
# bytes in "$r", for the poll to print last. The paths tested are the file's own watch list, checked
# against the record's by host_records.cached_node. Lines: "k <key value>", "u <uptime>", "newer <path>".
_READ_KEY = 'do v=; { IFS= read -r v < "$k"; } 2>/dev/null; printf "k %s\\n" "$v"; done\n'
KEY_SCRIPT = (
    f"for k in {' '.join(KEY_FILES)}; {_READ_KEY}"
    '[ -e /dev/kvm ] && echo "k kvm" || echo "k nokvm"\n'
    f"for k in /sys/devices/system/node/node*/meminfo; {_READ_KEY}"
    'IFS= read -r v < /proc/uptime; printf "u %s\\n" "${v%% *}"\n'
    f'r=; [ -f "$C" ] && r=$(head -c {host_records.NODE_FACTS_MAX_BYTES + 1} -- "$C")\n'
    "IFS='\n'; set -f\n"
    'for l in $r; do case $l in /*) [ "$l" -nt "$C" ] && printf \'newer %s\\n\' "$l";; esac; done; set +f; unset IFS\n'
)
# $1 the file, $2 a temporary name beside it, $3 the uptime in centiseconds read with the key (before
# the calls), $4 the content. The mtime is that moment's wall time (/proc/uptime has two decimals) less
# 1.05 s, so that a change made since is newer even where `test -nt` compares whole seconds (old dash).
WRITE_SCRIPT = """d=${1%/*}; [ -d "$d" ] || mkdir -p -- "$d" || exit 1
[ -d "$1" ] && exit 1  # mv would move the file into it
IFS=' ' read -r up _ < /proc/uptime && now=$(date +%s%N) && t=$((now / 10000000 - ${up%.*}${up#*.} + $3 - 105)) &&
c=$((t % 100)) && { [ $c -ge 10 ] || c=0$c; } && printf '%s' "$4" > "$2" &&
touch -d "@$((t / 100)).$c" -- "$2" && mv -f -- "$2" "$1" || { rm -f -- "$2"; exit 1; }
"""


@dataclasses.dataclass(frozen=True)
class Probe:
    """What the poll's command read for the cache: the key now (None: unusable), the uptime, the
    watched paths newer than the file, and the file (at most NODE_FACTS_MAX_BYTES + 1 bytes)."""

    key: tuple[str, ...] | None
    uptime: float | None
    newer: frozenset[str]
    text: str


def parse_probe(output: str, text: str) -> Probe:
    """KEY_SCRIPT's output, and the file's first bytes."""
    lines = output.split("\n")
    key = tuple(line[2:] for line in lines if line.startswith("k "))
    uptimes = [host_records.uptime(line[2:]) for line in lines if line.startswith("u ")]
    newer = frozenset(line.removeprefix("newer ") for line in lines if line.startswith("newer "))
    usable = len(key) > len(KEY_NAMES) and all(host_records.is_key_value(value) for value in key)
    return Probe(key if usable else None, uptimes[0] if len(uptimes) == 1 else None, newer, text)


def node_facts(host: Host, conn: libvirt.virConnect, probe: Probe, fs_total_bytes: int) -> ComputeNode:
    """The node's facts from the cache when it is still good, else from libvirt (then cached)."""
    config = host.config
    cacheable = config.libvirt_uri == CACHED_URI and probe.key is not None and probe.uptime is not None
    cached = host_records.cached_node(probe.text, host.name) if cacheable and probe.text else None
    why = _stale(cached, probe) if cacheable else "not cached for this URI or host"
    if cached is not None and why is None:
        LOG.debug("Node facts of %s from %s", host.name, paths.node_facts_file(config))
        node = cached.node
    else:
        node, watch = fetch(conn)
        LOG.debug("Node facts of %s from libvirt: %s", host.name, why)
        if cacheable:
            _store(host, CachedNode(key=probe.key, uptime=probe.uptime, watch=watch, node=node))  # type: ignore[arg-type]
    return dataclasses.replace(node, local_gb=fs_total_bytes // 1024**3, host_ip=config.address)


def _stale(cached: CachedNode | None, probe: Probe) -> str | None:
    """Why the record cannot be used, or None."""
    if cached is None:
        return "no valid cached record"
    if cached.key != probe.key:
        now = probe.key or ()
        names = [*KEY_NAMES, *(f"NUMA node {i} memory" for i in range(len(now) - len(KEY_NAMES)))]
        changed = [name for name, a, b in zip(names, cached.key, now, strict=False) if a != b]
        if len(cached.key) != len(now):
            changed.append("NUMA nodes")
        return f"changed: {', '.join(changed)}"
    if probe.newer:
        return f"newer than the record: {', '.join(sorted(probe.newer))}"
    age = (probe.uptime or 0.0) - cached.uptime
    if not 0 <= age <= MAX_AGE:
        return f"record {age:.0f} s old"
    return None


def _store(host: Host, cached: CachedNode) -> None:
    """Write the record, unless it would not read back as itself (then the next poll fetches again)."""
    text = host_records.cached_node_text(cached)
    if host_records.cached_node(text, host.name) != cached:
        LOG.info("Not caching the node facts of %s: they would not pass validation", host.name)
        return
    path = paths.node_facts_file(host.config)
    tmp = f"{path}.tmp-{secrets.token_hex(4)}"
    argv = ["sh", "-c", WRITE_SCRIPT, "sh", path, tmp, str(round(cached.uptime * 100)), text]
    try:
        result = host.connection.run(argv, check=False)
    except HostError as exc:  # the cache only saves calls: the poll goes on (and fails if the host really is gone)
        LOG.info("Could not cache the node facts of %s: %s", host.name, exc)
        return
    if not result.ok:
        LOG.info("Could not cache the node facts of %s: %s", host.name, (result.stderr or result.stdout).strip()[-200:])


def fetch(conn: libvirt.virConnect) -> tuple[ComputeNode, tuple[str, ...]]:
    """Totals exactly as `virsh nodeinfo` reports them (local_gb and host_ip are the poll's), and the
    paths whose change makes them stale: the emulators the capabilities name, their directories."""
    model, memory_mb, cpus, _mhz, _nodes, sockets, cores, threads = conn.getInfo()
    caps = ET.fromstring(conn.getCapabilities())
    node = ComputeNode(
        hypervisor_hostname=conn.getHostname(),
        memory_mb=memory_mb,
        vcpus=cpus,
        local_gb=0,
        hypervisor_type=conn.getType(),
        hypervisor_version=conn.getVersion(),
        cpu_info=_cpu_info(caps, model, sockets, cores, threads),
        supported_instances=_supported_instances(caps),
    )
    emulators = {e.text.strip() for e in caps.iterfind("guest/arch//emulator") if e.text and e.text.strip()}
    watch = set(FIXED_WATCH) | emulators | {e.rsplit("/", 1)[0] or "/" for e in emulators}
    return node, tuple(sorted(watch))


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
