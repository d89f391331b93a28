"""ServerGroupAntiAffinityFilter: at most one member of an anti-affinity group per host."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import BaseHostFilter, group_with_policy
from novactl.scheduler.request import RequestSpec


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    policy = "anti-affinity"

    def applies(self, spec: RequestSpec) -> bool:
        group = group_with_policy(spec, self.policy)
        return group is not None and bool(group.hosts)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        # A move (e.g. resize to the same host) may stay where the instance already is.
        if spec.instance_uuid is not None and spec.instance_uuid in host_state.instances:
            return True
        group = group_with_policy(spec, self.policy)
        return group is None or host_state.host not in group.hosts

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        group = group_with_policy(spec, self.policy)
        if group is None:
            return [True] * len(hosts)
        taken, moving = set(group.hosts), spec.instance_uuid
        return [host.host not in taken or (moving is not None and moving in host.instances) for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        group = spec.instance_group
        return f"server group '{group.name}' (anti-affinity) already has a member on this host" if group else "rejected"
