"""Counting the request's server-group members on a host, for the soft-(anti-)affinity weighers.

Acts only when the group has the weigher's policy; other requests weigh every host 0.
"""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.filters.base import group_with_policy
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.weights.base import BaseHostWeigher


class GroupMembersWeigher(BaseHostWeigher):
    policy = ""
    sign = 1

    def applies(self, spec: RequestSpec) -> bool:
        return group_with_policy(spec, self.policy) is not None

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        group = group_with_policy(spec, self.policy)
        if group is None:
            return 0
        return self.sign * sum(1 for uuid in group.members if uuid in host_state.instances)
