"""hypervisor-list, hypervisor-show, hypervisor-stats, availability-zone-list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from novactl.commands.common import App, command, complete, down_reasons, pass_app, updated_at, with_output
from novactl.output import Gauge, Listing, Shown, ShowOne

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
        "hypervisor_type": s.hypervisor_type or None,  # a down host never said
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


LONG_COLUMNS = [
    "Hypervisor Type",
    "Host IP",
    "Memory MB Used",
    "Memory MB Limit",
    "vCPUs Used",
    "vCPUs Limit",
    "Local GB Used",
    "Local GB Limit",
]
USAGE_GAUGES = [
    Gauge("RAM", "Memory MB Used", "Memory MB Limit", "MB"),
    Gauge("vCPUs", "vCPUs Used", "vCPUs Limit"),
    Gauge("Disk", "Local GB Used", "Local GB Limit", "GB"),
]


@command("hypervisor-list", "hosts", examples=["hypervisor-list", "hypervisor-list --long", "hypervisor-list --long -f json"])
@click.option("--long", "long_", is_flag=True, help="Add type, address and RAM/vCPU/disk use against the allocation-ratio limits.")
@with_output
@pass_app
def hypervisor_list(app: App, long_: bool) -> Listing:
    """List hypervisors; with --long, their use against the scheduler's limits (bars on a terminal).

    A limit is what the scheduler lets a host take: total x its allocation ratio (RamFilter,
    CoreFilter, DiskFilter). On a terminal the pairs are drawn as bars; -f formats and pipes keep
    the plain numbers.
    """
    states = _poll(app)
    columns = ["ID", "Hypervisor hostname", "State", "Status"]
    rows: list[list[Any]] = [[s.service_id, s.hypervisor_hostname or s.host, s.state, s.status] for s in states]
    if not long_:
        return Listing(columns, rows, footer=down_reasons(states))
    for row, s in zip(rows, states, strict=True):
        row += [s.hypervisor_type or None, s.host_ip or None] + (_usage(s) if s.up else [None] * 6)
    return Listing(columns + LONG_COLUMNS, rows, footer=down_reasons(states), gauges=USAGE_GAUGES)


def _usage(s: HostState) -> list[Any]:
    """Used and limit of RAM (MB), vCPUs and disk (GB), as the capacity filters count them."""
    return [
        s.memory_mb_used,
        _limit(s.memory_mb * s.ram_allocation_ratio),
        s.vcpus_used,
        _limit(s.vcpus * s.cpu_allocation_ratio),
        s.local_gb_used,
        _limit(s.local_gb * s.disk_allocation_ratio),
    ]


def _limit(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 1)


@command("hypervisor-servers", "hosts", examples=["hypervisor-servers compute1", "hypervisor-servers compute -f json"])
@click.argument("hypervisor")
@with_output
@pass_app
def hypervisor_servers(app: App, hypervisor: str) -> Listing:
    """List the servers of the hypervisors whose name contains HYPERVISOR (as Nova's hypervisor-servers)."""
    from novactl.errors import UsageError
    from novactl.poller import poll

    inventory = app.inventory
    names = [h.name for h in inventory.hosts]
    matched = [hypervisor] if hypervisor in names else [n for n in names if hypervisor and hypervisor in n]
    if not matched:
        raise UsageError(f"No hypervisor matching {hypervisor!r} could be found (hypervisors: {', '.join(names)})")
    with poll(inventory, matched) as cluster:
        states = list(cluster.states.values())
        rows = [
            [i.uuid, i.instance_name or i.name, cluster.states[host].hypervisor_hostname or host]
            for host in matched
            for i in sorted(cluster.states[host].instances.values(), key=lambda i: (i.created, i.instance_name or i.name, i.uuid))
        ]
    down = [s for s in states if not s.up]
    return Listing(["ID", "Name", "Hypervisor Hostname"], rows, footer=down_reasons(states), exit_code=1 if down else 0)


@command("hypervisor-show", "hosts", examples=["hypervisor-show compute1", "hypervisor-show compute1 -f json -c free_ram_mb"])
@click.argument("host", shell_complete=complete("hosts"))
@with_output
@pass_app
def hypervisor_show(app: App, host: str) -> ShowOne:
    """Display the details of HOST's hypervisor (a live poll); exit 1 if it cannot be reached."""
    (state,) = _poll(app, host)
    # What is known is still shown, with the reason, but the one host asked for gave no answer: a failure.
    return ShowOne(hypervisor_fields(state), footer=down_reasons([state]), exit_code=0 if state.up else 1)


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
    document = []  # -f json/yaml: Nova's availabilityZoneInfo, not the tree's drawing
    for zone, states in zones.items():
        available = any(s.up and not s.disabled for s in states)
        rows.append([zone, "available" if available else "not available"])
        services = {}
        for s in states:
            rows.append([Shown(s.host, f"|- {s.host}"), ""])
            status = f"{s.status} {':-)' if s.up else 'XXX'} {updated_at(s) or ''}".rstrip()
            rows.append([Shown("nova-compute", "| |- nova-compute"), status])
            services[s.host] = {"nova-compute": {"available": s.up, "active": not s.disabled, "updated_at": updated_at(s)}}
        document.append({"zoneName": zone, "zoneState": {"available": available}, "hosts": services})
    return Listing(["Name", "Status"], rows, document=document)
