"""N fake KVM hosts on one machine for novactl's integration tests.

Each host is a set of namespaces (net, mount, PID, UTS and, where possible,
cgroup) held by one init process, with its own sshd, virtlogd and libvirtd.
Hosts sit on a bridge in the root namespace and are reached by SSH on their
own address, like separate machines.  See README.md next to this file.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import grp
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import cgroups, hostfs, state

NSINIT = Path(__file__).with_name("nsinit.py")
# Probed QEMU capabilities, kept between runs; libvirt re-probes (and we
# refresh this copy) when QEMU or libvirt change.
CAPS_SEED = Path("/var/cache/novactl-lab/qemu-capabilities")
# Commands in a host run with a clean environment, as after an SSH login,
# rather than inheriting pytest's.
HOST_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}
REQUIRED_BINARIES = ("unshare", "nsenter", "ip", "ssh-keygen", "sshd", "libvirtd", "virtlogd", "virsh")
FLAVORS = [
    {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
    {"id": "2", "name": "m1.small", "ram": 2048, "disk": 20, "vcpus": 1},
]
KVM_GET_API_VERSION = 0xAE00
PR_SET_PDEATHSIG = 1


class LabError(RuntimeError):
    pass


class LabCommandError(subprocess.CalledProcessError):
    """CalledProcessError whose message includes the command's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {(self.stderr or '').strip()}"


def missing_requirements() -> str | None:
    """Why a lab cannot start here, or None."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("not running as root")
    missing = [b for b in REQUIRED_BINARIES if not shutil.which(b, path=HOST_ENV["PATH"])]
    if missing:
        reasons.append("missing binaries: " + ", ".join(missing))
    return "; ".join(reasons) or None


def prepare_kvm() -> str | None:
    """Make /dev/kvm usable by libvirt's QEMU user; returns why not, or None."""
    dev = Path("/dev/kvm")
    if not dev.exists():
        return "/dev/kvm is absent"
    try:
        gid = grp.getgrnam("kvm").gr_gid
        st = dev.stat()
        if st.st_gid != gid or st.st_mode & 0o060 != 0o060:
            # No udev here to apply Debian's rule (root:kvm 0660); QEMU runs
            # as libvirt-qemu, a member of group kvm.
            os.chown(dev, -1, gid)
            os.chmod(dev, 0o660)
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
        try:
            version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
        finally:
            os.close(fd)
    except (OSError, KeyError) as e:
        return f"/dev/kvm unusable: {e}"
    if version != 12:
        return f"/dev/kvm reports API version {version}"
    return None


@dataclass
class LabHost:
    name: str  # "lab1"; also its hostname
    address: str  # on the lab bridge
    init_pid: int  # PID (root namespace) of the namespace's init
    root: Path  # holds the private dirs, configs and logs
    startup_seconds: float = 0.0
    cgroup_dirs: list[Path] = field(default_factory=list, repr=False)
    veth: str = ""  # root-namespace end of its link to the bridge
    _unshare: subprocess.Popen | None = field(default=None, repr=False, compare=False)


class Lab:
    """A started lab; get one with ``Lab.start(n, workdir)``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.hosts: list[LabHost] = []
        self.ssh_key = self.workdir / "id_ed25519"
        self.known_hosts = self.workdir / "known_hosts"
        self.ssh_config = self.workdir / "ssh_config"  # for `ssh -F`
        self.virt_type = "kvm"
        self.slot = -1
        self.bridge = ""
        self.gateway = ""  # the bridge's address; the root namespace's side
        self.subnet = ""
        self.startup_seconds = 0.0
        self._record: dict[str, Any] = {}
        self._cgroups: list[cgroups.Hierarchy] | None = None
        self._closed = False

    # ----------------------------------------------------------------- start
    @classmethod
    def start(cls, n_hosts: int, workdir: Path) -> Lab:
        lab = cls(workdir)
        try:
            lab._start(n_hosts)
        except BaseException:
            lab.close()
            raise
        return lab

    def _start(self, n_hosts: int) -> None:
        t0 = time.monotonic()
        reason = missing_requirements()
        if reason:
            raise LabError(f"cannot start a lab: {reason}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.close)
        self.slot, self._record = state.claim_slot(self.workdir)
        net = f"10.213.{57 + self.slot}"
        self.bridge, self.gateway, self.subnet = f"{state.PREFIX}{self.slot}", f"{net}.1", f"{net}.0/24"

        kvm_problem = prepare_kvm()
        if kvm_problem:
            self._use_tcg(kvm_problem)
        self._cgroups = self._detect_cgroups()
        self._make_bridge()
        self._make_client_key()

        addresses = [(f"lab{i}", f"{net}.{10 + i}") for i in range(1, n_hosts + 1)]
        hosts_file = hostfs.etc_hosts(addresses)
        for i, (name, address) in enumerate(addresses):
            t = time.monotonic()
            host = self._spawn(name, address, hosts_file)
            self._start_daemons(host)
            host.startup_seconds = time.monotonic() - t
            if i == 0:
                self._check_virt_type(host)
                self._save_caps_seed(host)
        self.startup_seconds = time.monotonic() - t0

    def _use_tcg(self, why: str) -> None:
        self.virt_type = "qemu"
        print(f"novactl-lab: {why}; hosts will use TCG (virt_type=qemu)")

    def _detect_cgroups(self) -> list[cgroups.Hierarchy] | None:
        hierarchies = cgroups.detect()
        if hierarchies is None:
            print("novactl-lab: no cgroup v1 hierarchies; libvirt in lab hosts runs without cgroups")
            return None
        try:  # find out whether we may create cgroups at all
            cgroups.remove(cgroups.create(hierarchies, f"{self.bridge}-probe"))
        except OSError as e:
            print(f"novactl-lab: cannot create cgroups ({e}); libvirt in lab hosts runs without cgroups")
            return None
        return hierarchies

    def _make_bridge(self) -> None:
        br = self.bridge
        _run(["ip", "link", "add", br, "type", "bridge"])
        _disable_ipv6(br)  # no link-local chatter: only lab addresses are used
        _run(["ip", "addr", "add", f"{self.gateway}/24", "dev", br])
        _run(["ip", "link", "set", br, "up"])

    def _make_client_key(self) -> None:
        for p in (self.ssh_key, self.ssh_key.with_suffix(".pub"), self.known_hosts, self.ssh_config):
            p.unlink(missing_ok=True)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"novactl-lab-{self.slot}", "-f", str(self.ssh_key)])

    def _spawn(self, name: str, address: str, hosts_file: str) -> LabHost:
        """Namespaces, network and mounts of one host (no daemons yet)."""
        root = self.workdir / name
        seed = CAPS_SEED if CAPS_SEED.is_dir() else None
        hostfs.prepare(
            root, name, address, hosts_file, self.ssh_key.with_suffix(".pub").read_text(), seed, libvirt_cgroups=self._cgroups is not None
        )
        veth = f"{self.bridge}-{len(self.hosts) + 1}"
        entry: dict[str, Any] = {"name": name, "init": {}, "veth": veth, "cgroups": []}
        self._record["hosts"].append(entry)
        cg_dirs: list[Path] = []
        if self._cgroups is not None:
            entry["cgroups"] = [str(d) for d in cgroups.host_dirs(self._cgroups, f"{self.bridge}-{name}")]
            state.save(self.slot, self._record)  # before creating, so a crash here is cleaned up
            cg_dirs = cgroups.create(self._cgroups, f"{self.bridge}-{name}")

        argv = ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--uts", "--propagation", "private", "--kill-child"]
        if cg_dirs:
            argv.append("--cgroup")
        argv += [sys.executable, str(NSINIT), name]
        # If this process dies without close(), the kernel kills unshare and
        # (--kill-child) the namespace's init, so no host outlives the run.
        # The death signal fires when the creating *thread* ends, so it is
        # only used from the main thread.
        pdeath = threading.current_thread() is threading.main_thread()
        with open(root / "log" / "init.log", "w") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=HOST_ENV,
                cwd="/",
                start_new_session=True,
                preexec_fn=_preexec(cg_dirs, pdeath),
            )
        try:
            init_pid = _wait_init(proc, root / "log" / "init.log")
        finally:
            assert proc.stdout is not None
            proc.stdout.close()
        entry["init"] = state.proc_ref(init_pid)
        state.save(self.slot, self._record)
        host = LabHost(name, address, init_pid, root, cgroup_dirs=cg_dirs, veth=veth, _unshare=proc)
        self.hosts.append(host)

        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", str(init_pid)])
        _disable_ipv6(veth)
        _run(["ip", "link", "set", veth, "master", self.bridge, "up"])
        cgroup_lines = cgroups.mount_script(self._cgroups) if self._cgroups is not None else []
        setup = hostfs.setup_script(root, address, cgroup_lines)
        self.exec(host, ["sh", "-c", setup])

        pub = (root / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
        with open(self.known_hosts, "a") as f:
            f.write(f"{address} {pub[0]} {pub[1]}\n")
        with open(self.ssh_config, "a") as f:
            f.write(
                f"Host {name} {address}\n  HostName {address}\n  User root\n"
                f"  IdentityFile {self.ssh_key}\n  IdentitiesOnly yes\n"
                f"  UserKnownHostsFile {self.known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
                f"  StrictHostKeyChecking yes\n\n"
            )
        return host

    def _start_daemons(self, host: LabHost) -> None:
        self.exec(host, ["virtlogd", "--daemon"])
        _wait_for(lambda: (host.root / "run/libvirt/virtlogd-sock").exists(), 10, f"virtlogd on {host.name}")
        self.exec(host, ["libvirtd", "--daemon"])
        _wait_for(lambda: (host.root / "run/libvirt/libvirt-sock").exists(), 30, f"libvirtd on {host.name}")
        # Returns once the QEMU driver is up, i.e. after any capability probing.
        self.virsh(host, "version", timeout=180)
        self.start_sshd(host)

    def _check_virt_type(self, host: LabHost) -> None:
        if self.virt_type != "kvm":
            return
        r = self.exec(host, ["virsh", "-c", "qemu:///system", "domcapabilities", "--virttype", "kvm"], check=False)
        if r.returncode != 0:
            self._use_tcg(f"libvirt cannot use KVM: {r.stderr.strip()}")

    def _save_caps_seed(self, host: LabHost) -> None:
        """Keep the first host's probed QEMU capabilities for the other hosts
        (and later runs), so their libvirtd need not probe QEMU again."""
        probed = host.root / hostfs.CAPS_SUBDIR
        if not probed.is_dir() or _tree_bytes(probed) == _tree_bytes(CAPS_SEED):
            return
        tmp = CAPS_SEED.with_name(f"{CAPS_SEED.name}.{os.getpid()}")
        old = CAPS_SEED.with_name(f"{CAPS_SEED.name}.old.{os.getpid()}")
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(probed, tmp)
            if CAPS_SEED.exists():
                CAPS_SEED.rename(old)
            tmp.rename(CAPS_SEED)
        except OSError as e:  # another lab starting right now may have won the race
            print(f"novactl-lab: could not update {CAPS_SEED}: {e}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------- use
    def host(self, host: LabHost | str) -> LabHost:
        if isinstance(host, LabHost):
            return host
        for h in self.hosts:
            if h.name == host:
                return h
        raise KeyError(f"no lab host {host!r}")

    def exec(
        self,
        host: LabHost | str,
        argv: list[str],
        check: bool = True,
        timeout: float = 60,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the host's namespaces (and cgroup), captured as text."""
        h = self.host(host)
        ns = ["nsenter", "-t", str(h.init_pid), "-n", "-m", "-p", "-u"]
        if h.cgroup_dirs:
            ns.append("-C")
        r = subprocess.run(
            [*ns, "--", *argv],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=HOST_ENV,
            cwd="/",
            stdin=subprocess.DEVNULL if input is None else None,
            preexec_fn=_preexec(h.cgroup_dirs, False) if h.cgroup_dirs else None,
        )
        if check and r.returncode != 0:
            raise LabCommandError(r.returncode, argv, r.stdout, r.stderr)
        return r

    def virsh(self, host: LabHost | str, *args: str, timeout: float = 60) -> str:
        """``virsh -c qemu:///system ARGS`` in the host; returns stdout."""
        return self.exec(host, ["virsh", "-c", "qemu:///system", *args], timeout=timeout).stdout

    def start_sshd(self, host: LabHost | str) -> None:
        """Start sshd unless one answers; returns once it sends its banner (an open port alone may be
        a killed listener's, not yet gone)."""
        h = self.host(host)
        if self.sshd_answers(h):
            return  # already running
        self.exec(h, ["/usr/sbin/sshd", "-f", str(h.root / "ssh/sshd_config"), "-E", str(h.root / "log/sshd.log")])
        _wait_for(lambda: self.sshd_answers(h), 30, f"sshd on {h.name}")

    def sshd_answers(self, host: LabHost | str) -> bool:
        """sshd on the host's port 22 accepts and sends its banner (a loaded machine may take seconds)."""
        try:
            with socket.create_connection((self.host(host).address, 22), timeout=1) as sock:
                sock.settimeout(5)
                return sock.recv(256).startswith(b"SSH-")
        except OSError:
            return False

    def kill_sshd(self, host: LabHost | str) -> None:
        """SIGKILL every sshd of the host, the listener and the open sessions; returns once all are gone."""
        h = self.host(host)
        pids = self.exec(h, ["pidof", "sshd"], check=False).stdout.split()
        if pids:
            self.exec(h, ["kill", "-KILL", *pids], check=False)
        _wait_for(lambda: self.exec(h, ["pidof", "sshd"], check=False).returncode != 0, 10, f"sshd on {h.name} to die")

    def stop_sshd(self, host: LabHost | str) -> None:
        """Stop the listening sshd (open sessions stay, as with a service stop)."""
        h = self.host(host)
        pidfile = h.root / "run/sshd.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text())  # a pid in the host's PID namespace
        self.exec(h, ["kill", str(pid)], check=False)
        _wait_for(lambda: self.exec(h, ["kill", "-0", str(pid)], check=False).returncode != 0, 10, f"sshd on {h.name} to exit")
        pidfile.unlink(missing_ok=True)

    def libvirtd_pid(self, host: LabHost | str) -> str:
        """libvirtd's pid in the host's PID namespace."""
        return self.exec(host, ["pidof", "libvirtd"]).stdout.split()[0]

    def restart_libvirtd(self, host: LabHost | str) -> None:
        """Stop libvirtd if it runs (SIGKILL: a frozen one too), start it again, wait until it answers.
        Running guests survive: QEMU is not libvirtd's child, and the new daemon reconnects to them."""
        h = self.host(host)
        running = self.exec(h, ["pidof", "libvirtd"], check=False).stdout.split()
        if running:
            self.exec(h, ["kill", "-KILL", *running], check=False)
            _wait_for(lambda: self.exec(h, ["pidof", "libvirtd"], check=False).returncode != 0, 10, f"libvirtd on {h.name} to exit")
        self.exec(h, ["rm", "-f", "/run/libvirtd.pid"])
        self.exec(h, ["libvirtd", "--daemon"])
        deadline = time.monotonic() + 60
        while self.exec(h, ["virsh", "-c", "qemu:///system", "version"], check=False, timeout=60).returncode != 0:
            if time.monotonic() > deadline:
                raise LabError(f"libvirtd on {h.name} did not answer after a restart")
            time.sleep(0.1)

    def inventory(self, **overrides: Any) -> dict[str, Any]:
        """novactl inventory for this lab; ``overrides`` replace top-level keys."""
        inv: dict[str, Any] = {
            "defaults": {
                "ssh_user": "root",
                "ssh_key": str(self.ssh_key),
                "known_hosts": str(self.known_hosts),
                "connect_timeout": 5,
            },
            "hosts": [{"name": h.name, "address": h.address, "zone": "nova", "driver": "libvirt"} for h in self.hosts],
            "flavors": [dict(f) for f in FLAVORS],
            "images": [],
        }
        inv.update(overrides)
        return inv

    def write_inventory(self, path: Path, **overrides: Any) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.inventory(**overrides), sort_keys=False))
        return path

    # ------------------------------------------------------------------ stop
    def close(self) -> None:
        """Kill the hosts (by their init's pid), remove links and cgroups.

        The mounts exist only in the hosts' mount namespaces and go with them.
        The workdir is kept: it holds the hosts' logs.  Safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if not self._record:
            return
        problems = state.release(self._record)
        for h in self.hosts:
            if h._unshare is not None:
                try:
                    h._unshare.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    problems.append(f"unshare for {h.name} (pid {h._unshare.pid}) did not exit")
        state.drop_slot(self.slot)
        if problems:
            print(f"novactl-lab: close of slot {self.slot}: " + "; ".join(problems))

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ helpers
def _run(argv: list[str]) -> None:
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise LabCommandError(r.returncode, argv, r.stdout, r.stderr)


def _disable_ipv6(ifname: str) -> None:
    p = Path(f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6")
    if p.exists():
        p.write_text("1")


_libc = ctypes.CDLL(None, use_errno=True)


def _preexec(cg_dirs: list[Path], pdeathsig: bool) -> Callable[[], None]:
    def fn() -> None:
        if pdeathsig:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        cgroups.join(cg_dirs)

    return fn


def _wait_init(proc: subprocess.Popen, log: Path, timeout: float = 15) -> int:
    """Wait for nsinit's "ready"; returns its pid as seen from here."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    if line.strip() != b"ready":
        proc.kill()
        proc.wait()
        raise LabError(f"namespace init did not start: {log.read_text().strip()}")
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    if len(children) != 1:
        raise LabError(f"expected one child of unshare {proc.pid}, found {children}")
    return int(children[0])


def _wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _tree_bytes(d: Path) -> dict[str, bytes]:
    if not d.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}
