"""DiskWeigher: more free disk wins (spreading); a negative disk_weight_multiplier packs instead."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.weights.base import BaseHostWeigher


class DiskWeigher(BaseHostWeigher):
    multiplier_option = "disk_weight_multiplier"
    minval = 0

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return host_state.free_disk_mb
