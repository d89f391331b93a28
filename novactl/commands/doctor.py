"""doctor: per-host readiness checks (SSH, KVM, libvirt, tools, bridges, paths, clock, cpu_mode)."""

from __future__ import annotations

import click

from novactl.commands.common import App, command, complete, pass_app, with_output
from novactl.errors import EXIT_FAILED
from novactl.output import Listing


@command("doctor", "hosts", examples=["doctor", "doctor compute1 --deadline 10"])
@click.argument("hosts", nargs=-1, shell_complete=complete("hosts"))
@click.option("--deadline", type=click.FloatRange(min=1), default=30, show_default=True, help="Seconds a host may take for all its checks.")
@with_output
@pass_app
def doctor(app: App, hosts: tuple[str, ...], deadline: float) -> Listing:
    """Check that HOSTS (default: all) are ready to run guests; Detail says how to fix each problem.

    Exit code 1 when any check fails (warnings do not count).
    """
    from novactl import doctor as core

    inventory = app.inventory
    configs = [inventory.host(name) for name in hosts] if hosts else list(inventory.hosts)
    findings = core.diagnose(inventory, configs, deadline)
    rows = [[f.host, f.check, f.status, f.detail] for f in findings]
    failed = sum(1 for f in findings if f.status == core.FAIL)
    warned = sum(1 for f in findings if f.status == core.WARN)
    footer = f"{len(configs)} host(s): {failed} check(s) failed, {warned} warning(s)."
    return Listing(["Host", "Check", "Status", "Detail"], rows, footer=footer, exit_code=EXIT_FAILED if failed else 0)
