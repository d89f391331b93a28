"""CPUWeigher (Nova Rocky, backported here): more free vCPUs under the ratio wins."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.weights.base import BaseHostWeigher


class CPUWeigher(BaseHostWeigher):
    multiplier_option = "cpu_weight_multiplier"
    minval = 0

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return host_state.vcpus * host_state.cpu_allocation_ratio - host_state.vcpus_used
