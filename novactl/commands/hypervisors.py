"""hypervisor-list, hypervisor-show, hypervisor-stats, availability-zone-list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from novactl.commands.common import App, command, down_reasons, pass_app, updated_at, with_output
from novactl.output import Listing, ShowOne

if TYPE_CHECKING:
    from novactl.hoststate import HostState

STAT_KEYS = [
    "current_workload",
    "disk_available_least",
    "free_disk_gb",
    "free_ram_mb",
    "local_gb",
    "local_gb_used",
    "memory_mb",
    "memory_mb_used",
    "running_vms",
    "vcpus",
    "vcpus_used",
]


def _poll(app: App, host: str | None = None) -> list[HostState]:
    from novactl.poller import poll

    with poll(app.inventory, None if host is None else [host]) as cluster:  # "" is a host name, unknown
        return list(cluster.states.values())


def hypervisor_fields(s: HostState) -> dict[str, Any]:
    """Nova's os-hypervisors detail keys, plus the allocation ratios the scheduler applies."""
    return {
        "cpu_info": s.cpu_info,
        "current_workload": sum(1 for i in s.instances.values() if i.task_state),
        "disk_available_least": s.disk_available_least if s.disk_available_least is not None else s.free_disk_gb,
        "free_disk_gb": s.free_disk_gb,
        "free_ram_mb": s.free_ram_mb,
        "host_ip": s.host_ip,
        "hypervisor_hostname": s.hypervisor_hostname or s.host,
        "hypervisor_type": s.hypervisor_type,
        "hypervisor_version": s.hypervisor_version,
        "id": s.service_id,
        "local_gb": s.local_gb,
        "local_gb_used": s.local_gb_used,
        "memory_mb": s.memory_mb,
        "memory_mb_used": s.memory_mb_used,
        "running_vms": s.running_vms,
        "service_disabled_reason": s.disabled_reason,
        "service_host": s.host,
        "service_id": s.service_id,
        "state": s.state,
        "status": s.status,
        "vcpus": s.vcpus,
        "vcpus_used": s.vcpus_used,
        "ram_allocation_ratio": s.ram_allocation_ratio,
        "cpu_allocation_ratio": s.cpu_allocation_ratio,
        "disk_allocation_ratio": s.disk_allocation_ratio,
        "updated_at": updated_at(s),
    }


@command("hypervisor-list", "hosts", examples=["hypervisor-list"])
@with_output
@pass_app
def hypervisor_list(app: App) -> Listing:
    """List hypervisors."""
    states = _poll(app)
    rows = [[s.service_id, s.hypervisor_hostname or s.host, s.state, s.status] for s in states]
    return Listing(["ID", "Hypervisor hostname", "State", "Status"], rows, footer=down_reasons(states))


@command("hypervisor-show", "hosts", examples=["hypervisor-show compute1", "hypervisor-show compute1 -f json -c free_ram_mb"])
@click.argument("host")
@with_output
@pass_app
def hypervisor_show(app: App, host: str) -> ShowOne:
    """Display the details of HOST's hypervisor (a live poll)."""
    (state,) = _poll(app, host)
    return ShowOne(hypervisor_fields(state), footer=down_reasons([state]))


@command("hypervisor-stats", "hosts", examples=["hypervisor-stats"])
@with_output
@pass_app
def hypervisor_stats(app: App) -> ShowOne:
    """Sum of the up hypervisors' statistics."""
    up = [hypervisor_fields(s) for s in _poll(app) if s.up]
    totals = {"count": len(up), **{k: sum(h[k] for h in up) for k in STAT_KEYS}}
    return ShowOne(totals)


@command("availability-zone-list", "scheduling", examples=["availability-zone-list"])
@with_output
@pass_app
def availability_zone_list(app: App) -> Listing:
    """List availability zones as Nova's tree: zone, its hosts, their nova-compute service."""
    zones: dict[str, list[HostState]] = {}
    for state in _poll(app):
        zones.setdefault(state.zone, []).append(state)
    rows: list[list[Any]] = []
    for zone, states in zones.items():
        available = any(s.up and not s.disabled for s in states)
        rows.append([zone, "available" if available else "not available"])
        for s in states:
            rows.append([f"|- {s.host}", ""])
            rows.append(["| |- nova-compute", f"{s.status} {':-)' if s.up else 'XXX'} {updated_at(s)}"])
    return Listing(["Name", "Status"], rows)
