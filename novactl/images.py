"""image-upload: a local image file added to the inventory's catalogue, as Glance's image-create + upload.

The format is what `qemu-img info` finds in the file, never only what the user says: a qcow2 declared
raw would hand the guest the qcow2 header (and its backing-file pointer) to rewrite. An image with a
backing file is refused, since the host would follow that path on its own disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from novactl.errors import NovactlError, UsageError
from novactl.inventory_edit import append_item, writable_inventory
from novactl.inventory_schema import SAFE_NAME
from novactl.models import Image, Inventory

DISK_FORMATS = ("qcow2", "raw")
QEMU_IMG_TIMEOUT = 30  # seconds; `info` reads headers only


@dataclass
class Upload:
    entry: dict  # the inventory's images: item
    inventory: Path  # the file it went into
    appended: bool  # False: the user must add `entry` by hand


def file_md5(path: Path) -> str:
    """Glance v2's `checksum`."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def check_new_image_name(inventory: Inventory, name: str) -> None:
    if not re.fullmatch(SAFE_NAME, name):  # fullmatch: with match and $, "x\n" passed
        raise UsageError(f"image name {name!r} is not safe (letters, digits, '.', '_', '-'; at most 63)")
    if any(name in (i.name, i.id) for i in inventory.images):
        raise UsageError(f"the inventory already has an image {name!r}")


def detect_format(path: Path) -> dict:
    """`qemu-img info`'s JSON for the file; its `format` is what qemu will read it as."""
    argv = ["qemu-img", "info", "--output=json", "--", str(path)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NovactlError(f"qemu-img info {path}: {exc}") from None
    if done.returncode != 0:
        raise UsageError(f"{path}: not a disk image qemu-img can read: {done.stderr.strip()}")
    info = json.loads(done.stdout)
    if not isinstance(info, dict) or not isinstance(info.get("format"), str):
        raise NovactlError(f"qemu-img info {path}: unexpected output")
    return info


def check_disk_image(path: Path, disk_format: str, name: str) -> None:
    """Refuse a file that is not the declared kind of disk image, before any of it is sent to a host.

    qemu-img calls anything it does not recognise raw, so a raw image must also look like a disk: whole
    512-byte sectors and a boot sector (MBR, or GPT's protective MBR). Without that check an inventory
    naming ~/.ssh/id_ed25519 as a raw image would copy the key to every host.
    """
    info = detect_format(path)
    found = info["format"]
    if info.get("backing-filename"):
        raise UsageError(f"image {name}: {path} has a backing file; flatten it first (qemu-img convert)")
    if found != disk_format:
        raise UsageError(f"image {name}: {path} is {found}, not {disk_format} as the inventory says (qemu-img info)")
    if found == "raw":
        check_raw_disk(path, name)


def check_raw_disk(path: Path, name: str) -> None:
    with open(path, "rb") as handle:
        handle.seek(510)
        signature = handle.read(2)
        size = os.fstat(handle.fileno()).st_size
    if size == 0 or size % 512 or signature != b"\x55\xaa":
        raise UsageError(f"image {name}: {path} is not a raw disk image (whole sectors with an MBR or GPT boot sector)")


def upload(
    inventory: Inventory,
    name: str,
    file: Path,
    disk_format: str = "auto",
    properties: dict[str, str] | None = None,
    min_disk: int = 0,
    min_ram: int = 0,
) -> Upload:
    check_new_image_name(inventory, name)
    if not file.is_file() or not os.access(file, os.R_OK):
        raise UsageError(f"{file}: not a readable file")
    info = detect_format(file)
    found = info["format"]
    if info.get("backing-filename"):
        raise UsageError(f"{file} has a backing file ({info['backing-filename']}): flatten it first (qemu-img convert)")
    if found not in DISK_FORMATS:
        raise UsageError(f"{file} is {found}; novactl serves {' and '.join(DISK_FORMATS)} (qemu-img convert -O qcow2)")
    if disk_format not in ("auto", found):
        raise UsageError(f"{file} is {found}, not {disk_format} (qemu-img info)")
    if found == "raw":
        check_raw_disk(file, name)
    path = writable_inventory(inventory)
    file = file.resolve()
    try:
        stored = str(file.relative_to(path.resolve().parent))  # next to the inventory: keep it movable
    except ValueError:
        stored = str(file)
    entry: dict = {"id": str(uuid.uuid4()), "name": name, "file": stored, "disk_format": found, "checksum": file_md5(file)}
    if min_disk:
        entry["min_disk"] = min_disk
    if min_ram:
        entry["min_ram"] = min_ram
    if properties:
        entry["properties"] = dict(properties)
    return Upload(entry, path, append_item(path, "images", entry))


def image_source(inventory: Inventory, image: Image) -> str:
    """The image's file on this machine (relative paths from the inventory's directory)."""
    return str(inventory.source_dir / os.path.expanduser(image.file))


def readable_image_source(inventory: Inventory, image: Image) -> str:
    """The image's file, refused (exit 2) when it is missing or unreadable; its content is not read."""
    source = image_source(inventory, image)
    if not os.access(source, os.R_OK) or not os.path.isfile(source):
        raise UsageError(f"image {image.name}: file {source} is missing or unreadable")
    return source


def sendable_image_source(inventory: Inventory, image: Image) -> str:
    """The image's file, once qemu-img agrees it is the disk image the inventory declares."""
    source = readable_image_source(inventory, image)
    check_disk_image(Path(source), image.disk_format, image.name)
    return source
