"""RetryFilter: skip hosts already tried for this request (a reschedule after a failed boot)."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec


class RetryFilter(BaseHostFilter):
    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.retry_hosts)  # no retry record: rescheduling is off, as in Nova

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return host_state.host not in spec.retry_hosts

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        tried = set(spec.retry_hosts)
        return [host.host not in tried for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        return f"already tried for this request (previously tried: {', '.join(spec.retry_hosts)})"
