"""Per-host cgroups so each lab host's libvirtd gets a private cgroup tree.

Without this every libvirtd would create ``/machine/qemu-ID-NAME.libvirt-qemu``
at the root of the shared hierarchies: two hosts running a domain with the same
id and name would share (and on destroy, remove or kill) one cgroup, and QEMU
would also leave the cgroup the test run was placed in.

So each host gets a directory ``nctlab<slot>-<host>`` next to the cgroup this
process sits in, in every hierarchy; the host's processes are put there and a
cgroup namespace rooted there is created, in which the hierarchies are mounted
again.  libvirtd then sees itself at ``/`` and builds ``/machine/...`` below the
host's directory.

Only cgroup v1 (legacy or hybrid: a tmpfs on /sys/fs/cgroup holding one mount
per hierarchy) is handled, which is what this machine has.  Elsewhere
``detect()`` returns None and the lab tells libvirt to use no cgroups at all.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = frozenset(
    [
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "net_cls",
        "net_prio",
        "blkio",
        "perf_event",
        "hugetlb",
        "pids",
        "rdma",
        "misc",
    ]
)


@dataclass(frozen=True)
class Hierarchy:
    mountpoint: str  # e.g. /sys/fs/cgroup/memory
    fstype: str  # "cgroup" or "cgroup2"
    options: str  # what to pass to mount -o again, e.g. "memory" or "none,name=systemd"
    placement: str  # this process's cgroup in it, e.g. /process_api/abc


def _mounts() -> list[tuple[str, str, str]]:
    out = []
    with open("/proc/self/mounts") as f:
        for line in f:
            _dev, mnt, fstype, opts = line.split()[:4]
            out.append((mnt, fstype, opts))
    return out


def detect() -> list[Hierarchy] | None:
    """The cgroup hierarchies to replicate per host, or None if unsupported."""
    mounts = _mounts()
    root_types = [t for m, t, _ in mounts if m == CGROUP_ROOT]
    if not root_types or root_types[-1] != "tmpfs":
        return None  # pure cgroup v2 or nothing mounted
    placements: dict[frozenset[str], str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            placements[frozenset(ctrls.split(",")) if ctrls else frozenset()] = path
    result = []
    for mnt, fstype, opts in mounts:
        if not mnt.startswith(CGROUP_ROOT + "/") or fstype not in ("cgroup", "cgroup2"):
            continue
        if fstype == "cgroup2":
            key: frozenset[str] = frozenset()
            options = ""
        else:
            keep = [o for o in opts.split(",") if o in V1_CONTROLLERS or o.startswith("name=")]
            key = frozenset(keep)
            # A named hierarchy without controllers must be mounted with "none".
            options = ",".join(keep if any(o in V1_CONTROLLERS for o in keep) else ["none", *keep])
        if key not in placements:
            return None
        result.append(Hierarchy(mnt, fstype, options, placements[key]))
    if not any(h.fstype == "cgroup" for h in result):
        return None
    return result


def host_dirs(hierarchies: list[Hierarchy], name: str) -> list[Path]:
    return [Path(h.mountpoint + h.placement.rstrip("/")) / name for h in hierarchies]


def create(hierarchies: list[Hierarchy], name: str) -> list[Path]:
    """Create the host's cgroup in every hierarchy; returns the directories."""
    dirs = host_dirs(hierarchies, name)
    for d in dirs:
        d.mkdir(exist_ok=True)
        if (d / "cpuset.cpus").exists():
            # A new cpuset is empty and refuses tasks until given cpus/mems.
            for f in ("cpuset.cpus", "cpuset.mems"):
                (d / f).write_text((d.parent / f).read_text())
    return dirs


def join(dirs: list[Path]) -> None:
    """Move the calling process into the cgroups (used as a preexec_fn)."""
    for d in dirs:
        with open(d / "cgroup.procs", "w") as f:
            f.write("0")


def procs(d: Path) -> list[int]:
    """Pids in the cgroup ``d`` and below it."""
    pids: list[int] = []
    for sub, _dirs, _files in os.walk(d):
        with contextlib.suppress(OSError):
            pids += [int(p) for p in Path(sub, "cgroup.procs").read_text().split()]
    return pids


def remove(dirs: list[Path], timeout: float = 10.0) -> list[Path]:
    """Remove the cgroup trees once their processes are gone.

    Returns the directories that could not be removed (still busy).
    """
    deadline = time.monotonic() + timeout
    left = []
    for d in dirs:
        while d.exists() and procs(d) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not d.exists():
            continue
        # Sub-cgroups first: libvirt's machine/... dirs left by a killed libvirtd.
        for sub, _dirs, _files in sorted(os.walk(d), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                os.rmdir(sub)
        if d.exists():
            left.append(d)
    return left


def mount_script(hierarchies: list[Hierarchy]) -> list[str]:
    """Shell lines that mount the hierarchies again inside the host's
    cgroup namespace (after /sys was remounted), so their root is the host's
    cgroup."""
    lines = [f"mount -t tmpfs -o mode=755 cgroup-root {CGROUP_ROOT}"]
    for h in hierarchies:
        lines.append(f"mkdir -p {h.mountpoint}")
        opts = f" -o {h.options}" if h.options else ""
        lines.append(f"mount -t {h.fstype}{opts} {h.fstype} {h.mountpoint}")
    # Hybrid setups also have symlinks such as cpu -> cpu,cpuacct.
    for entry in os.scandir(CGROUP_ROOT):
        if entry.is_symlink():
            lines.append(f"ln -s {os.readlink(entry.path)} {entry.path}")
    return lines
