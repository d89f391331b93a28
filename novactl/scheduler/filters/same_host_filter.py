"""SameHostFilter: hint `same_host` — only hosts running at least one of the named instances."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter, hinted_uuids
from novactl.scheduler.request import RequestSpec


class SameHostFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def applies(self, spec: RequestSpec) -> bool:
        return bool(hinted_uuids(spec, "same_host"))

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        wanted = hinted_uuids(spec, "same_host")
        return not wanted or not wanted.isdisjoint(host_state.instances)

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        wanted = hinted_uuids(spec, "same_host")
        return [not wanted or not wanted.isdisjoint(host.instances) for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        return f"runs none of the same_host instances {', '.join(sorted(hinted_uuids(spec, 'same_host')))}"
