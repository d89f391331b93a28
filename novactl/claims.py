"""Nova's resource claim test, run on a host's freshly read usage while its host lock is held.

The numbers come from the host itself at claim time (its domains plus the live claims of boots in
flight), the limits from the filters that chose it (RamFilter, DiskFilter, CoreFilter). A resource
whose filter did not run has no limit, as in Nova ("... limit not specified, defaulting to unlimited").
"""

from __future__ import annotations

import logging

from novactl.errors import HostError
from novactl.hoststate import HostState
from novactl.models import Flavor

LOG = logging.getLogger("novactl.compute.claims")


class ClaimFailed(HostError):
    """The host no longer has room: another boot won the race. Reschedule; not a host fault."""


def check_claim(state: HostState, flavor: Flavor, limits: dict[str, float]) -> None:
    """Raise ClaimFailed naming every resource that no longer fits; log Nova's claim lines."""
    disk_gb = flavor.disk + flavor.ephemeral
    LOG.debug("Attempting claim on node %s: memory %d MB, disk %d GB, vcpus %d CPU", state.host, flavor.ram, disk_gb, flavor.vcpus)
    reasons = [
        reason
        for reason in (
            _test("memory", "MB", state.memory_mb, state.memory_mb_used, limits.get("memory_mb"), flavor.ram),
            _test("disk", "GB", state.local_gb, state.local_gb_used, limits.get("disk_gb"), disk_gb),
            _test("vcpu", "VCPU", state.vcpus, state.vcpus_used, limits.get("vcpu"), flavor.vcpus),
        )
        if reason
    ]
    if reasons:
        message = "; ".join(reasons)
        LOG.debug("Claim failed on node %s: %s", state.host, message)
        raise ClaimFailed(state.host, f"Insufficient compute resources: {message}.")
    LOG.debug("Claim successful on node %s", state.host)


def _test(name: str, unit: str, total: int, used: int, limit: float | None, requested: int) -> str | None:
    LOG.debug("Total %s: %d %s, used: %.2f %s", name, total, unit, used, unit)
    if limit is None:
        LOG.debug("%s limit not specified, defaulting to unlimited", name)
        return None
    free = limit - used
    LOG.debug("%s limit: %.2f %s, free: %.2f %s", name, limit, unit, free, unit)
    if requested > free:
        return f"Free {name} {free:.2f} {unit} < requested {requested} {unit}"
    return None
