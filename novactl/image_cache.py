"""image-cache-list, -prune and -warm: managing the hosts' `_base` caches, as Nova's imagecache manager.

Nova prunes a base once no instance on its host uses it and it has been unused for
`remove_unused_original_minimum_age_seconds` (default 24 h); novactl does the same on demand.
A base is in use while an instance disk on the host has it as backing file; its mtime says when it
was last used (every boot or move that uses it touches it). The driver removes a base only under its
per-image lock, and only if nothing touched it since the scan that chose it.

Hosts are handled in parallel, each through its own driver (no poll is needed: the catalogue names
the images, the scan finds the users). A host that fails is a row with its error, and the command's
exit code is then 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from novactl.drivers import make_driver
from novactl.drivers.base import CachedImage, ComputeDriver, ImageCacheListing
from novactl.drivers.libvirt.imagecache import IMAGE_LOCK_TIMEOUT, SCAN_TIMEOUT
from novactl.drivers.libvirt.paths import base_name
from novactl.errors import HostError, NovactlError, UsageError
from novactl.models import HostConfig, Image, Inventory
from novactl.poller import poll_deadline
from novactl.remote.fanout import each_host

DEFAULT_MIN_AGE = 24 * 3600.0  # Nova's remove_unused_original_minimum_age_seconds
MAX_PARALLEL_TRANSFERS = 4  # warm: images leave this machine's link at most this many at a time
MIN_TRANSFER_RATE = 1024**2  # bytes/s: warm gives up on a host whose transfer is slower (a backstop)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
T = TypeVar("T")


def parse_duration(text: str) -> float:
    """'24h', '90m', '1h30m', '2d', '45s' or plain seconds -> seconds; UsageError otherwise."""
    compact = text.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    while pos < len(compact):
        match = _DURATION.match(compact, pos)
        if not match:
            break
        total += float(match[1]) * _UNIT_SECONDS[match[2]]
        pos = match.end()
    if not compact or pos != len(compact) or total > 100 * 365 * 86400:
        raise UsageError(f"bad duration {text!r}: use e.g. 24h, 90m, 1h30m, 2d or seconds")
    return total


@dataclass
class CacheRow:
    host: str
    base: CachedImage | None
    image: Image | None  # the catalogue's image of this base, if it still has it
    result: str = ""  # prune: what happened; any command: "ERROR: ..." for a host that failed
    exit_code: int = 0
    freed: int = 0  # bytes
    down_reason: str = ""  # why the host's cache could not be read (no base then)

    @property
    def last_used(self) -> str | None:
        if self.base is None or self.base.mtime is None:
            return None
        return dt.datetime.fromtimestamp(self.base.mtime, dt.UTC).isoformat(timespec="seconds")


def select_hosts(inventory: Inventory, names: Iterable[str]) -> list[HostConfig]:
    """The named hosts (UsageError for an unknown one), else every host that keeps an image cache."""
    names = list(names)
    if names:
        return [inventory.host(name) for name in names]
    return [h for h in inventory.hosts if make_driver(h, inventory).capabilities["has_imagecache"]]


def list_cache(inventory: Inventory, hosts: list[HostConfig]) -> list[CacheRow]:
    rows = []
    for host, listing in _scan_all(inventory, hosts):
        if isinstance(listing, NovactlError):
            rows.append(_error_row(host, listing))
            continue
        rows += [CacheRow(host.name, base, _image_of(inventory, base)) for base in listing.bases]
    return rows


def prune(inventory: Inventory, hosts: list[HostConfig], min_age: float, dry_run: bool, image: Image | None = None) -> list[CacheRow]:
    """Remove the unused bases older than `min_age` seconds (only `image`'s, if given)."""
    scans = _scan_all(inventory, hosts)
    if image is not None:
        wanted = base_name(image.id)
        if not any(isinstance(s, ImageCacheListing) and any(b.name == wanted for b in s.bases) for _, s in scans):
            raise UsageError(f"image {image.name} is not cached on {', '.join(h.name for h in hosts) or 'any host'}")

    listings = {host.name: listing for host, listing in scans}

    def prune_host(host: HostConfig) -> list[CacheRow]:
        listing = listings[host.name]
        if isinstance(listing, NovactlError):
            return [_error_row(host, listing)]
        rows = []
        with _driver(host, inventory) as driver:
            for base in listing.bases:
                if image is None or base.name == base_name(image.id):
                    rows.append(_prune_one(driver, host, base, listing, min_age, dry_run, _image_of(inventory, base)))
        return rows

    pruned = _parallel(prune_host, [host for host, _listing in scans], _scan_deadline)
    rows: list[CacheRow] = []
    for (host, _listing), found in zip(scans, pruned, strict=True):
        rows += found if isinstance(found, list) else [_error_row(host, found)]
    return rows


def _prune_one(
    driver: ComputeDriver,
    host: HostConfig,
    base: CachedImage,
    listing: ImageCacheListing,
    min_age: float,
    dry_run: bool,
    image: Image | None,
) -> CacheRow:
    row = CacheRow(host.name, base, image)
    if base.users:
        row.result = f"kept: in use by {len(base.users)} instance(s)"
    elif listing.unreadable:
        row.result = f"kept: the backing file of {listing.unreadable[0]} cannot be read, so no base is known to be unused"
    elif base.mtime is None:
        row.result = "kept: when it was last used is unknown"
    elif (unused_for := listing.scanned_at - base.mtime) < min_age:
        row.result = f"kept: used {format_duration(unused_for)} ago (under --min-age {format_duration(min_age)})"
    elif dry_run:
        row.result, row.freed = "would remove", base.size or 0
    else:
        try:
            outcome = driver.remove_cached_image(base.name, listing.scanned_at)
        except NovactlError as exc:
            row.result, row.exit_code = f"ERROR: {exc}", exc.exit_code
            return row
        row.result = {
            "removed": "removed",
            "in use": "kept: used since the scan",
            "locked": "kept: a transfer of this image holds its lock",
            "gone": "gone already",
        }[outcome]
        row.freed = (base.size or 0) if outcome == "removed" else 0
    return row


@dataclass
class WarmRow:
    host: str
    result: str
    exit_code: int = 0


def warm(
    inventory: Inventory, image: Image, source: str, hosts: list[HostConfig], progress: Callable[[str], None] | None = None
) -> list[WarmRow]:
    """Put `image` in the cache of each host (a few transfers at a time)."""
    say = progress or (lambda _text: None)

    def warm_host(host: HostConfig) -> WarmRow:
        started = time.monotonic()
        try:
            with _driver(host, inventory) as driver:
                sent = driver.cache_image(image, source)
        except NovactlError as exc:
            say(f"{host.name}: {exc}")
            return WarmRow(host.name, f"ERROR: {exc}", exc.exit_code)
        result = f"cached (sent in {time.monotonic() - started:.1f} s)" if sent else "already cached"
        say(f"{host.name}: {result}")
        return WarmRow(host.name, result)

    # A backstop for each host: the transfers it may queue behind, each waiting for the image's lock on
    # its host and then sending at no less than MIN_TRANSFER_RATE.
    waves = -(-len(hosts) // MAX_PARALLEL_TRANSFERS)
    sending = os.path.getsize(image.file) / MIN_TRANSFER_RATE if os.path.isfile(image.file) else 0.0
    warmed = _parallel(warm_host, hosts, lambda host: waves * (poll_deadline(host) + IMAGE_LOCK_TIMEOUT + sending), MAX_PARALLEL_TRANSFERS)
    return [
        row if isinstance(row, WarmRow) else WarmRow(host.name, f"ERROR: {row}", row.exit_code)
        for host, row in zip(hosts, warmed, strict=True)
    ]


def format_duration(seconds: float) -> str:
    """Seconds as the largest whole-ish unit: 90 -> '1.5m', 86400 -> '1d'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    return f"{max(0, int(seconds))}s"


@contextlib.contextmanager
def _driver(host: HostConfig, inventory: Inventory) -> Iterator[ComputeDriver]:
    driver = make_driver(host, inventory)
    try:
        yield driver
    finally:
        driver.close()


def _scan_all(inventory: Inventory, hosts: list[HostConfig]) -> list[tuple[HostConfig, ImageCacheListing | NovactlError]]:
    def scan(host: HostConfig) -> ImageCacheListing:
        with _driver(host, inventory) as driver:
            return driver.image_cache()

    return list(zip(hosts, _parallel(scan, hosts, _scan_deadline), strict=True))


def _scan_deadline(host: HostConfig) -> float:
    """The backstop for a host's scan, or its pruning (removals take their locks without waiting)."""
    return poll_deadline(host) + SCAN_TIMEOUT


def _parallel(
    work: Callable[[HostConfig], T], hosts: list[HostConfig], deadline: Callable[[HostConfig], float], limit: int | None = None
) -> list[T | NovactlError]:
    """work(host) for every host in parallel (remote/fanout.py), in host order: its result, or the
    NovactlError it raised (NoAnswer at its deadline); any other exception is raised here."""
    by_name = {host.name: host for host in hosts}
    outcomes = each_host(
        lambda name: work(by_name[name]), by_name, lambda name: deadline(by_name[name]), "image-cache", limit, expected=NovactlError
    )
    return [outcomes[host.name] for host in hosts]  # type: ignore[misc]


def _image_of(inventory: Inventory, base: CachedImage) -> Image | None:
    return next((image for image in inventory.images if base_name(image.id) == base.name), None)


def _error_row(host: HostConfig, exc: NovactlError) -> CacheRow:
    reason = exc.reason if isinstance(exc, HostError) else str(exc)
    return CacheRow(host.name, None, None, f"ERROR: {exc}", exc.exit_code, down_reason=reason)
