"""CoreFilter: enough vCPUs under cpu_allocation_ratio; records the limit for the claim."""

from __future__ import annotations

import logging

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import ResourceFilter
from novactl.scheduler.request import RequestSpec

LOG = logging.getLogger("novactl.scheduler")


class CoreFilter(ResourceFilter):
    resource = "vcpu"
    limit_key = "vcpu"

    def requested(self, spec: RequestSpec) -> int:
        return spec.flavor.vcpus

    def limit(self, host_state: HostState) -> float | None:
        # Only a host that reports its vCPUs gets a limit (Nova: XenServer did not report them).
        limit = host_state.vcpus * host_state.cpu_allocation_ratio
        return limit if limit > 0 else None

    def fits(self, host_state: HostState, requested: int) -> bool:
        total = host_state.vcpus
        if not total:
            # Nova's fail-safe: a host reporting no vCPUs has broken CPU collection; don't block it.
            LOG.warning("%s: VCPUs not set; assuming CPU collection broken", host_state.host)
            return True
        limit = total * host_state.cpu_allocation_ratio
        if limit > 0 and requested > total:  # no overcommit against itself
            return False
        return limit - host_state.vcpus_used >= requested

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        # Nova records the vCPU limit before testing, so even a host it rejects carries it.
        self.record_limit(host_state)
        return self.fits(host_state, self.requested(spec))

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        requested = self.requested(spec)
        total = host_state.vcpus_total
        if requested > total:
            return f"needs {requested} vCPU, host has only {total} physical vCPU (no overcommit against itself)"
        ratio = host_state.cpu_allocation_ratio
        usable = total * ratio - host_state.vcpus_used
        return f"needs {requested} vCPU, usable {usable:g} (total {total} × {ratio:g} − used {host_state.vcpus_used})"
