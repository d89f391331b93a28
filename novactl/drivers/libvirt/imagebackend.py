"""An instance's disks: qcow2 files in its directory (Nova's imagebackend, Qcow2 flavour).

The root disk `disk` is an overlay on the cached base (imagecache.py); `disk.eph0` and `disk.swap`
are blank qcow2 files of the flavor's sizes. Their guest devices are fixed by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from novactl.drivers.libvirt import paths
from novactl.errors import UsageError
from novactl.models import Flavor, HostConfig
from novactl.remote import CommandFailed, Connection

ROOT = "disk"
DISKS = ((ROOT, "vda"), ("disk.eph0", "vdb"), ("disk.swap", "vdc"))  # file name, target device, in boot order


# The instance's own directory is made without -p: one that exists already is someone else's.
_MAKE_DIRECTORY = 'mkdir -p -- "$1" && mkdir -m 0755 -- "$2"'
# The cached base ($4) exists; it is touched, so pruning sees it used.
_TOUCH_BASE = 'test -f "$4" && touch -c -- "$4"'
# Each disk is four arguments: path, size, backing format, backing file ("" for a blank disk).
_CREATE = """
while [ $# -ge 4 ]; do
  if [ -n "$4" ]; then qemu-img create -q -f qcow2 -F "$3" -b "$4" -- "$1" "$2" || exit
  else qemu-img create -q -f qcow2 -- "$1" "$2" || exit
  fi
  shift 4
done
"""


@dataclass(frozen=True)
class NewDisk:
    path: str
    size: str  # bytes, or with a G/M suffix
    backing: tuple[str, str] | None = None  # (base file, its format): an overlay


def make_directory(conn: Connection, config: HostConfig, instance_uuid: str) -> str:
    """Create the instance's directory (and instances_path on a host that never had one); return it."""
    directory = paths.instance_dir(config, instance_uuid)
    conn.run(["sh", "-c", _MAKE_DIRECTORY, "sh", config.instances_path, directory])
    return directory


def make_directory_on(conn: Connection, config: HostConfig, instance_uuid: str, base: str, base_format: str) -> tuple[str, int] | None:
    """make_directory, and the virtual size of the base its root disk will sit on, in one command.

    None, with nothing made, when the base is not cached on the host. A warm boot is a handful of
    commands, each a round trip: this is the cache check, the directory and the base's size in one.
    The base is touched on the way (a use, for pruning). When the base cannot be read, the directory
    just made is removed again.
    """
    directory = paths.instance_dir(config, instance_uuid)
    script = f'{_TOUCH_BASE} || exit 98; {_MAKE_DIRECTORY} || exit 99; exec qemu-img info --output=json -f "$3" -- "$4"'
    result = conn.run(["sh", "-c", script, "sh", config.instances_path, directory, base_format, base], check=False)
    if result.exit_status == 98:
        return None
    if not result.ok:
        if result.exit_status != 99:  # made, then the base could not be read
            conn.run(["rm", "-rf", "--", directory], check=False)
        raise CommandFailed(result)
    return directory, int(json.loads(result.stdout)["virtual-size"])


def image_info(conn: Connection, path: str, fmt: str | None = None, in_use: bool = False) -> dict:
    """`qemu-img info` of a file on the host; `in_use`: a running guest holds its write lock (-U)."""
    argv = ["qemu-img", "info", *(["-U"] if in_use else []), "--output=json", *(["-f", fmt] if fmt else []), "--", path]
    return json.loads(conn.run(argv).stdout)


def virtual_size(conn: Connection, path: str, fmt: str | None = None, in_use: bool = False) -> int:
    return int(image_info(conn, path, fmt, in_use)["virtual-size"])


def create(conn: Connection, disks: list[NewDisk]) -> None:
    """qcow2 files, all in one command."""
    if disks:
        args = [arg for d in disks for arg in (d.path, d.size, *(reversed(d.backing) if d.backing else ("", "")))]
        conn.run(["sh", "-c", _CREATE, "sh", *args])


def root_disk(flavor: Flavor, base: str, base_format: str, base_size: int, directory: str) -> NewDisk:
    """The root overlay on the cached base, grown to the flavor's disk (the image's size when 0)."""
    root_bytes = flavor.disk * 1024**3
    if root_bytes and root_bytes < base_size:
        raise UsageError(f"flavor {flavor.name}'s disk ({flavor.disk} GB) is smaller than the image ({base_size} bytes)")
    # Creating an overlay writes only qcow2 metadata: the same cost for a 1 GB or a 100 GB image.
    return NewDisk(f"{directory}/{ROOT}", str(root_bytes or base_size), (base, base_format))


def _extra_sizes(flavor: Flavor) -> dict[str, str | None]:
    return {"disk.eph0": f"{flavor.ephemeral}G" if flavor.ephemeral else None, "disk.swap": f"{flavor.swap}M" if flavor.swap else None}


def wanted(flavor: Flavor) -> list[str]:
    """The disk names an instance of `flavor` has."""
    return [ROOT, *(name for name, size in _extra_sizes(flavor).items() if size)]


def extra_disks(flavor: Flavor, directory: str, present: list[str]) -> list[NewDisk]:
    """The ephemeral and swap disks the flavor wants and `present` lacks."""
    return [NewDisk(f"{directory}/{name}", size) for name, size in _extra_sizes(flavor).items() if size and name not in present]


def sync_extra_disks(conn: Connection, flavor: Flavor, directory: str, present: list[str]) -> None:
    """Ephemeral and swap as the flavor wants them: kept when present, made when missing, removed when unwanted."""
    create(conn, extra_disks(flavor, directory, present))
    unwanted = [f"{directory}/{name}" for name, size in _extra_sizes(flavor).items() if not size and name in present]
    if unwanted:
        conn.run(["rm", "-f", "--", *unwanted])


def listed(conn: Connection, directory: str) -> list[str]:
    """The names of DISKS found in an instance directory."""
    listing = set(conn.run(["ls", "-1", "--", directory]).stdout.split())
    return [name for name, _dev in DISKS if name in listing]


def devices(directory: str, names: list[str]) -> list[tuple[str, str]]:
    """(file, target device) of the named disks, in boot order, for the domain XML."""
    return [(f"{directory}/{name}", dev) for name, dev in DISKS if name in names]
