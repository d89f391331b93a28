"""capacity: how many more instances of a flavor fit, per host and in total (Ganeti's hspace, for Nova)."""

from __future__ import annotations

import click

from novactl.commands.common import App, command, down_reasons, parse_hints, pass_app, with_output
from novactl.output import Listing


@command("capacity", "scheduling", examples=["capacity --flavor m1.small", "capacity --flavor m1.small --hint group=web -f json"])
@click.option("--flavor", required=True, help="Name or ID of flavor.")
@click.option("--image", help="Name or ID of image (for ImagePropertiesFilter).")
@click.option("--availability-zone", "zone", help="Only this availability zone.")
@click.option("--hint", "hints", multiple=True, metavar="KEY=VALUE", help="Scheduler hint, e.g. group=G.")
@with_output
@pass_app
def capacity(app: App, flavor: str, image: str | None, zone: str | None, hints: tuple[str, ...]) -> Listing:
    """How many more instances of FLAVOR fit, per host and in total, and what limits each host first."""
    from novactl import pipeline

    request = pipeline.BootRequest(name="capacity", flavor=flavor, image=image, availability_zone=zone, hints=parse_hints(hints))
    report, states = pipeline.capacity(app.inventory, request)
    rows = [[h.host, "unbounded" if h.count is None else h.count, h.limited_by or "-", h.reason] for h in report.hosts]
    rows.append(["(total)", "unbounded" if report.total is None else report.total, "", report.note])
    return Listing(["Host", "Instances", "Limited by", "Reason"], rows, footer=down_reasons(states))
