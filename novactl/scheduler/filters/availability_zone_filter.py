"""AvailabilityZoneFilter: only hosts in the requested availability zone."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec


class AvailabilityZoneFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.availability_zone)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        # A host has exactly one zone here (the inventory's), where Nova read it from aggregates.
        return not spec.availability_zone or host_state.zone == spec.availability_zone

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        zone = spec.availability_zone
        return [not zone or host.zone == zone for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        return f"in availability zone '{host_state.zone}', requested '{spec.availability_zone}'"
