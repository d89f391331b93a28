"""DifferentHostFilter: hint `different_host` — only hosts running none of the named instances."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter, hinted_uuids
from novactl.scheduler.request import RequestSpec


class DifferentHostFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def applies(self, spec: RequestSpec) -> bool:
        return bool(hinted_uuids(spec, "different_host"))

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return hinted_uuids(spec, "different_host").isdisjoint(host_state.instances)

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        unwanted = hinted_uuids(spec, "different_host")
        return [unwanted.isdisjoint(host.instances) for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        present = sorted(hinted_uuids(spec, "different_host").intersection(host_state.instances))
        return f"runs different_host instance(s) {', '.join(present)}"
