"""DiskFilter: enough local disk under disk_allocation_ratio; records the limit for the claim."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import ResourceFilter
from novactl.scheduler.request import RequestSpec


class DiskFilter(ResourceFilter):
    resource = "disk"
    limit_key = "disk_gb"

    def requested(self, spec: RequestSpec) -> int:
        return spec.flavor.disk_mb_requested

    def limit(self, host_state: HostState) -> float:
        return host_state.local_gb * host_state.disk_allocation_ratio  # GB, as Nova's limits['disk_gb']

    def fits(self, host_state: HostState, requested: int) -> bool:
        total_mb = host_state.local_gb * 1024
        # used = total − free_disk_mb rather than local_gb_used: free_disk_mb also honours
        # disk_available_least (what overcommitted images may still grow into).
        return total_mb >= requested and total_mb * host_state.disk_allocation_ratio - (total_mb - host_state.free_disk_mb) >= requested

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        flavor = spec.flavor
        requested = self.requested(spec)
        asked = f"needs {requested} MB (root {flavor.disk} GB + ephemeral {flavor.ephemeral} GB + swap {flavor.swap} MB)"
        total_mb = host_state.total_usable_disk_gb * 1024
        if total_mb < requested:
            return f"{asked}, host has only {total_mb} MB of disk (no overcommit against itself)"
        ratio = host_state.disk_allocation_ratio
        used_mb = total_mb - host_state.free_disk_mb
        usable = total_mb * ratio - used_mb
        note = ""
        if host_state.disk_available_least is not None and host_state.disk_available_least < host_state.free_disk_gb:
            note = f"; used counts disk_available_least {host_state.disk_available_least} GB"
        return f"{asked}, usable {usable:g} MB (total {total_mb} MB × {ratio:g} − used {used_mb} MB{note})"
