"""A lab host's private files: the directories bind-mounted over the shared
system paths inside its mount namespace, and its daemons' configuration.

Everything lives on the real filesystem under the host's ``root`` directory
(not on a tmpfs), so logs stay readable from outside after a failed test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# (directory under the host root, mount point inside the host).  /run as a
# whole is private, which covers /run/libvirt and /run/sshd and lets every
# daemon keep its default pid file without clashing with the other hosts.
BIND_DIRS = [
    ("run", "/run"),
    ("etc-libvirt", "/etc/libvirt"),
    ("var-lib-libvirt", "/var/lib/libvirt"),
    ("var-cache-libvirt", "/var/cache/libvirt"),
    ("var-log-libvirt", "/var/log/libvirt"),
    ("var-lib-novactl", "/var/lib/novactl"),
    # A fresh server's home: the machine's own /root/.bashrc (pyenv, cargo) costs ~150 ms of CPU per
    # SSH command, which every lab host would burn on the same two cores and skew the benchmarks.
    ("home-root", "/root"),
]
CAPS_SUBDIR = "var-cache-libvirt/qemu/capabilities"

# Host-specific state of the machine's own libvirt that a fresh host must not
# inherit (defined domains, pools, secrets, autostart links).
_ETC_LIBVIRT_SKIP = ("qemu/autostart", "qemu/networks/autostart", "storage", "secrets")


def _copy_tree(src: Path, dst: Path, files: bool, skip: tuple[str, ...] = ()) -> None:
    """Copy ``src`` to ``dst`` keeping owners and modes (libvirt checks them).

    With ``files=False`` only the directory skeleton is copied: the machine's
    own /var/lib/libvirt may hold images that a lab host must not see.
    """
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        if rel != "." and rel.startswith(skip):
            dirnames[:] = []
            continue
        target = dst / rel
        target.mkdir(parents=True, exist_ok=True)
        shutil.copystat(dirpath, target)
        st = os.stat(dirpath)
        os.chown(target, st.st_uid, st.st_gid)
        if not files:
            continue
        for name in filenames:
            s = os.path.join(dirpath, name)
            if rel == "qemu" and name.endswith(".xml"):
                continue  # domain definitions of the machine's own libvirt
            shutil.copy2(s, target / name, follow_symlinks=False)
            st = os.lstat(s)
            os.lchown(target / name, st.st_uid, st.st_gid)


def _append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write("\n# --- novactl lab ---\n" + text)


def prepare(
    root: Path,
    name: str,
    address: str,
    etc_hosts: str,
    authorized_key: str,
    caps_seed: Path | None,
    libvirt_cgroups: bool,
) -> None:
    """Create the host's private tree under ``root`` (wiping an old one)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, mode=0o755)
    run = root / "run"
    for d, mode in (
        ("run", 0o755),
        ("run/sshd", 0o755),
        ("run/lock", 0o1777),
        ("run/libvirt", 0o755),
        ("log", 0o755),
        ("ssh", 0o700),
        ("var-lib-novactl/instances", 0o755),
        ("home-root", 0o700),
    ):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(root / d, mode)
    os.chmod(root / "var-lib-novactl", 0o755)
    os.chmod(run, 0o755)

    _copy_tree(Path("/etc/libvirt"), root / "etc-libvirt", files=True, skip=_ETC_LIBVIRT_SKIP)
    for sub in ("var-lib-libvirt", "var-cache-libvirt", "var-log-libvirt"):
        _copy_tree(Path("/" + sub.replace("-", "/")), root / sub, files=False)
    if caps_seed is not None and caps_seed.is_dir():
        # Without a seeded cache every libvirtd probes QEMU on its first start.
        shutil.copytree(caps_seed, root / CAPS_SUBDIR, dirs_exist_ok=True)

    if not libvirt_cgroups:
        _append(root / "etc-libvirt/qemu.conf", "cgroup_controllers = [ ]\n")
    # Under no init system libvirtd would log to stderr, which nobody reads.
    _append(root / "etc-libvirt/libvirtd.conf", 'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')

    (root / "etc-hosts").write_text(etc_hosts)
    (root / "home-root/.bashrc").write_text("# lab host: nothing to set up\n")

    ssh = root / "ssh"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(ssh / "ssh_host_ed25519_key")], check=True)
    (ssh / "authorized_keys").write_text(authorized_key)
    (ssh / "sshd_config").write_text(sshd_config(root, address))


def sshd_config(root: Path, address: str) -> str:
    ssh = root / "ssh"
    return f"""\
# Lab host sshd: only on the host's own address, root by the lab key only.
ListenAddress {address}:22
HostKey {ssh}/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile {ssh}/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The authorized_keys path may sit below a world-writable /tmp.
StrictModes no
UseDNS no
PrintMotd no
# Benchmarks open many connections at once; the default 10:30:100 drops some.
MaxStartups 200
MaxSessions 100
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def setup_script(root: Path, address: str, cgroup_lines: list[str]) -> str:
    """Shell script run inside the new namespaces to build the host's view."""
    lines = [
        "set -e",
        "ip link set lo up",
        "echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6",
        f"ip addr add {address}/24 dev eth0",
        "ip link set eth0 up",
        # A fresh sysfs shows this netns's interfaces under /sys/class/net.
        "mount -t sysfs sysfs /sys",
        *cgroup_lines,
    ]
    for sub, target in BIND_DIRS:
        lines.append(f"mkdir -p {target}")
        lines.append(f"mount --bind {root / sub} {target}")
    if not os.path.islink("/var/run"):
        lines.append(f"mount --bind {root / 'run'} /var/run")
    lines.append(f"mount --bind {root / 'etc-hosts'} /etc/hosts")
    return "\n".join(lines) + "\n"


def etc_hosts(hosts: list[tuple[str, str]]) -> str:
    """/etc/hosts for a host: all lab hosts by name
    (libvirt migration, for one, resolves the peer's hostname)."""
    # No 127.0.1.1 line for ``own``: libvirt refuses to migrate to a host whose
    # name resolves to loopback.
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{addr}\t{name}" for name, addr in hosts]
    return "\n".join(lines) + "\n"
