"""RAMWeigher: more free RAM wins (spreading); a negative ram_weight_multiplier packs instead."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.weights.base import BaseHostWeigher


class RAMWeigher(BaseHostWeigher):
    multiplier_option = "ram_weight_multiplier"
    minval = 0

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return host_state.memory_mb - host_state.memory_mb_used  # free_ram_mb, without the property call
