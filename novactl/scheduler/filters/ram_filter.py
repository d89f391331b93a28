"""RamFilter: enough RAM under ram_allocation_ratio; records the limit the compute claim tests against."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import ResourceFilter
from novactl.scheduler.request import RequestSpec


class RamFilter(ResourceFilter):
    resource = "ram"
    limit_key = "memory_mb"

    def requested(self, spec: RequestSpec) -> int:
        return spec.flavor.ram

    def limit(self, host_state: HostState) -> float:
        return host_state.memory_mb * host_state.ram_allocation_ratio

    def fits(self, host_state: HostState, requested: int) -> bool:
        total = host_state.memory_mb
        # An instance may overcommit against other instances, never against itself; then
        # usable = total × ratio − used, where used = total − free_ram_mb = memory_mb_used.
        return total >= requested and total * host_state.ram_allocation_ratio - host_state.memory_mb_used >= requested

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        requested = self.requested(spec)
        total = host_state.total_usable_ram_mb
        if total < requested:
            return f"needs {requested} MB, host has only {total} MB of RAM (no overcommit against itself)"
        ratio = host_state.ram_allocation_ratio
        used = total - host_state.free_ram_mb
        return f"needs {requested} MB, usable {total * ratio - used:g} MB (total {total} MB × {ratio:g} − used {used} MB)"
