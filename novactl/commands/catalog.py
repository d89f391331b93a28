"""flavor-list, flavor-show, image-list, image-upload: the inventory's catalogue (no host is contacted)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from novactl.commands.common import App, command, complete, joined, key_values, pass_app, with_output
from novactl.output import Listing, Shown, ShowOne

if TYPE_CHECKING:
    from novactl.models import Flavor

FLAVOR_COLUMNS = ["ID", "Name", "Memory_MB", "Disk", "Ephemeral", "Swap", "VCPUs", "RXTX_Factor", "Is_Public"]


def _swap(flavor: Flavor) -> Shown:
    return Shown(flavor.swap, str(flavor.swap or ""))  # novaclient's table has an empty Swap cell for no swap


@command("flavor-list", "images", examples=["flavor-list", "flavor-list -f json --sort-column Memory_MB"], inventory_only=True)
@with_output
@pass_app
def flavor_list(app: App) -> Listing:
    """List flavors."""
    rows = [[f.id, f.name, f.ram, f.disk, f.ephemeral, _swap(f), f.vcpus, f.rxtx_factor, f.is_public] for f in app.inventory.flavors]
    return Listing(FLAVOR_COLUMNS, rows)


@command("flavor-show", "images", examples=["flavor-show m1.small"], inventory_only=True)
@click.argument("flavor", shell_complete=complete("flavors"))
@with_output
@pass_app
def flavor_show(app: App, flavor: str) -> ShowOne:
    """Show details about the given flavor (name or ID)."""
    f = app.inventory.flavor(flavor)
    return ShowOne(
        {
            "OS-FLV-DISABLED:disabled": False,
            "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
            "disk": f.disk,
            "extra_specs": f.extra_specs,
            "id": f.id,
            "name": f.name,
            "os-flavor-access:is_public": f.is_public,
            "ram": f.ram,
            "rxtx_factor": f.rxtx_factor,
            "swap": _swap(f),
            "vcpus": f.vcpus,
        }
    )


@command("image-list", "images", examples=["image-list", "image-list -f value -c Name"], inventory_only=True)
@with_output
@pass_app
def image_list(app: App) -> Listing:
    """List images of the catalogue; Status is 'active' when the file is readable here."""
    rows = []
    for image in app.inventory.images:
        path = app.inventory.source_dir / image.file
        status = "active" if os.access(path, os.R_OK) else "missing"
        rows.append([image.id, image.name, status, image.disk_format, str(path)])
    return Listing(["ID", "Name", "Status", "Disk Format", "File"], rows)


@command(
    "image-upload",
    "images",
    examples=["image-upload debian-12 --file debian-12-generic-amd64.qcow2 --property default_user=debian"],
)
@click.argument("name")
@click.option("--file", "file", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The local image file.")
@click.option("--disk-format", type=click.Choice(["auto", "qcow2", "raw"]), default="auto", show_default=True, help="Checked by qemu-img.")
@click.option("--property", "properties", multiple=True, metavar="KEY=VALUE", help="Image property (repeatable), e.g. default_user=debian.")
@click.option("--min-disk", type=click.IntRange(min=0), default=0, help="Minimum root disk, GB.")
@click.option("--min-ram", type=click.IntRange(min=0), default=0, help="Minimum RAM, MB.")
@with_output
@pass_app
def image_upload(app: App, name: str, file: Path, disk_format: str, properties: tuple[str, ...], min_disk: int, min_ram: int) -> ShowOne:
    """Add a local qcow2 or raw file to the catalogue, with its md5 checksum and qemu-img's format."""
    import yaml

    from novactl import images

    done = images.upload(app.inventory, name, file, disk_format, key_values(properties, "--property"), min_disk, min_ram)
    if done.appended:
        footer = f"Added to {done.inventory}'s images."
    else:
        footer = f"Add this to {done.inventory}'s images: list:\n" + yaml.safe_dump([done.entry], sort_keys=False)
    return ShowOne(done.entry, footer=footer, exit_code=0 if done.appended else 1)


@command("inventory-show", "other", examples=["inventory-show", "inventory-show -f json"], inventory_only=True)
@with_output
@pass_app
def inventory_show(app: App) -> ShowOne:
    """Which inventory is in use and why (-i, $NOVACTL_INVENTORY, ./inventory.yaml, ~/.config, built-in), and what it holds."""
    path, why = app.inventory_source
    inventory = app.inventory
    return ShowOne(
        {
            "path": Shown(path, path or "<built-in default>"),
            "why": why,
            "hosts": joined([h.name for h in inventory.hosts]),
            "flavors": joined([f.name for f in inventory.flavors]),
            "images": joined([i.name for i in inventory.images]),
            "networks": joined([n.name for n in inventory.networks]),
            "server_groups": joined([g.name for g in inventory.server_groups]),
        }
    )
