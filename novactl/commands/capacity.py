"""capacity: how many more instances of a flavor fit, per host and in total (Ganeti's hspace, for Nova)."""

from __future__ import annotations

import click

from novactl.commands.common import App, absent, command, complete, down_reasons, parse_hints, pass_app, with_output
from novactl.output import Listing, Shown

# Each host's headroom now (scheduler/capacity.py's headroom), in units the column names give.
HEADROOM = {
    "allocatable_ram_mb": "Allocatable RAM MB",
    "free_ram_mb": "Free RAM MB",
    "allocatable_vcpus": "Allocatable vCPUs",
    "free_vcpus": "Free vCPUs",
    "allocatable_disk_gb": "Allocatable disk GB",
    "free_disk_gb": "Free disk GB",
}
COLUMNS = ["Host", "Instances", "Limited by", *HEADROOM.values(), "Reason"]


@command("capacity", "scheduling", examples=["capacity --flavor m1.small", "capacity --flavor m1.small --hint group=web -f json"])
@click.option("--flavor", required=True, shell_complete=complete("flavors"), help="Name or ID of flavor.")
@click.option("--image", shell_complete=complete("images"), help="Name or ID of image (for ImagePropertiesFilter).")
@click.option("--availability-zone", "zone", help="Only this availability zone.")
@click.option(
    "--hint", "hints", multiple=True, shell_complete=complete("group-hint"), metavar="KEY=VALUE", help="Scheduler hint, e.g. group=G."
)
@with_output
@pass_app
def capacity(app: App, flavor: str, image: str | None, zone: str | None, hints: tuple[str, ...]) -> Listing:
    """How many more instances of FLAVOR fit, per host and in total, and what limits each host first."""
    from novactl import pipeline

    request = pipeline.BootRequest(name="capacity", flavor=flavor, image=image, availability_zone=zone, hints=parse_hints(hints))
    report, states = pipeline.capacity(app.inventory, request)
    rows = [
        [
            h.host,
            Shown(h.count, "unbounded" if h.count is None else str(h.count)),
            absent(h.limited_by),
            *(h.headroom[key] for key in HEADROOM),
            _after(h.count, h.reason),
        ]
        for h in report.hosts
    ]
    total = ["(total)", Shown(report.total, "unbounded" if report.total is None else str(report.total)), "", *[""] * len(HEADROOM)]
    notes = [[*total, report.note]]
    document = report.to_dict()  # -f json/yaml: the total is a field, not a row
    for host in document["hosts"]:
        host["reason"] = _after(host["count"], host["reason"])
    return Listing(COLUMNS, rows, footer=down_reasons(states), notes=notes, document=document)


def _after(count: int | None, reason: str) -> str:
    """The rejection describes the host once filled: say so, or it reads as the host's state now."""
    if not count or not reason:  # none fit (or unbounded): the reason is the host's state now
        return reason
    return f"after {count} more: {reason}"
