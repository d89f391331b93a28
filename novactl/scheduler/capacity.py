"""How many more instances of a flavor fit: per host, and in total for successive placements.

Simulates rather than computes: each host (a copy) takes instance after instance through the
scheduler's own filters and `consume` until a filter says no, so ratios, reservations,
disk_available_least, PCI devices and group policies count exactly as they do in `select`.
Hosts are independent under every filter except the affinity family, handled here:
anti-affinity lets a host take one member only if it has none yet (the filter sees the group's
hosts grow), and affinity with no member yet means every instance follows the first pick.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from novactl.hoststate import HostState
from novactl.scheduler import pci
from novactl.scheduler.filters.base import ResourceFilter
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.scheduler import Chooser, Scheduler

HEADROOM_KEYS = ("allocatable_ram_mb", "free_ram_mb", "allocatable_vcpus", "free_vcpus", "allocatable_disk_gb", "free_disk_gb")

# A host still taking instances after this many is reported as unbounded (no capacity filter limits it).
MAX_PER_HOST = 10_000


@dataclass
class HostCapacity:
    host: str
    count: int | None  # more instances this host takes on its own; None = unbounded
    limited_by: str | None  # ram | disk | vcpu | the rejecting filter's name; None when unbounded
    reason: str = ""  # the rejection that stopped it (after `count` more), with its numbers
    # Now, before any placement: allocatable (total × allocation ratio) and free (allocatable − used)
    # RAM in MB, vCPUs and disk in GB, as RamFilter, CoreFilter and DiskFilter count them.
    headroom: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "count": self.count, "limited_by": self.limited_by, "reason": self.reason, **self.headroom}


@dataclass
class CapacityReport:
    flavor: str
    hosts: list[HostCapacity] = field(default_factory=list)
    total: int | None = 0  # instances successive `select` calls would place; None = unbounded
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"flavor": self.flavor, "total": self.total, "note": self.note or None, "hosts": [h.to_dict() for h in self.hosts]}


def headroom(h: HostState) -> dict[str, float | None]:
    """What the host can still give, by the capacity filters' own arithmetic (used includes reserved);
    None for a down host, whose resources are unknown."""
    if not h.up:
        return dict.fromkeys(HEADROOM_KEYS)
    ram = h.memory_mb * h.ram_allocation_ratio
    vcpus = h.vcpus * h.cpu_allocation_ratio
    disk = h.local_gb * h.disk_allocation_ratio
    used_disk_gb = h.local_gb - h.free_disk_mb / 1024  # honours disk_available_least, as DiskFilter
    return {
        "allocatable_ram_mb": _exact(ram),
        "free_ram_mb": _exact(ram - h.memory_mb_used),
        "allocatable_vcpus": _exact(vcpus),
        "free_vcpus": _exact(vcpus - h.vcpus_used),
        "allocatable_disk_gb": _exact(disk),
        "free_disk_gb": _exact(disk - used_disk_gb),
    }


def _exact(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 3)


def _copy_host(host_state: HostState) -> HostState:
    # Only what placements change is copied; the rest (cpu_info, supported_instances) is shared.
    return replace(host_state, instances=dict(host_state.instances), limits={}, pci_devices=list(host_state.pci_devices))


def _copy_spec(spec: RequestSpec) -> RequestSpec:
    return replace(spec, num_instances=1, instance_group=copy.deepcopy(spec.instance_group))


def _limit_name(scheduler: Scheduler, filter_name: str) -> str:
    for filt in scheduler.filters:
        if filt.name == filter_name and isinstance(filt, ResourceFilter):
            return filt.resource
    return filter_name


def host_capacity(scheduler: Scheduler, host_state: HostState, spec: RequestSpec) -> HostCapacity:
    """Fill a copy of one host, one instance at a time, until a filter rejects it."""
    host_copy, spec_copy = _copy_host(host_state), _copy_spec(spec)
    pci_requests = pci.requests_for(spec.flavor, scheduler.config.pci_alias)
    for count in range(MAX_PER_HOST):
        survivors, steps = scheduler.filter_hosts([host_copy], spec_copy, explain=False)
        if not survivors:
            step = steps[-1]
            return HostCapacity(host_state.host, count, _limit_name(scheduler, step.name), step.rejected[host_state.host])
        scheduler.consume(host_copy, spec_copy, pci_requests)
    return HostCapacity(host_state.host, None, None, f"still taking instances after {MAX_PER_HOST}")


def capacity(scheduler: Scheduler, hosts: list[HostState], spec: RequestSpec, rng: Chooser | None = None) -> CapacityReport:
    """Per host and in total, how many more instances of spec.flavor fit. Nothing passed in is changed."""
    report = CapacityReport(spec.flavor.name)
    _fill(report, scheduler, hosts, spec, rng)
    by_name = {h.host: h for h in hosts}
    for host in report.hosts:
        host.headroom = headroom(by_name[host.host])
    return report


def _fill(report: CapacityReport, scheduler: Scheduler, hosts: list[HostState], spec: RequestSpec, rng: Chooser | None) -> None:
    candidates, pre_steps = scheduler.candidates(hosts, spec)
    kept = {id(h) for h in candidates}
    for step in pre_steps:
        report.hosts.extend(HostCapacity(name, 0, step.name, why) for name, why in step.rejected.items())
    if spec.force_hosts:
        # As in select: forced hosts skip every filter, so nothing bounds them.
        report.hosts.extend(HostCapacity(h.host, None, None, "force_hosts bypasses the filters") for h in candidates)
        report.total = None if candidates else 0
        report.note = "force_hosts bypasses every filter, as in Nova"
        return
    per_host = [host_capacity(scheduler, h, spec) for h in hosts if id(h) in kept]
    report.hosts.extend(per_host)
    report.hosts.sort(key=lambda h: h.host)
    group = spec.instance_group
    if group is not None and group.policy == "affinity" and not group.hosts:
        # The first placement decides the host of every later one: ask select where it would go.
        first = scheduler.select([_copy_host(h) for h in candidates], _copy_spec(spec), rng=rng).chosen
        report.total = next((h.count for h in per_host if h.host == first), 0)
        report.note = f"affinity group '{group.name}' has no member yet: all instances follow the first, on {first or 'no host'}"
    elif any(h.count is None for h in per_host):
        report.total = None
    else:
        report.total = sum(h.count or 0 for h in per_host)
