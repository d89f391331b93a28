"""boot --dry-run and capacity: the scheduler's decisions, explained (what no peer does well)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from novactl.commands.common import App, pass_app, with_output
from novactl.errors import NoValidHost, UsageError
from novactl.output import Listing, ShowOne

if TYPE_CHECKING:
    from novactl.models import Inventory


def dry_run_result(inventory: Inventory, request) -> ShowOne:
    """Per-filter host counts, every rejection with its numbers, the weighed ranking; touches nothing."""
    from novactl.pipeline import plan, validate

    if not request.image:
        raise UsageError("an image is required (--image)")
    validate(inventory, request, need_image_file=False)  # a plan needs the image's entry, not its file
    from novactl.poller import poll
    from novactl.scheduler.result import no_valid_host_message

    with poll(inventory) as cluster:
        _spec, result = plan(inventory, request, cluster)
    lines = []
    for step in result.filters:
        lines.append(f"Filter {step.name} returned {len(step.passed)} host(s)")
        lines += [f"  {host}: {step.name}: {reason}" for host, reason in step.rejected.items()]
    if result.weighed:
        lines.append("Weighed hosts (best first):")
        for rank, weighed in enumerate(result.weighed, start=1):
            parts = ", ".join(f"{name} raw {_number(weighed.raw[name])} -> {weighed.normalized[name]:.3f}" for name in weighed.raw)
            lines.append(f"  {rank}. {weighed.host}: weight {weighed.weight:.3f} ({parts})")
    if not result.ok:
        verdict, *detail = no_valid_host_message(result).splitlines()
        # The filter lines above are the first instance's; a later instance's failure needs its own.
        lines += [verdict, *detail] if len(result.passes) > 1 else [verdict]
    fields = {
        "chosen": result.chosen or "-",
        "selections": ", ".join(result.selections) or "-",
        "limits": result.limits,
    }
    exit_code = 0 if result.ok else NoValidHost.exit_code
    return ShowOne(fields, footer="\n".join(lines), document=result.to_dict(), exit_code=exit_code)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


@click.command("capacity")
@click.option("--flavor", required=True, help="Name or ID of flavor.")
@click.option("--image", help="Name or ID of image (for ImagePropertiesFilter).")
@click.option("--availability-zone", "zone", help="Only this availability zone.")
@click.option("--hint", "hints", multiple=True, metavar="KEY=VALUE", help="Scheduler hint, e.g. group=G.")
@with_output
@pass_app
def capacity(app: App, flavor: str, image: str | None, zone: str | None, hints: tuple[str, ...]) -> Listing:
    """How many more instances of FLAVOR fit, per host and in total, and what limits each host first."""
    from novactl.commands.servers import parse_hints
    from novactl.commands.services import down_reasons
    from novactl.pipeline import BootRequest, request_spec, validate
    from novactl.poller import poll
    from novactl.scheduler.capacity import capacity as plan_capacity
    from novactl.scheduler.scheduler import Scheduler

    request = BootRequest(name="capacity", flavor=flavor, image=image, availability_zone=zone, hints=parse_hints(hints))
    validate(app.inventory, request, need_image_file=False)
    with poll(app.inventory) as cluster:
        spec = request_spec(app.inventory, request, cluster)
        report = plan_capacity(Scheduler(app.inventory.scheduler), list(cluster.states.values()), spec)
    rows = [[h.host, "unbounded" if h.count is None else h.count, h.limited_by or "-", h.reason] for h in report.hosts]
    rows.append(["(total)", "unbounded" if report.total is None else report.total, "", report.note])
    states = list(cluster.states.values())
    return Listing(["Host", "Instances", "Limited by", "Reason"], rows, footer=down_reasons(states))
