"""Glance-style image cache on a host: `<instances_path>/_base/<sha1 of the image id>`.

An image is sent at most once per host: a per-image host lock makes a second boot wait for the first
transfer and then find the file. The transfer lands under a temporary name, is checked (checksum,
no backing file), converted to raw when `force_raw_images` (Nova's default), and renamed into place,
so a half-sent image is never mistaken for a cached one.

Management follows Nova's imagecache manager: a base is in use while an instance disk on the host
(`<uuid>/disk`, or `<uuid>_resize/disk` kept for a revert) has it as backing file, as `qemu-img info`
reads it; every use touches the base, so its mtime is when it was last used. Removing takes the
per-image lock (never during a transfer), renames the base aside and removes it only if nobody
touched it since the scan; a boot that found it just before then puts it back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable

from novactl import crashpoints
from novactl.drivers.base import CachedImage, ImageCacheListing
from novactl.drivers.libvirt import imagebackend, paths
from novactl.errors import HostError, UsageError
from novactl.models import HostConfig, Image
from novactl.remote import Connection

LOG = logging.getLogger("novactl.virt.libvirt.imagecache")
BASE_NAME = re.compile(r"[0-9a-f]{40}")  # sha1 of an image id: anything else in _base is not a base
SCAN_TIMEOUT = 300.0  # seconds: one qemu-img info per instance disk
IMAGE_LOCK_TIMEOUT = 3600  # seconds: another command may be sending the same image

# Constant scripts: paths travel as positional arguments, never spliced into the text.
# Output: the host's clock, then `base SIZE MTIME PATH` per file, then `disk<TAB>PATH<TAB>JSON` per disk.
SCAN_SCRIPT = r"""
date +%s
for f in "$1"/*; do
  [ -f "$f" ] && stat -c 'base %s %Y %n' -- "$f"
done
for d in "$2"/*/disk; do
  [ -f "$d" ] || continue
  printf 'disk\t%s\t' "$d"
  qemu-img info -U --output=json -- "$d" 2>/dev/null | tr -d '\n'
  echo
done
"""
# $1 base, $2 its name while being removed, $3 the scan's clock: used since then -> put it back.
REMOVE_SCRIPT = r"""
mv -- "$1" "$2" 2>/dev/null || { echo gone; exit 0; }
if [ "$(stat -c %Y -- "$2")" -ge "$3" ]; then mv -- "$2" "$1"; echo "in use"; else rm -f -- "$2"; echo removed; fi
"""


def ensure_base(
    conn: Connection, host: HostConfig, image: Image, source: str, progress: Callable[[int], None] | None = None
) -> tuple[str, str]:
    """Return (base path, its format) on the host, sending the image first if it is not cached."""
    base, base_format = base_of(host, image)
    # A base only ever appears by an atomic rename, so a warm cache needs no lock: one round trip.
    if _touch_if_cached(conn, base):
        LOG.debug("Image %s found in cache at %s", image.id, base)
        return base, base_format
    with conn.lock(paths.image_lock(host, image.id), timeout=IMAGE_LOCK_TIMEOUT):
        if _touch_if_cached(conn, base):  # another boot sent it while we waited for the lock
            LOG.debug("Image %s found in cache at %s", image.id, base)
            return base, base_format
        LOG.info("Image %s not cached on %s; sending %d bytes", image.id, host.name, os.path.getsize(source))
        part = f"{base}.part-{uuid.uuid4().hex[:8]}"
        conn.run(["mkdir", "-p", "--", host.base_path])
        try:
            conn.put_file(source, part, progress)
            crashpoints.step("boot.base-sent")
            _verify(conn, host, image, part)
            if base_format == "raw" and image.disk_format != "raw":
                conn.run(["qemu-img", "convert", "-f", image.disk_format, "-O", "raw", "--", part, f"{part}.raw"])
                conn.run(["mv", "-f", "--", f"{part}.raw", part])
            # Not world-readable: a base is a whole disk. qemu (libvirt-qemu here) reads it through libvirt's
            # dynamic ownership, which labels the backing chain of a guest it starts.
            conn.run(["chmod", "0640", "--", part])
            conn.run(["mv", "-f", "--", part, base])
        finally:
            conn.run(["rm", "-f", "--", part, f"{part}.raw"], check=False)
    return base, base_format


def base_of(host: HostConfig, image: Image) -> tuple[str, str]:
    """Where the image's base is (or will be) on the host, and its format: raw unless force_raw_images is off."""
    return paths.base_file(host, image.id), "raw" if host.force_raw_images or image.disk_format == "raw" else "qcow2"


def _touch_if_cached(conn: Connection, base: str) -> bool:
    """True when the base exists; it is touched (marked in use, for pruning) on the way."""
    return conn.run(["sh", "-c", 'test -f "$1" && touch -c "$1"', "sh", base], check=False).ok


def _verify(conn: Connection, host: HostConfig, image: Image, part: str) -> None:
    if image.checksum:
        algorithm, expected = image.checksum.split(":", 1) if ":" in image.checksum else ("md5", image.checksum)
        actual = conn.run([f"{algorithm}sum", "--", part]).stdout.split()[0]
        if actual != expected:
            raise HostError(host.name, f"image {image.name}: checksum {algorithm} {actual} does not match the inventory's {expected}")
    info = imagebackend.image_info(conn, part, image.disk_format)
    if info.get("backing-filename"):
        raise HostError(host.name, f"image {image.name} has a backing file ({info['backing-filename']}); refusing it as a base")


def is_cached(conn: Connection, host: HostConfig, image: Image) -> bool:
    return _touch_if_cached(conn, paths.base_file(host, image.id))


def scan(conn: Connection, host: HostConfig) -> ImageCacheListing:
    """The bases of the host's cache with the instances whose disks they back (one round trip)."""
    done = conn.run(["sh", "-c", SCAN_SCRIPT, "sh", host.base_path, host.instances_path], timeout=SCAN_TIMEOUT)
    lines = done.stdout.splitlines()
    if not lines or not lines[0].strip().isdigit():
        raise HostError(host.name, "unreadable image cache scan (no clock)")
    bases: dict[str, CachedImage] = {}
    users: dict[str, set[str]] = {}
    unreadable = []
    for line in lines[1:]:
        if line.startswith("base "):
            fields = line.split(" ", 3)
            name = os.path.basename(fields[3]) if len(fields) == 4 else ""
            if BASE_NAME.fullmatch(name) and fields[1].isdigit() and fields[2].isdigit():
                bases[name] = CachedImage(name, int(fields[1]), int(fields[2]))
        elif line.startswith("disk\t"):
            _, path, info = ([*line.split("\t", 2), "", ""])[:3]
            backing = _backing_file(info)
            if backing is None:
                unreadable.append(path)
            elif backing and os.path.dirname(backing) == host.base_path:
                owner = os.path.basename(os.path.dirname(path)).removesuffix("_resize")
                users.setdefault(os.path.basename(backing), set()).add(owner)
    for name, base in bases.items():
        base.users = sorted(users.get(name, ()))
    return ImageCacheListing(sorted(bases.values(), key=lambda b: b.name), int(lines[0]), unreadable)


def _backing_file(info: str) -> str | None:
    """The backing file named by `qemu-img info --output=json` ("" for none), None if unreadable."""
    try:
        data = json.loads(info)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    backing = data.get("full-backing-filename") or data.get("backing-filename") or ""
    return backing if isinstance(backing, str) else None


def remove(conn: Connection, host: HostConfig, name: str, unused_since: int) -> str:
    """Remove base `name` under its image lock unless used since `unused_since` (host clock)."""
    if not BASE_NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not a base file name")
    base = f"{host.base_path}/{name}"
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(conn.lock(paths.base_lock(host, name), timeout=1))
        except HostError:
            return "locked"  # a transfer of this image is in progress
        aside = f"{base}.pruning-{uuid.uuid4().hex[:8]}"
        done = conn.run(["sh", "-c", REMOVE_SCRIPT, "sh", base, aside, str(unused_since)])
        outcome = done.stdout.strip()
        if outcome not in ("gone", "in use", "removed"):
            raise HostError(host.name, f"unexpected answer while removing {base}: {outcome[:80]!r}")
        LOG.info("Base %s on %s: %s", base, host.name, outcome)
        return outcome
