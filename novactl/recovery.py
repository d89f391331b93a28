"""Recovery after a crash: `cleanup` (what dead commands left on hosts) and `reset-state` (Nova's).

cleanup: poll the cluster, survey every host that answers (its novactl domains, its builds in flight),
then clean the asked hosts in parallel, each under its own host lock (drivers/libvirt/leftovers.py).
A host that is down is reported and makes the command fail: nothing there can be judged.

reset-state: as `nova reset-state`, set vm_state ERROR (or ACTIVE) and clear task_state, stored where
every poll reads it (the domain's novactl metadata). It changes no guest and no resource.
"""

from __future__ import annotations

import logging

from novactl import fixed_ips
from novactl.drivers.base import Leftover
from novactl.errors import EXIT_FAILED, HostError, NovactlError
from novactl.lifecycle import Outcome, find
from novactl.models import HostConfig, Inventory
from novactl.poller import poll, poll_deadline, survey
from novactl.remote.fanout import each_host

LOG = logging.getLogger("novactl.compute.manager")


def cleanup(inventory: Inventory, hosts: list[str], dry_run: bool) -> tuple[list[tuple[str, Leftover]], int]:
    """(host, leftover) rows for HOSTS (default: all) and the exit code: 1 if a host could not be cleaned."""
    asked = [inventory.host(name).name for name in hosts] if hosts else [h.name for h in inventory.hosts]
    rows: list[tuple[str, Leftover]] = []
    code = 0
    with poll(inventory) as cluster:
        view = survey(cluster)
        up = [name for name in asked if name not in view.down]
        for name in asked:
            if name in view.down:
                rows.append((name, Leftover("host", name, f"not cleaned: down ({cluster.states[name].down_reason})")))
                code = EXIT_FAILED
        if up:

            def clean(name: str) -> list[Leftover]:
                return cluster.drivers[name].clean_up(lambda: survey(cluster), view, dry_run)

            outcomes = each_host(clean, up, lambda name: cleanup_deadline(inventory.host(name)), "cleanup", expected=HostError)
            for name, found in outcomes.items():
                if isinstance(found, HostError):
                    LOG.error("%s: cleanup failed: %s", name, found.reason)
                    rows.append((name, Leftover("host", name, f"not cleaned: {found.reason}")))
                    code = EXIT_FAILED
                else:
                    rows += [(name, leftover) for leftover in found]
        if not view.down:  # a lease is reclaimed only when every host could say who holds its address
            rows += [(name, leftover) for name, leftover in fixed_ips.reclaim(cluster, dry_run) if name in asked]
    return rows, code


def cleanup_deadline(host: HostConfig) -> float:
    """How long cleanup waits for a host: its lock, a survey, and every leftover's removal, each
    under its own deadline; this is the backstop, a few polls' worth."""
    return 4 * poll_deadline(host)


def reset_state(inventory: Inventory, names: list[str], active: bool) -> list[Outcome]:
    """Nova's reset-state on every named instance (all resolved first); one failing does not stop the rest."""
    vm_state = "active" if active else "error"
    with poll(inventory) as cluster:
        targets = [find(cluster, name) for name in names]
        outcomes = []
        for instance in targets:
            instance.vm_state, instance.task_state = vm_state, None
            try:
                cluster.drivers[instance.host].save_state(instance)
                LOG.info("[instance: %s] vm_state reset to %s", instance.uuid, vm_state)
                outcomes.append(Outcome(instance, f"vm_state {vm_state}, task_state cleared"))
            except NovactlError as exc:
                outcomes.append(Outcome(instance, f"ERROR: {exc}", exc.exit_code))
    return outcomes
