"""`doctor`: is each host ready to run guests? One row per host per check, with how to fix a failure.

Hosts are checked in parallel, each in a daemon thread with a deadline (remote/fanout.py): a host that stops answering
mid-check gets a `fail` row saying which check it was in, and the command never waits past the
deadline (a daemon thread still blocked in a libvirt call dies with the process). Every remote
command has its own timeout too. Nothing on a host is changed: a write test creates and removes a
temporary file, that is all.

What a host says is parsed defensively (JSON from `ip -j`, numbers from `df` and `date`): a
surprising answer is a `fail` row naming what could not be read, never a traceback.
"""

from __future__ import annotations

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from novactl.errors import HostError
from novactl.models import HostConfig, Inventory, Network
from novactl.remote import Connection, Result, connect
from novactl.remote.fanout import each_host
from novactl.remote.ssh import libvirt_sockets

OK, WARN, FAIL = "ok", "warn", "fail"
COMMAND_TIMEOUT = 10.0  # seconds for one remote command
SKEW_WARN, SKEW_FAIL = 2.0, 60.0  # seconds
MIN_FREE_BYTES = 1 << 30  # below 1 GiB free a boot will fail
MIN_FREE_RATIO = 0.10  # below 10 % free: time to prune the image cache
QEMU_USERS = ("libvirt-qemu", "qemu")  # Debian's, then Red Hat's default for qemu.conf's `user`


@dataclass
class Finding:
    host: str
    check: str
    status: str  # ok | warn | fail
    detail: str


def diagnose(inventory: Inventory, hosts: list[HostConfig], deadline: float = 30.0) -> list[Finding]:
    """Check every host at once; returns their findings in host order, each within `deadline` s."""
    doctors = {host.name: _HostDoctor(host, inventory) for host in hosts}
    each_host(lambda name: doctors[name].run(), doctors, deadline, "doctor")  # each doctor keeps its own findings
    return [finding for doctor in doctors.values() for finding in doctor.result(deadline)]


@dataclass
class _HostDoctor:
    host: HostConfig
    inventory: Inventory
    findings: list[Finding] = field(default_factory=list)
    current: str = "ssh"
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def result(self, deadline: float) -> list[Finding]:
        with self.lock:
            rows = list(self.findings)
            if not self.done:
                rows.append(Finding(self.host.name, self.current, FAIL, f"no answer within {deadline:g} s: the host hangs in this check"))
                self.done = True  # what the thread adds later is ignored
            return rows

    def add(self, check: str, status: str, detail: str) -> None:
        with self.lock:
            if not self.done:
                self.findings.append(Finding(self.host.name, check, status, detail))

    def run(self) -> None:
        try:
            if self.host.driver == "fake":
                self.add("driver", OK, "fake host: its facts come from the inventory, there is nothing to check")
                return
            try:
                conn = connect(self.host)
            except HostError as exc:
                self.add("ssh", FAIL, f"{exc.reason}; {_ssh_fix(self.host, exc.reason)}")
                return
            try:
                _Checks(self, conn).run_all()
            finally:
                conn.close()
        except Exception as exc:  # a surprise in one host's checks is that host's failure, not the command's
            self.add(self.current, FAIL, f"{type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                self.done = True


def _ssh_fix(host: HostConfig, reason: str) -> str:
    lowered = reason.lower()
    if "host key" in lowered or "known_hosts" in lowered:
        return f"check the host's key fingerprint, then add it: ssh-keyscan -p {host.ssh_port} {host.address} >> {host.known_hosts}"
    if "auth" in lowered:
        return f"put the public key of {host.ssh_key or 'your SSH key'} in ~{host.ssh_user}/.ssh/authorized_keys on the host"
    return f"start sshd on the host and make {host.address}:{host.ssh_port} reachable from here"


class _Checks:
    """The checks of one connected host, in the order README lists them."""

    def __init__(self, doctor: _HostDoctor, conn: Connection):
        self.doctor, self.conn, self.host = doctor, conn, doctor.host
        self.libvirt: Any = None
        self.cpu_flags: set[str] = set()

    def run_all(self) -> None:
        checks: list[tuple[str, Callable[[], tuple[str, str] | None]]] = [
            ("ssh", self.ssh),
            ("kvm", self.kvm),
            ("virt-ssh-helper", self.virt_ssh_helper),
            ("libvirtd", self.libvirtd),
            ("qemu-img", self.qemu_img),
            *[(f"bridge {n.bridge}", lambda n=n: self.bridge(n)) for n in self.networks() if not n.libvirt_network],
            ("instances_path", lambda: self.directory(self.host.instances_path, "instances_path")),
            ("state_path", lambda: self.directory(self.host.state_path, "state_path")),
            ("_base", self.base),
            ("clock", self.clock),
            ("cpu_mode", self.cpu_mode),
            *[(f"dnsmasq {n.name}", lambda n=n: self.dnsmasq(n)) for n in self.networks() if n.libvirt_network],
        ]
        try:
            for name, check in checks:
                self.doctor.current = name
                try:
                    outcome = check()
                except HostError as exc:
                    outcome = FAIL, exc.reason
                if outcome is not None:
                    self.doctor.add(name, *outcome)
        finally:
            if self.libvirt is not None:
                self.libvirt.close()

    def networks(self) -> list[Network]:
        return list(self.doctor.inventory.networks) or [Network(name="default", bridge=self.host.bridge)]

    def run(self, argv: list[str]) -> Result:
        return self.conn.run(argv, check=False, timeout=COMMAND_TIMEOUT)

    # -- the checks: each returns (status, detail), or None when it does not apply ----------------------

    def ssh(self) -> tuple[str, str]:
        if self.host.transport == "local":
            return OK, "this machine (transport local, no SSH)"
        return OK, f"{self.host.ssh_user}@{self.host.address}:{self.host.ssh_port}, host key known ({self.host.known_hosts})"

    def kvm(self) -> tuple[str, str]:
        cpuinfo = self.run(["grep", "-m1", "^flags", "/proc/cpuinfo"]).stdout
        self.cpu_flags = set(cpuinfo.partition(":")[2].split())
        virt = [flag for flag in ("vmx", "svm") if flag in self.cpu_flags]
        nested = self._nested()
        cpu = (f"CPU {'/'.join(virt)}" if virt else "CPU without vmx/svm flags") + (f", nested {nested}" if nested else "")
        stat = self.run(["stat", "-L", "-c", "%F %u %g %a", "/dev/kvm"])
        if not stat.ok:
            if self.host.virt_type == "qemu":
                return OK, f"no /dev/kvm, not needed (virt_type qemu); {cpu}"
            return WARN, f"no /dev/kvm: guests fall back to TCG (slow); load kvm_intel or kvm_amd, enable VT-x/AMD-V in the firmware; {cpu}"
        match = re.fullmatch(r"character special file (\d+) (\d+) ([0-7]{3,4})", stat.stdout.strip())
        if not match:
            return FAIL, f"/dev/kvm is not a character device ({stat.stdout.strip()[:80]!r}): recreate it (mknod /dev/kvm c 10 232)"
        uid, gid, mode = int(match[1]), int(match[2]), int(match[3], 8)
        user = self._qemu_user()
        ids = self.run(["id", "-u", user]), self.run(["id", "-G", user])
        if not all(r.ok for r in ids):
            return FAIL, f"libvirt's qemu user {user!r} does not exist: install libvirt-daemon-system or set user in qemu.conf"
        if not ids[0].stdout.strip().isdigit():
            raise HostError(self.host.name, f"unreadable answer from id -u {user}")
        user_uid, groups = int(ids[0].stdout.strip()), {int(g) for g in ids[1].stdout.split() if g.isdigit()}
        usable = (
            user_uid == 0
            or (user_uid == uid and mode & 0o600 == 0o600)
            or (gid in groups and mode & 0o060 == 0o060)
            or mode & 0o006 == 0o006
        )
        if not usable:
            fix = f"chgrp kvm /dev/kvm && chmod 660 /dev/kvm, and add {user} to group kvm"
            return FAIL, f"/dev/kvm ({uid}:{gid} {mode:o}) is not read-writable by {user}: {fix}"
        return OK, f"/dev/kvm usable by {user}; {cpu}"

    def _nested(self) -> str:
        for module in ("kvm_intel", "kvm_amd"):
            value = self.conn.read_file(f"/sys/module/{module}/parameters/nested")
            if value is not None:
                return {"y": "on", "1": "on", "n": "off", "0": "off"}.get(value.decode(errors="replace").strip().lower(), "unknown")
        return ""

    def _qemu_user(self) -> str:
        conf = self.conn.read_file("/etc/libvirt/qemu.conf") or b""
        match = re.search(rb'^\s*user\s*=\s*"([a-z_][a-z0-9_-]{0,31})"', conf, re.MULTILINE)
        if match:
            return match[1].decode()
        for user in QEMU_USERS:
            if self.run(["id", "-u", user]).ok:
                return user
        return "root"

    def virt_ssh_helper(self) -> tuple[str, str] | None:
        if self.host.transport == "local":
            return None  # libvirt is opened directly, nothing tunnels
        found = self.run(["sh", "-c", "command -v virt-ssh-helper"])
        if found.ok:
            return OK, found.stdout.strip()
        if libvirt_sockets(self.host.libvirt_uri):  # sshd reaches the daemon's socket itself; the helper is the fallback
            return WARN, (
                "virt-ssh-helper not found: needed only where sshd cannot reach libvirt's socket"
                " (AllowStreamLocalForwarding no); install libvirt-daemon (libvirt >= 6.8)"
            )
        return FAIL, "virt-ssh-helper not found: novactl tunnels libvirt through it; install libvirt-daemon (libvirt >= 6.8)"

    def libvirtd(self) -> tuple[str, str]:
        try:
            self.libvirt = self.conn.open_libvirt()
            lib, hypervisor = self.libvirt.getLibVersion(), self.libvirt.getVersion()
        except Exception as exc:  # libvirtError, or a tunnel refused: libvirtd does not answer
            self.libvirt = None
            detail = exc.reason if isinstance(exc, HostError) else str(exc)
            return FAIL, f"{self.host.libvirt_uri} does not answer ({detail}): start libvirtd (libvirtd -d, or systemctl start libvirtd)"
        return OK, f"libvirt {_version(lib)}, {self.libvirt.getType()} {_version(hypervisor)}"

    def qemu_img(self) -> tuple[str, str]:
        done = self.run(["qemu-img", "--version"])
        match = re.search(r"qemu-img version (\d+\.\d+(?:\.\d+)?)", done.stdout)
        if not done.ok or not match:
            return FAIL, "qemu-img not found: install qemu-utils (Debian) or qemu-img (Red Hat)"
        return OK, f"qemu-img {match[1]}"

    def bridge(self, network: Network) -> tuple[str, str]:
        uplink = network.physical_interface
        link = self._link(network.bridge, details=True)
        if link is None:
            if uplink:
                return FAIL, (
                    f"bridge {network.bridge} (network {network.name}) is missing: create it with port {uplink} in the host's network"
                    f" configuration (novactl would enslave {uplink} at the first boot, taking its addresses)"
                )
            return WARN, f"bridge {network.bridge} (network {network.name}) is missing: the first boot creates it, isolated (no uplink)"
        kind = (link.get("linkinfo") or {}).get("info_kind")
        if kind != "bridge":
            return FAIL, f"{network.bridge} (network {network.name}) is a {kind or 'plain'} interface, not a bridge: rename one of them"
        notes = []
        status = OK
        if "UP" not in (link.get("flags") or []):
            status, notes = WARN, [f"down: ip link set dev {network.bridge} up (the next boot on this host does it)"]
        if uplink:
            port = self._link(uplink)
            if port is None:
                return FAIL, f"physical interface {uplink} of {network.bridge} does not exist on this host: fix physical_interface"
            if port.get("master") != network.bridge:
                return FAIL, f"{uplink} is not a port of {network.bridge}: ip link set dev {uplink} master {network.bridge}"
            notes.append(f"port {uplink}")
        return status, f"bridge {network.bridge} (network {network.name}) present" + "".join(f"; {n}" for n in notes)

    def _link(self, name: str, details: bool = False) -> dict | None:
        done = self.run(["ip", "-j", *(["-d"] if details else []), "link", "show", "dev", name])
        if not done.ok:
            return None
        try:
            links = json.loads(done.stdout)
        except ValueError:
            raise HostError(self.host.name, f"unreadable answer from ip -j link show dev {name}") from None
        if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
            raise HostError(self.host.name, f"unexpected answer from ip -j link show dev {name}")
        return links[0]

    def directory(self, path: str, setting: str) -> tuple[str, str]:
        if not self.run(["test", "-d", path]).ok:
            return WARN, f"{path} does not exist yet: the first boot creates it (or: mkdir -p {path})"
        probe = self.run(["mktemp", "-p", path, ".novactl-doctor.XXXXXX"])
        if not probe.ok:
            return FAIL, f"{path} is not writable ({_last_line(probe)}): fix its mount or permissions, or change {setting}"
        self.run(["rm", "-f", "--", probe.stdout.strip()])
        if setting != "instances_path":
            return OK, f"{path} writable"
        return self._space(path, f"{path} writable")

    def base(self) -> tuple[str, str]:
        base = self.host.base_path
        if not self.run(["test", "-d", base]).ok:
            return OK, f"{base} does not exist yet (no image cached): the first boot creates it"
        return self._space(base, base)

    def _space(self, path: str, what: str) -> tuple[str, str]:
        done = self.run(["df", "-P", "-k", path])
        fields = done.stdout.strip().splitlines()[-1].split() if done.ok and done.stdout.strip() else []
        if len(fields) < 6 or not fields[1].isdigit() or not fields[3].isdigit():
            raise HostError(self.host.name, f"unreadable answer from df -P -k {path}")
        total, free = int(fields[1]) * 1024, int(fields[3]) * 1024
        detail = f"{what}; {_gib(free)} free of {_gib(total)} on {fields[5]}"
        if free < MIN_FREE_BYTES:
            return FAIL, f"{detail}: boots will fail; free space (novactl image-cache-prune, delete instances)"
        if total and free / total < MIN_FREE_RATIO:
            return WARN, f"{detail}: under {MIN_FREE_RATIO:.0%} free; prune the image cache (novactl image-cache-prune)"
        return OK, detail

    def clock(self) -> tuple[str, str]:
        before = time.time()
        done = self.run(["date", "+%s.%N"])
        after = time.time()
        try:
            remote = float(done.stdout.strip())
        except ValueError:
            raise HostError(self.host.name, "unreadable answer from date +%s.%N") from None
        skew = remote - (before + after) / 2
        detail = f"{skew:+.3f} s against this machine (±{(after - before) / 2:.3f} s)"
        why = "claims expire by time and server-group records are ordered by it: run chrony or systemd-timesyncd on both"
        if abs(skew) > SKEW_FAIL:
            return FAIL, f"{detail}; {why}"
        if abs(skew) > SKEW_WARN:
            return WARN, f"{detail}; {why}"
        return OK, detail

    def cpu_mode(self) -> tuple[str, str]:
        mode = self.host.cpu_mode
        if mode == "none":
            return OK, "none: QEMU's default CPU model"
        if "hypervisor" in self.cpu_flags:
            return WARN, f"{mode} under nested virtualisation: guests may fail to start (MSR 0x10a); cpu_mode none is safe"
        if self.libvirt is None:
            raise HostError(self.host.name, "cannot check without libvirt (see libvirtd)")
        try:
            caps = ET.fromstring(self.libvirt.getDomainCapabilities(None, None, None, self.host.virt_type, 0))
        except Exception as exc:  # libvirtError: this virt type is not available at all
            return FAIL, f"{mode}: libvirt has no domain capabilities for virt_type {self.host.virt_type} ({exc}); use cpu_mode none"
        supported = caps.find(f"./cpu/mode[@name='{mode}']")
        if supported is None or supported.get("supported") != "yes":
            return FAIL, f"{mode} is not supported by libvirt/QEMU on this host: use cpu_mode none"
        return OK, f"{mode} supported"

    def dnsmasq(self, network: Network) -> tuple[str, str]:
        name = network.libvirt_network
        if self.libvirt is None:
            raise HostError(self.host.name, "cannot check without libvirt (see libvirtd)")
        try:
            net = self.libvirt.networkLookupByName(name)
            active, xml = net.isActive(), net.XMLDesc(0)
        except Exception:  # libvirtError: no such network
            return WARN, f"libvirt network {name} is not defined: the first boot defines it"
        needs = ET.fromstring(xml).find("./ip") is not None
        if not needs:
            return OK, f"libvirt network {name} has no address: dnsmasq not needed"
        found = self.run(["sh", "-c", "command -v dnsmasq"])
        if not found.ok:
            return FAIL, f"libvirt network {name} serves DHCP/DNS but dnsmasq is not installed: install dnsmasq-base"
        if not active:
            return WARN, f"libvirt network {name} is not active: virsh net-start {name} (and net-autostart)"
        return OK, f"{found.stdout.strip()} for libvirt network {name}"


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def _gib(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB"


def _last_line(result: Result) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit {result.exit_status}"
