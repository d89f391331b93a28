"""The weigher contract and Nova's normalisation (nova/weights.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from novactl.hoststate import HostState
from novactl.models import SchedulerConfig
from novactl.scheduler.request import RequestSpec


def normalize(values: Sequence[float], minval: float | None = None, maxval: float | None = None) -> list[float]:
    """Scale values into [0, 1] between minval and maxval (default: their min and max); all equal -> 0s."""
    if not values:
        return []
    low = float(min(values) if minval is None else minval)
    high = float(max(values) if maxval is None else maxval)
    if low == high:
        return [0.0] * len(values)
    span = high - low
    return [(value - low) / span for value in values]


class BaseHostWeigher:
    """Returns a RAW number per host (higher wins); the scheduler normalises and applies the multiplier."""

    name: ClassVar[str] = ""
    multiplier_option: ClassVar[str] = ""  # the SchedulerConfig field holding this weigher's multiplier
    default_multiplier: ClassVar[float] = 1.0
    # Nova's preset bounds: a raw value beyond them widens the range (as BaseWeigher.weigh_objects
    # does), so e.g. RAMWeigher's minval = 0 scales free RAM from 0, not from the emptiest host.
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    def __init__(self, config: SchedulerConfig):
        self.config = config

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__

    def multiplier(self) -> float:
        return float(getattr(self.config, self.multiplier_option, self.default_multiplier))

    def applies(self, spec: RequestSpec) -> bool:
        """False when every host would weigh the same for this request (normalised to 0, skipped)."""
        return True

    def weigh(self, host_state: HostState, spec: RequestSpec) -> float:
        raise NotImplementedError

    def weigh_all(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        weigh = self.weigh
        return [weigh(host, spec) for host in hosts]

    def bounds(self, raw: list[float]) -> tuple[float, float]:
        """(min, max) for normalisation: the preset bounds widened by the raw values."""
        low, high = min(raw), max(raw)
        if self.minval is not None:
            low = min(low, self.minval)
        if self.maxval is not None:
            high = max(high, self.maxval)
        return low, high
