"""Nova's FilterScheduler run locally: filters, weighers, the request loop, and capacity."""

from novactl.scheduler.capacity import CapacityReport, HostCapacity, capacity
from novactl.scheduler.request import InstanceGroup, RequestSpec
from novactl.scheduler.result import FilterStep, SchedulingResult, WeighedHostInfo, no_valid_host_message
from novactl.scheduler.scheduler import Scheduler

__all__ = [
    "CapacityReport",
    "FilterStep",
    "HostCapacity",
    "InstanceGroup",
    "RequestSpec",
    "Scheduler",
    "SchedulingResult",
    "WeighedHostInfo",
    "capacity",
    "no_valid_host_message",
]
