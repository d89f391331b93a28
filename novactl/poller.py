"""Poll every host of a command in parallel: {host: HostState}, a dead host never failing the rest.

Each host gets one connection (its driver) and one daemon thread. Every remote wait below has its own
deadline (SSH connect, libvirt open, libvirt keepalive, shell commands); on top of them the poll waits
for each host at most `poll_deadline` and then abandons its thread, never joining it: a host that
does not answer in time becomes a HostState with `up=False` and the reason, as nova-compute's service
goes down, and the command goes on without it.
The drivers stay open for the rest of the command (claims and spawns reuse the connection) and are
closed when the `Cluster` is.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from novactl.drivers import make_driver
from novactl.drivers.base import ClusterView, ComputeDriver, HostReport
from novactl.errors import HostError, UsageError, unknown
from novactl.hoststate import HostState, InstanceInfo, build_host_state
from novactl.models import HostConfig, Inventory
from novactl.remote import Connection
from novactl.remote.fanout import each_host

LOG = logging.getLogger("novactl.compute.resource_tracker")


@dataclass
class Cluster:
    inventory: Inventory
    states: dict[str, HostState] = field(default_factory=dict)
    reports: dict[str, HostReport] = field(default_factory=dict)
    drivers: dict[str, ComputeDriver] = field(default_factory=dict)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Every host's driver closed at once: a close is a round trip or two (the builder lock's file
        removed, libvirt and SSH closed), and one after another they stretched a multi-create's end.
        A close still running at the poll's deadline is abandoned."""
        each_host(lambda name: self.drivers[name].close(), self.drivers, survey_deadline(self.inventory), "close", expected=HostError)

    @property
    def instances(self) -> list[InstanceInfo]:
        return [i for report in self.reports.values() for i in report.instances]

    def state(self, name: str) -> HostState:
        if name not in self.states:
            raise UsageError(unknown(f"unknown host {name!r} (known: {', '.join(self.states)})", name, self.states))
        return self.states[name]


def poll(inventory: Inventory, only: list[str] | None = None, opener: Callable[[HostConfig], Connection] | None = None) -> Cluster:
    """Poll the inventory's hosts (or the named ones) at once; always returns every asked host.

    `opener`: how the drivers get their connections (default: each opens its own on first use).
    """
    hosts = inventory.hosts if only is None else [inventory.host(name) for name in only]
    cluster = Cluster(inventory)
    if not hosts:
        return cluster
    for host, driver, report_or_error in _poll_all(hosts, inventory, opener):
        cluster.drivers[host.name] = driver
        if isinstance(report_or_error, HostReport):
            cluster.reports[host.name] = report_or_error
            state = _host_state(host, inventory, report_or_error)
        else:
            state = HostState(host=host.name, zone=host.zone, up=False, down_reason=report_or_error, host_ip=host.address)
            LOG.info("Compute host %s is down: %s", host.name, report_or_error)
        state.service_id = inventory.hosts.index(host) + 1  # stable across polls of any subset, as Nova's service ids
        state.updated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        cluster.states[host.name] = state
    return cluster


def survey(cluster: Cluster, ask_down: bool = False) -> ClusterView:
    """Every answering host's domains and builds in flight; a host whose survey fails counts as down.

    `ask_down`: the hosts the poll saw down are asked too. A poll's deadline also passes on a host that
    is only slow (a loaded machine), and reclaiming fixed IPs needs every host: one that answers now
    counts as surveyed, one that does not stays down. Each host has the poll's deadline, its
    reconnection included, so a survey under the IPAM lock ends within that.
    """
    view = ClusterView(down=[] if ask_down else [name for name, state in cluster.states.items() if not state.up])
    asked = [name for name in cluster.states if name not in view.down]
    if not asked:
        return view
    deadline = survey_deadline(cluster.inventory)
    for name, found in each_host(lambda name: cluster.drivers[name].survey(), asked, deadline, "survey", expected=HostError).items():
        if isinstance(found, HostError):
            LOG.warning("%s: survey failed: %s", name, found.reason)
            view.down.append(name)
            continue
        for uuid in found.domains:
            if uuid in view.domains:
                view.copies.setdefault(uuid, {view.domains[uuid]}).add(name)
        view.domains.update(dict.fromkeys(found.domains, name))
        view.live_claims |= found.live_claims
        view.directories |= found.directories
    return view


def poll_deadline(host: HostConfig) -> float:
    """How long a poll waits for a host at most: a backstop for a wait no inner deadline covers.

    A host that stops answering is caught sooner, in about 2x connect_timeout, by those deadlines
    (SSH connect, libvirt open, libvirt keepalive). This one is wider because on a swamped machine
    (load 50 on 2 cores, seen while testing) a healthy host's poll took over 11 s of wall time.
    """
    return 4 * host.connect_timeout + 10


def survey_deadline(inventory: Inventory) -> Callable[[str], float]:
    """How long a fan-out after the poll (a survey, learning addresses) waits for a host: as the poll."""
    return lambda name: poll_deadline(inventory.host(name))


def _poll_all(
    hosts: list[HostConfig], inventory: Inventory, opener: Callable[[HostConfig], Connection] | None
) -> list[tuple[HostConfig, ComputeDriver, HostReport | str]]:
    """Each host in its own daemon thread; a host whose thread misses its deadline is down, its thread abandoned."""
    by_name = {host.name: host for host in hosts}
    outcomes = each_host(
        lambda name: _poll_one(by_name[name], inventory, opener), by_name, lambda name: poll_deadline(by_name[name]), "poll"
    )
    polled = []
    for host in hosts:
        outcome = outcomes[host.name]  # _poll_one's own tuple, or why its thread gave none (NoAnswer)
        polled.append(outcome if isinstance(outcome, tuple) else (host, make_driver(host, inventory), _reason(outcome)))
    return polled


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, HostError) else f"{type(exc).__name__}: {exc}"


def _poll_one(
    host: HostConfig, inventory: Inventory, opener: Callable[[HostConfig], Connection] | None
) -> tuple[HostConfig, ComputeDriver, HostReport | str]:
    driver = make_driver(host, inventory, opener)
    started = time.monotonic()
    try:
        report: HostReport | str = driver.poll()
    except Exception as exc:  # one host's surprise must never abort the poll of the others
        LOG.debug("Polling %s failed", host.name, exc_info=True)
        report = _reason(exc)
        driver.close()
    LOG.debug("Polled %s in %.3f s", host.name, time.monotonic() - started)
    return host, driver, report


def _host_state(host: HostConfig, inventory: Inventory, report: HostReport) -> HostState:
    sched = inventory.scheduler
    state = build_host_state(
        host.name,
        host.zone,
        report.node,
        report.instances,
        sched.reserved_host_memory_mb,
        sched.reserved_host_disk_mb,
        disabled=report.disabled,
        disabled_reason=report.disabled_reason,
        capabilities=dict(host.capabilities),
        cached_images=report.cached_images,
        ram_allocation_ratio=host.ram_allocation_ratio or sched.ram_allocation_ratio,
        cpu_allocation_ratio=host.cpu_allocation_ratio or sched.cpu_allocation_ratio,
        disk_allocation_ratio=host.disk_allocation_ratio or sched.disk_allocation_ratio,
    )
    LOG.debug(
        "Final resource view: name=%s phys_ram=%dMB used_ram=%dMB phys_disk=%dGB used_disk=%dGB total_vcpus=%d used_vcpus=%d",
        host.name,
        state.memory_mb,
        state.memory_mb_used,
        state.local_gb,
        state.local_gb_used,
        state.vcpus,
        state.vcpus_used,
    )
    return state
