"""Host weighers by Nova's names. A new weigher is one module here plus one line in WEIGHERS."""

from __future__ import annotations

from novactl.errors import UsageError
from novactl.models import SchedulerConfig
from novactl.scheduler.weights.base import BaseHostWeigher, normalize
from novactl.scheduler.weights.cpu import CPUWeigher
from novactl.scheduler.weights.disk import DiskWeigher
from novactl.scheduler.weights.image_locality import ImageLocalityWeigher
from novactl.scheduler.weights.ram import RAMWeigher
from novactl.scheduler.weights.soft_affinity import ServerGroupSoftAffinityWeigher
from novactl.scheduler.weights.soft_anti_affinity import ServerGroupSoftAntiAffinityWeigher

WEIGHERS: dict[str, type[BaseHostWeigher]] = {
    cls.__name__: cls
    for cls in (
        RAMWeigher,
        DiskWeigher,
        CPUWeigher,
        ServerGroupSoftAffinityWeigher,
        ServerGroupSoftAntiAffinityWeigher,
        ImageLocalityWeigher,
    )
}


def make_weighers(names: list[str], config: SchedulerConfig) -> list[BaseHostWeigher]:
    """Instantiate the configured weighers in order; UsageError names an unknown one."""
    unknown = [name for name in names if name not in WEIGHERS]
    if unknown:
        raise UsageError(f"unknown scheduler weigher {', '.join(map(repr, unknown))} (known: {', '.join(WEIGHERS)})")
    return [WEIGHERS[name](config) for name in names]


__all__ = ["WEIGHERS", "BaseHostWeigher", "make_weighers", "normalize"]
