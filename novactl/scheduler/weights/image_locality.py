"""ImageLocalityWeigher (novactl's own): prefer hosts whose image cache already holds the image,
saving the copy to _base. Off by default (image_locality_weight_multiplier = 0)."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.weights.base import BaseHostWeigher


class ImageLocalityWeigher(BaseHostWeigher):
    multiplier_option = "image_locality_weight_multiplier"
    default_multiplier = 0.0

    def applies(self, spec: RequestSpec) -> bool:
        return spec.image is not None and self.multiplier() != 0

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        return 1.0 if spec.image is not None and spec.image.id in host_state.cached_images else 0.0
