"""image-cache-list, image-cache-prune, image-cache-warm: the hosts' `_base` caches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from novactl.commands.common import App, absent, command, first_failure, pass_app, with_output
from novactl.output import Listing

if TYPE_CHECKING:
    from novactl.image_cache import CacheRow

HOST_HELP = "Only this host (repeatable; default: every host that keeps an image cache)."


def _image_cells(row: CacheRow) -> list:
    return [row.image.name if row.image else None, row.image.id if row.image else None]


@command("image-cache-list", "images", examples=["image-cache-list", "image-cache-list --host compute1 -f json"])
@click.option("--host", "hosts", multiple=True, help=HOST_HELP)
@with_output
@pass_app
def image_cache_list(app: App, hosts: tuple[str, ...]) -> Listing:
    """List the bases in the hosts' image caches, with their image, size, users and last use."""
    from novactl import image_cache

    inventory = app.inventory
    rows = image_cache.list_cache(inventory, image_cache.select_hosts(inventory, hosts))
    table, notes, footer = [], [], []
    for row in rows:
        if row.base is None:  # as `list` shows a down host: a row of its own in tables, the reason below
            notes.append([row.host, "(not read: host down)", "", "", "", "", ""])
            footer.append(f"{row.host} is down: {row.down_reason}")
            continue
        table.append([row.host, row.base.name, *_image_cells(row), absent(row.base.size), len(row.base.users), absent(row.last_used)])
    unknown = sorted({r.host for r in rows if r.base is not None and r.base.size is None})
    if unknown:
        footer.append(f"Size and Last Used unknown on {', '.join(unknown)}: a fake host's facts do not give them.")
    columns = ["Host", "Base", "Image Name", "Image ID", "Size", "In Use By", "Last Used"]
    return Listing(columns, table, footer="\n".join(footer), notes=notes, exit_code=first_failure([r.exit_code for r in rows]))


@command("image-cache-prune", "images", examples=["image-cache-prune --dry-run", "image-cache-prune --min-age 2d --host compute1"])
@click.option("--min-age", default="24h", show_default=True, metavar="DURATION", help="Only bases unused this long (e.g. 24h, 90m, 2d).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--image", help="Only this image's base (it must be cached on a selected host).")
@click.option("--host", "hosts", multiple=True, help=HOST_HELP)
@with_output
@pass_app
def image_cache_prune(app: App, min_age: str, dry_run: bool, image: str | None, hosts: tuple[str, ...]) -> Listing:
    """Remove the bases no instance uses and nothing used for --min-age, as Nova's image cache manager.

    A base is never removed while a transfer of its image holds the per-image lock, nor when it was
    used after the scan that chose it.
    """
    from novactl import image_cache

    inventory = app.inventory
    age = image_cache.parse_duration(min_age)
    wanted = inventory.image(image) if image else None
    rows = image_cache.prune(inventory, image_cache.select_hosts(inventory, hosts), age, dry_run, wanted)
    table = [[r.host, r.base.name if r.base else None, *_image_cells(r), r.base.size if r.base else None, r.result] for r in rows]
    freed = sum(r.freed for r in rows)
    verb = "Would free" if dry_run else "Freed"
    footer = f"{verb} {freed} bytes ({freed / (1 << 30):.2f} GiB) on {len({r.host for r in rows if r.freed})} host(s)."
    columns = ["Host", "Base", "Image Name", "Image ID", "Size", "Result"]
    return Listing(columns, table, footer=footer, exit_code=first_failure([r.exit_code for r in rows]))


@command("image-cache-warm", "images", examples=["image-cache-warm cirros", "image-cache-warm cirros --host compute1 --host compute2"])
@click.argument("image")
@click.option("--host", "hosts", multiple=True, help=HOST_HELP)
@with_output
@pass_app
def image_cache_warm(app: App, image: str, hosts: tuple[str, ...]) -> Listing:
    """Put IMAGE in the hosts' caches before a burst of boots (Nova's image pre-caching)."""
    from novactl import image_cache
    from novactl.images import sendable_image_source

    inventory = app.inventory
    found = inventory.image(image)
    source = sendable_image_source(inventory, found)
    targets = image_cache.select_hosts(inventory, hosts)
    rows = image_cache.warm(inventory, found, source, targets, progress=lambda text: click.echo(text, err=True))
    table = [[r.host, found.name, found.id, r.result] for r in rows]
    return Listing(["Host", "Image Name", "Image ID", "Result"], table, exit_code=first_failure([r.exit_code for r in rows]))
