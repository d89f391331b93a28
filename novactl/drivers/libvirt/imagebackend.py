"""An instance's disks: qcow2 files in its directory (Nova's imagebackend, Qcow2 flavour).

The root disk `disk` is an overlay on the cached base (imagecache.py); `disk.eph0` and `disk.swap`
are blank qcow2 files of the flavor's sizes. Their guest devices are fixed by name.
"""

from __future__ import annotations

import json

from novactl.drivers.libvirt import paths
from novactl.errors import UsageError
from novactl.models import Flavor, HostConfig
from novactl.remote import Connection

ROOT = "disk"
DISKS = ((ROOT, "vda"), ("disk.eph0", "vdb"), ("disk.swap", "vdc"))  # file name, target device, in boot order


def make_directory(conn: Connection, config: HostConfig, instance_uuid: str) -> str:
    """Create the instance's directory (and instances_path on a host that never had one); return it.

    The instance's own directory is made without -p: one that exists already is someone else's.
    """
    directory = paths.instance_dir(config, instance_uuid)
    conn.run(["sh", "-c", 'mkdir -p -- "$1" && mkdir -m 0755 -- "$2"', "sh", config.instances_path, directory])
    return directory


def image_info(conn: Connection, path: str, fmt: str | None = None, in_use: bool = False) -> dict:
    """`qemu-img info` of a file on the host; `in_use`: a running guest holds its write lock (-U)."""
    argv = ["qemu-img", "info", *(["-U"] if in_use else []), "--output=json", *(["-f", fmt] if fmt else []), "--", path]
    return json.loads(conn.run(argv).stdout)


def virtual_size(conn: Connection, path: str, fmt: str | None = None, in_use: bool = False) -> int:
    return int(image_info(conn, path, fmt, in_use)["virtual-size"])


def create(conn: Connection, path: str, size: str, backing: tuple[str, str] | None = None) -> None:
    """A qcow2 file of `size` (bytes, or with a G/M suffix), an overlay on (base, its format) when given."""
    on = ["-F", backing[1], "-b", backing[0]] if backing else []
    conn.run(["qemu-img", "create", "-f", "qcow2", *on, "--", path, size])


def create_root(conn: Connection, flavor: Flavor, base: str, base_format: str, directory: str) -> None:
    """The root overlay on the cached base, grown to the flavor's disk (the image's size when 0)."""
    base_size = virtual_size(conn, base, base_format)
    root_bytes = flavor.disk * 1024**3
    if root_bytes and root_bytes < base_size:
        raise UsageError(f"flavor {flavor.name}'s disk ({flavor.disk} GB) is smaller than the image ({base_size} bytes)")
    # Creating an overlay writes only qcow2 metadata: the same cost for a 1 GB or a 100 GB image.
    create(conn, f"{directory}/{ROOT}", str(root_bytes or base_size), (base, base_format))


def _extra_sizes(flavor: Flavor) -> dict[str, str | None]:
    return {"disk.eph0": f"{flavor.ephemeral}G" if flavor.ephemeral else None, "disk.swap": f"{flavor.swap}M" if flavor.swap else None}


def wanted(flavor: Flavor) -> list[str]:
    """The disk names an instance of `flavor` has."""
    return [ROOT, *(name for name, size in _extra_sizes(flavor).items() if size)]


def sync_extra_disks(conn: Connection, flavor: Flavor, directory: str, present: list[str]) -> None:
    """Ephemeral and swap as the flavor wants them: kept when present, made when missing, removed when unwanted."""
    for name, size in _extra_sizes(flavor).items():
        if size and name not in present:
            create(conn, f"{directory}/{name}", size)
        elif not size and name in present:
            conn.run(["rm", "-f", "--", f"{directory}/{name}"])


def listed(conn: Connection, directory: str) -> list[str]:
    """The names of DISKS found in an instance directory."""
    listing = set(conn.run(["ls", "-1", "--", directory]).stdout.split())
    return [name for name, _dev in DISKS if name in listing]


def devices(directory: str, names: list[str]) -> list[tuple[str, str]]:
    """(file, target device) of the named disks, in boot order, for the domain XML."""
    return [(f"{directory}/{name}", dev) for name, dev in DISKS if name in names]
