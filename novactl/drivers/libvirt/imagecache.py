"""Glance-style image cache on a host: `<instances_path>/_base/<sha1 of the image id>`.

An image is sent at most once per host: a per-image host lock makes a second boot wait for the first
transfer and then find the file. The transfer lands under a temporary name, is checked (checksum,
no backing file), converted to raw when `force_raw_images` (Nova's default), and renamed into place,
so a half-sent image is never mistaken for a cached one.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable

from novactl.drivers.libvirt import imagebackend, paths
from novactl.errors import HostError
from novactl.models import HostConfig, Image
from novactl.remote import Connection

LOG = logging.getLogger("novactl.virt.libvirt.imagecache")


def ensure_base(
    conn: Connection, host: HostConfig, image: Image, source: str, progress: Callable[[int], None] | None = None
) -> tuple[str, str]:
    """Return (base path, its format) on the host, sending the image first if it is not cached."""
    base = paths.base_file(host, image.id)
    base_format = "raw" if host.force_raw_images or image.disk_format == "raw" else "qcow2"
    # A base only ever appears by an atomic rename, so a warm cache needs no lock: one round trip.
    if _touch_if_cached(conn, base):
        LOG.debug("Image %s found in cache at %s", image.id, base)
        return base, base_format
    with conn.lock(paths.image_lock(host, image.id), timeout=3600):
        if _touch_if_cached(conn, base):  # another boot sent it while we waited for the lock
            LOG.debug("Image %s found in cache at %s", image.id, base)
            return base, base_format
        LOG.info("Image %s not cached on %s; sending %d bytes", image.id, host.name, os.path.getsize(source))
        part = f"{base}.part-{uuid.uuid4().hex[:8]}"
        conn.run(["mkdir", "-p", "--", host.base_path])
        try:
            conn.put_file(source, part, progress)
            _verify(conn, host, image, part)
            if base_format == "raw" and image.disk_format != "raw":
                conn.run(["qemu-img", "convert", "-f", image.disk_format, "-O", "raw", "--", part, f"{part}.raw"])
                conn.run(["mv", "-f", "--", f"{part}.raw", part])
            conn.run(["chmod", "0644", "--", part])
            conn.run(["mv", "-f", "--", part, base])
        finally:
            conn.run(["rm", "-f", "--", part, f"{part}.raw"], check=False)
    return base, base_format


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
