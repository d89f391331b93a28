"""A small real Linux guest for the lab tests, built from Debian packages and cached between runs.

tests/guest.py's boot sector proves a disk booted; this guest proves what a user's cloud image would do
with what novactl gives it. Debian's cloud kernel, busybox-static and dropbear (with the shared
libraries ldd names) go into an initramfs whose /init (init.sh) acts as cloud-init with a config drive;
syslinux boots kernel and initramfs from an unpartitioned FAT image written with mtools, so nothing
is mounted or chrooted on this machine and the guest never mounts a root disk.

The packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`; the image is cached
as <cache>/<key>.qcow2, the key naming the package versions and this directory's files, so a new
kernel or a changed init builds a new image. Concurrent builders serialize on a lock file, and each
writes under a temporary name then renames, so a reader never sees half an image.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

CACHE_DIR = Path(os.environ.get("NOVACTL_TEST_GUEST_CACHE", "/var/cache/novactl-test-guest"))
HERE = Path(__file__).resolve().parent
KERNEL_PACKAGE = "linux-image-cloud-amd64"  # a metapackage: the real image is its dependency
SSHD_PACKAGE = "dropbear-bin"
# Drivers the guest needs that Debian's cloud kernel builds as modules: virtio disk and NIC, the
# config drive's IDE cdrom and ISO 9660, the ACPI power button (clean shutdown), virtio's RNG.
MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "ata_piix", "sr_mod", "isofs", "button", "evdev", "virtio-rng")
SYSLINUX_CFG = """\
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=ttyS0,115200 quiet
"""
PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
SHADOW = "root:*:19000:0:99999:7:::\n"  # no password: dropbear takes keys only (-s)


def image(cache_dir: Path = CACHE_DIR) -> Path:
    """The guest's qcow2, built on first use; later calls with the same package versions reuse it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    packages = resolve_packages()
    path = cache_dir / f"{cache_key(packages)}.qcow2"
    if path.exists():
        return path
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others then find its image
        if not path.exists():
            with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as work:
                built = build(packages, Path(work))
                os.replace(built, path)
    return path


def resolve_packages() -> dict[str, str]:
    """Every package the guest is made of, with the version apt would fetch now."""
    kernel = _depends(KERNEL_PACKAGE, recurse=False)
    names = {"busybox-static", *(p for p in kernel if p.startswith("linux-image-")), *_depends(SSHD_PACKAGE, recurse=True)}
    return _candidates(sorted(names))


def cache_key(packages: dict[str, str]) -> str:
    """Package versions plus the recipe (this directory's files): a change to either makes a new image."""
    digest = hashlib.sha256()
    for name, version in sorted(packages.items()):
        digest.update(f"{name}={version}\n".encode())
    for path in sorted(HERE.iterdir()):
        if path.is_file() and path.suffix in {".py", ".sh", ".awk"}:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build(packages: dict[str, str], work: Path) -> Path:
    """Download, unpack, assemble the initramfs, make the FAT boot image; returns the qcow2 in `work`."""
    debs = work / "debs"
    debs.mkdir()
    subprocess.run(
        ["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", *(f"{n}={v}" for n, v in packages.items())],
        cwd=debs,
        check=True,
        capture_output=True,
    )
    root = work / "root"
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    (kernel,) = root.glob("boot/vmlinuz-*")
    (modules,) = root.glob("lib/modules/*/kernel")
    initrd = work / "initrd.gz"
    initrd.write_bytes(gzip.compress(cpio_newc(_initramfs(root, modules)), compresslevel=6, mtime=0))
    return _boot_image(work, kernel, initrd)


def _initramfs(root: Path, modules: Path) -> Iterable[tuple[str, int, bytes]]:
    """(path, mode, content) of every entry; a symlink's content is its target."""
    for mount_point in ("dev", "proc", "sys", "run", "var", "sbin", "usr/sbin"):  # busybox --install fills sbin
        yield mount_point, 0o40755, b""
    yield "root", 0o40700, b""
    yield "tmp", 0o41777, b""
    yield "init", 0o100755, (HERE / "init.sh").read_bytes()
    yield "lib/json.awk", 0o100644, (HERE / "json.awk").read_bytes()
    yield "etc/udhcpc.sh", 0o100755, (HERE / "udhcpc.sh").read_bytes()
    yield "etc/acpi/PWRF/00000080", 0o100755, (HERE / "acpi-power.sh").read_bytes()  # busybox acpid's power button
    yield "etc/passwd", 0o100644, PASSWD.encode()
    yield "etc/group", 0o100644, b"root:x:0:\n"
    yield "etc/shadow", 0o100600, SHADOW.encode()
    yield "etc/shells", 0o100644, b"/bin/sh\n"
    yield "bin/busybox", 0o100755, (root / "bin/busybox").read_bytes()
    order = _load_order(modules, MODULES)
    yield "etc/modules", 0o100644, "".join(f"{m}\n" for m in order).encode()
    for name in order:
        yield f"lib/modules/{name}.ko", 0o100644, _module_path(modules, name).read_bytes()
    binaries = [root / "usr/sbin/dropbear", root / "usr/bin/dropbearkey"]
    for binary in binaries:
        yield str(binary.relative_to(root)), 0o100755, binary.read_bytes()
    for name, path in _shared_libraries(root, binaries).items():
        yield f"lib/x86_64-linux-gnu/{name}", 0o100755, path.read_bytes()
    yield "lib64/ld-linux-x86-64.so.2", 0o120777, b"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"


def _module_path(modules: Path, name: str) -> Path:
    (path,) = modules.rglob(f"{name}.ko")
    return path


def _load_order(modules: Path, wanted: Iterable[str]) -> list[str]:
    """The wanted modules after everything each depends on (the `depends=` field of its .modinfo)."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        info = _module_path(modules, name).read_bytes()
        found = re.search(rb"\x00depends=([^\x00]*)", info)
        for dependency in found.group(1).decode().split(",") if found else []:
            if dependency:
                visit(dependency)
        order.append(name)

    for name in wanted:
        visit(name)
    return order


def _shared_libraries(root: Path, binaries: list[Path]) -> dict[str, Path]:
    """What ldd resolves for the binaries against the unpacked libraries (by name -> file), loader included."""
    search = [root / "lib/x86_64-linux-gnu", root / "usr/lib/x86_64-linux-gnu"]
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(map(str, search))}
    found: dict[str, Path] = {}
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], env=env, check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            name = line.split()[0]
            if "vdso" in name:
                continue
            name = Path(name).name
            candidates = [d / name for d in search if (d / name).exists()]
            if not candidates:
                raise RuntimeError(f"{binary.name} needs {name}, which no downloaded package holds: {line.strip()}")
            found[name] = candidates[0].resolve()
    return found


def _boot_image(work: Path, kernel: Path, initrd: Path) -> Path:
    """An unpartitioned FAT image (syslinux in its boot sector) holding kernel and initramfs, as qcow2."""
    raw = work / "disk.raw"
    size_mb = (kernel.stat().st_size + initrd.stat().st_size) // 2**20 + 4
    with open(raw, "wb") as f:
        f.truncate(size_mb * 2**20)
    subprocess.run(["mformat", "-i", str(raw), "-v", "NOVACTLTEST", "::"], check=True, capture_output=True)
    subprocess.run(["syslinux", "--install", str(raw)], check=True, capture_output=True)
    config = work / "syslinux.cfg"
    config.write_text(SYSLINUX_CFG)
    for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.gz"), (config, "syslinux.cfg")):
        subprocess.run(["mcopy", "-i", str(raw), str(source), f"::{name}"], check=True, capture_output=True)
    qcow2 = work / "linux.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)], check=True, capture_output=True)
    return qcow2


def cpio_newc(entries: Iterable[tuple[str, int, bytes]]) -> bytes:
    """A cpio archive in the kernel's initramfs format ("newc"), owned by root, timestamps 0. The kernel
    makes no missing parent directory, so each is added (mode 0755) before its first entry."""
    listed: list[tuple[str, int, bytes]] = []
    made: set[str] = set()
    for name, mode, data in entries:
        parents = [str(p) for p in reversed(Path(name).parents) if str(p) != "."]
        listed += [(p, 0o40755, b"") for p in parents if p not in made]
        made.update([*parents, name])
        listed.append((name, mode, data))
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate([*listed, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out.write(b"070701" + b"".join(b"%08X" % v for v in fields) + encoded)
        out.write(b"\0" * (-out.tell() % 4) + data)
        out.write(b"\0" * (-out.tell() % 4))
    return out.getvalue()


def _depends(package: str, recurse: bool) -> list[str]:
    """Package names `apt-cache depends` lists (real packages only), the package itself first."""
    argv = [
        "apt-cache",
        "depends",
        "--no-recommends",
        "--no-suggests",
        "--no-conflicts",
        "--no-breaks",
        "--no-replaces",
        "--no-enhances",
        *(["--recurse"] if recurse else []),
        package,
    ]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    names = [line.strip() for line in out.splitlines() if line and not line.startswith((" ", "<"))]
    names += [line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Depends:")]
    return list(dict.fromkeys(n for n in names if not n.startswith("<")))


def _candidates(packages: list[str]) -> dict[str, str]:
    """The version apt would fetch of each package (one `apt-cache policy`: each call reads the whole cache)."""
    out = subprocess.run(["apt-cache", "policy", *packages], check=True, capture_output=True, text=True).stdout
    found = dict(re.findall(r"^(\S+):\n\s+Installed:.*\n\s+Candidate:\s*(\S+)", out, re.M))
    missing = [p for p in packages if found.get(p, "(none)") == "(none)"]
    if missing:
        raise RuntimeError(f"apt has no candidate for {', '.join(missing)}; run apt-get update")
    return {p: found[p] for p in packages}
