"""Crash recovery: cleanup (what dead commands left on hosts) and reset-state (Nova's)."""

from __future__ import annotations

import click

from novactl.commands.common import App, command, outcomes_listing, pass_app, with_output
from novactl.output import Listing


@command("cleanup", "hosts", examples=["cleanup --dry-run", "cleanup compute1"])
@click.argument("hosts", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Report what would be removed or restored; change nothing.")
@with_output
@pass_app
def cleanup(app: App, hosts: tuple[str, ...], dry_run: bool) -> Listing:
    """Remove what killed novactl commands left on HOSTS (default: all); never a build in flight.

    Claims and lock files of dead processes, half-sent base images, instance directories without a
    domain, domains stuck in BUILD, taps and bridges nothing uses. A directory that may be an
    instance's only copy is defined again rather than removed. Exit code 1 if a host could not be
    cleaned (down, or a step failed).
    """
    from novactl import recovery

    rows, code = recovery.cleanup(app.inventory, list(hosts), dry_run)
    table = [[host, found.kind, found.name, found.action] for host, found in rows]
    footer = "" if rows else "Nothing to clean up."
    return Listing(["Host", "Kind", "Name/Path", "Action"], table, footer=footer, exit_code=code)


@command("reset-state", "servers", examples=["reset-state web1", "reset-state --active web1 web2"])
@click.argument("servers", nargs=-1, required=True)
@click.option("--active", is_flag=True, help="Set vm_state ACTIVE instead of ERROR.")
@with_output
@pass_app
def reset_state(app: App, servers: tuple[str, ...], active: bool) -> Listing:
    """Reset servers' state as Nova does: vm_state ERROR (or ACTIVE with --active), task_state cleared.

    For an instance a killed command left in a task (MIGRATING, ...); the guest itself is not touched.
    """
    from novactl import recovery

    return outcomes_listing(recovery.reset_state(app.inventory, list(servers), active))
