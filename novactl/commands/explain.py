"""boot --dry-run: the scheduler's decision, explained (what no peer does well)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novactl.errors import NoValidHost
from novactl.output import Shown, ShowOne

if TYPE_CHECKING:
    from novactl.models import Inventory
    from novactl.pipeline import BootRequest


def dry_run_result(inventory: Inventory, request: BootRequest) -> ShowOne:
    """Per-filter host counts, every rejection with its numbers, the weighed ranking; touches nothing."""
    from novactl.pipeline import dry_run
    from novactl.scheduler.result import no_valid_host_message

    result = dry_run(inventory, request)
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
        "chosen": Shown(result.chosen, result.chosen or "-"),
        "selections": Shown(list(result.selections), ", ".join(result.selections) or "-"),
        "limits": result.limits,
    }
    exit_code = 0 if result.ok else NoValidHost.exit_code
    return ShowOne(fields, footer="\n".join(lines), document=result.to_dict(), exit_code=exit_code)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
