"""boot --dry-run: the scheduler's decision, explained (what no peer does well)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from novactl.errors import NoValidHost
from novactl.output import Shown, ShowOne

if TYPE_CHECKING:
    from novactl.boot_request import BootRequest
    from novactl.models import Inventory


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
            parts = ", ".join(f"{w} raw {_number(weighed.raw[w])}{_unit(w)} -> {weighed.normalized[w]:.3f}" for w in weighed.raw)
            lines.append(f"  {rank}. {weighed.host}: weight {weighed.weight:.3f} ({parts})")
    error = ""
    if not result.ok:  # an error like boot's, on stderr; the filter lines above already explain it
        verdict, *detail = no_valid_host_message(result).splitlines()
        # The filter lines above are the first instance's; a later instance's failure needs its own.
        error = "\n".join([verdict, *detail] if len(result.passes) > 1 else [verdict])
    fields = {
        "chosen": Shown(result.chosen, result.chosen or "-"),
        "selections": Shown(list(result.selections), ", ".join(result.selections) or "-"),
        "limits": result.limits,
    }
    if result.forced:
        fields["forced"] = True
    exit_code = 0 if result.ok else NoValidHost.exit_code
    return ShowOne(fields, footer="\n".join(lines), document=result.to_dict(), exit_code=exit_code, error=error, warnings=result.warnings)


# What each weigher's raw value counts (the normalised value is a fraction of the best host's).
WEIGHER_UNITS = {
    "RAMWeigher": " MB free",
    "DiskWeigher": " MB free",
    "CPUWeigher": " vCPUs free",
    "ServerGroupSoftAffinityWeigher": " members",
    "ServerGroupSoftAntiAffinityWeigher": " members (negated)",
    "ImageLocalityWeigher": " (1 = image cached)",
}


def _unit(weigher: str) -> str:
    return WEIGHER_UNITS.get(weigher, "")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
