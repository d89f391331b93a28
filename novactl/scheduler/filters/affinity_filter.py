"""ServerGroupAffinityFilter: every member of an affinity group on the same host."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter, group_with_policy
from novactl.scheduler.request import RequestSpec


class ServerGroupAffinityFilter(BaseHostFilter):
    policy = "affinity"

    def applies(self, spec: RequestSpec) -> bool:
        # A group with no members yet may start anywhere.
        group = group_with_policy(spec, self.policy)
        return group is not None and bool(group.hosts)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        group = group_with_policy(spec, self.policy)
        return group is None or not group.hosts or host_state.host in group.hosts

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        group = group_with_policy(spec, self.policy)
        if group is None or not group.hosts:
            return [True] * len(hosts)
        members_on = set(group.hosts)
        return [host.host in members_on for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        group = spec.instance_group
        if group is None:
            return "rejected"
        return f"server group '{group.name}' (affinity) has its members on {', '.join(sorted(set(group.hosts)))}"
