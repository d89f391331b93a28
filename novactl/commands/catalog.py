"""flavor-list, flavor-show, image-list: the inventory's catalogue (no host is contacted)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from novactl.commands.common import App, command, pass_app, with_output
from novactl.output import Listing, ShowOne

if TYPE_CHECKING:
    from novactl.models import Flavor

FLAVOR_COLUMNS = ["ID", "Name", "Memory_MB", "Disk", "Ephemeral", "Swap", "VCPUs", "RXTX_Factor", "Is_Public"]


def _swap(flavor: Flavor) -> int | str:
    return flavor.swap or ""  # novaclient prints an empty Swap cell for a flavor without swap


@command("flavor-list", "images", examples=["flavor-list", "flavor-list -f json --sort-column Memory_MB"])
@with_output
@pass_app
def flavor_list(app: App) -> Listing:
    """List flavors."""
    rows = [[f.id, f.name, f.ram, f.disk, f.ephemeral, _swap(f), f.vcpus, f.rxtx_factor, f.is_public] for f in app.inventory.flavors]
    return Listing(FLAVOR_COLUMNS, rows)


@command("flavor-show", "images", examples=["flavor-show m1.small"])
@click.argument("flavor")
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


@command("image-list", "images", examples=["image-list", "image-list -f value -c Name"])
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
