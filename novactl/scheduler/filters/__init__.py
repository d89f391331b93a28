"""Host filters by Nova's names. A new filter is one module here plus one line in FILTERS."""

from __future__ import annotations

from novactl.errors import UsageError
from novactl.models import SchedulerConfig
from novactl.scheduler.filters.affinity_filter import ServerGroupAffinityFilter
from novactl.scheduler.filters.anti_affinity_filter import ServerGroupAntiAffinityFilter
from novactl.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter
from novactl.scheduler.filters.compute_filter import ComputeFilter
from novactl.scheduler.filters.core_filter import CoreFilter
from novactl.scheduler.filters.different_host_filter import DifferentHostFilter
from novactl.scheduler.filters.disk_filter import DiskFilter
from novactl.scheduler.filters.image_props_filter import ImagePropertiesFilter
from novactl.scheduler.filters.pci_passthrough_filter import PciPassthroughFilter
from novactl.scheduler.filters.ram_filter import RamFilter
from novactl.scheduler.filters.retry_filter import RetryFilter
from novactl.scheduler.filters.same_host_filter import SameHostFilter

FILTERS: dict[str, type[BaseHostFilter]] = {
    cls.__name__: cls
    for cls in (
        RetryFilter,
        AvailabilityZoneFilter,
        RamFilter,
        DiskFilter,
        CoreFilter,
        ComputeFilter,
        ComputeCapabilitiesFilter,
        ImagePropertiesFilter,
        ServerGroupAntiAffinityFilter,
        ServerGroupAffinityFilter,
        SameHostFilter,
        DifferentHostFilter,
        PciPassthroughFilter,
    )
}


def make_filters(names: list[str], config: SchedulerConfig) -> list[BaseHostFilter]:
    """Instantiate the configured filters in order; UsageError names an unknown one."""
    unknown = [name for name in names if name not in FILTERS]
    if unknown:
        raise UsageError(f"unknown scheduler filter {', '.join(map(repr, unknown))} (known: {', '.join(FILTERS)})")
    return [FILTERS[name](config) for name in names]


__all__ = ["FILTERS", "BaseHostFilter", "make_filters"]
