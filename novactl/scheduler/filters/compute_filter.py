"""ComputeFilter: only hosts whose compute service is up and enabled."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec


class ComputeFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.up and not host_state.disabled

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        if host_state.disabled:
            return f"compute service disabled (reason: {host_state.disabled_reason or 'none given'})"
        return f"compute service down: {host_state.down_reason or 'not heard from in a while'}"
