"""A boot request and everything checkable about it before any host is contacted (exit 2 on bad input).

Kept apart from pipeline.py, which imports the scheduler, the poller and the drivers: the boot
command validates with this module alone, then starts its hosts' SSH handshakes while the rest of
the boot imports (drivers.open_ahead), so bad input still touches no host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from novactl import configdrive
from novactl.errors import UsageError
from novactl.images import readable_image_source
from novactl.inventory_schema import HOSTNAME
from novactl.models import Flavor, Image, Inventory

# Instances one `boot` may ask for: well past a small cluster's room, while the scheduler's work and
# the dry run's plan stay small (100,000 took 4.5 s and 176 MB in a dry run before this cap).
MAX_COUNT = 1000
MAX_METADATA_ITEMS = 128  # Nova's default metadata_items quota
# fullmatch, never match with $: $ also matches before a final newline, so "x\n" passed.
SAFE_INSTANCE_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass
class BootRequest:
    name: str
    flavor: str
    image: str | None = None
    availability_zone: str | None = None  # AZ or AZ:HOST
    hints: dict[str, list[str]] = field(default_factory=dict)
    min_count: int = 1
    max_count: int = 1
    network: str | None = None
    wait: bool = True
    key_name: str | None = None
    user_data: bytes | None = None  # byte-exact, as the guest will read it
    meta: dict[str, str] = field(default_factory=dict)  # Nova's server metadata (--meta)
    config_drive: bool = True  # on by default: there is no metadata service


def validate(inventory: Inventory, request: BootRequest, need_image_file: bool = True) -> tuple[Flavor, Image | None]:
    """Everything checkable before a host is contacted; raises UsageError (exit 2).

    `need_image_file`: the image's file must exist and be readable. What qemu-img finds in it is
    checked by `boot`, while the hosts are polled.
    """
    if not SAFE_INSTANCE_NAME.fullmatch(request.name) or not re.fullmatch(HOSTNAME, request.name):
        raise UsageError(f"instance name {request.name!r} is not a safe host name (letters, digits, '-'; at most 63)")
    if request.max_count > MAX_COUNT:
        raise UsageError(f"--max-count {request.max_count} is more than {MAX_COUNT}, the most one boot request may ask for")
    if not 1 <= request.min_count <= request.max_count:
        raise UsageError(f"--min-count {request.min_count} must be between 1 and --max-count {request.max_count}")
    unknown = set(request.hints) - {"group", "same_host", "different_host"}
    if unknown:
        raise UsageError(f"unknown scheduler hint(s): {', '.join(sorted(unknown))} (known: group, same_host, different_host)")
    flavor = inventory.flavor(request.flavor)
    zone = (request.availability_zone or "").partition(":")[0]
    zones = sorted({h.zone for h in inventory.hosts})
    if zone and zone not in zones:  # Nova answers 400, not NoValidHost, for a zone that does not exist
        raise UsageError(f"availability zone {zone!r} does not exist (zones: {', '.join(zones)})")
    if request.network:
        inventory.network(request.network)
    _validate_guest_data(inventory, request)
    if not request.image:
        if need_image_file:
            raise UsageError("an image is required (--image)")
        return flavor, None
    image = inventory.image(request.image)
    # Nova's API refuses these before scheduling (FlavorMemoryTooSmall, FlavorDiskTooSmall).
    if flavor.ram < image.min_ram:
        raise UsageError(f"flavor {flavor.name}'s memory ({flavor.ram} MB) is below image {image.name}'s min_ram ({image.min_ram} MB)")
    if flavor.disk and flavor.disk < image.min_disk:
        raise UsageError(f"flavor {flavor.name}'s disk ({flavor.disk} GB) is below image {image.name}'s min_disk ({image.min_disk} GB)")
    if need_image_file:
        readable_image_source(inventory, image)
    return flavor, image


def _validate_guest_data(inventory: Inventory, request: BootRequest) -> None:
    """Key, user data and metadata as Nova's API checks them (400 there, exit 2 here)."""
    if request.key_name and request.key_name not in {k.name for k in inventory.keypairs}:
        raise UsageError(f"Invalid key_name provided: {request.key_name!r} (keypair-list shows the known ones)")
    if request.user_data is not None:
        configdrive.check_user_data(request.user_data)
    if len(request.meta) > MAX_METADATA_ITEMS:
        raise UsageError(f"Maximum number of metadata items exceeds {MAX_METADATA_ITEMS}")
    for key, value in request.meta.items():
        if not 1 <= len(key) <= 255 or len(value) > 255:
            raise UsageError(f"metadata {key[:40]!r}: keys must be 1 to 255 characters, values at most 255")
