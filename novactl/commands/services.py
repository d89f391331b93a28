"""service-list, service-enable, service-disable: nova-compute's service per host."""

from __future__ import annotations

import click

from novactl.commands.common import App, absent, command, complete, down_reasons, pass_app, updated_at, with_output
from novactl.output import Listing

SERVICE_COLUMNS = ["Id", "Binary", "Host", "Zone", "Status", "State", "Updated_at", "Disabled Reason"]


@command("service-list", "hosts", examples=["service-list", "service-list --host compute1 -f json"])
@click.option("--host", shell_complete=complete("hosts"), help="Only this host.")
@with_output
@pass_app
def service_list(app: App, host: str | None) -> Listing:
    """Show a list of all running services (State from a live poll of every host)."""
    from novactl.poller import poll

    with poll(app.inventory, [host] if host else None) as cluster:
        states = list(cluster.states.values())
    rows = [[s.service_id, "nova-compute", s.host, s.zone, s.status, s.state, updated_at(s), absent(s.disabled_reason)] for s in states]
    return Listing(SERVICE_COLUMNS, rows, footer=down_reasons(states))


def _set_status(app: App, host: str, disabled: bool, reason: str | None) -> Listing:
    from novactl.services import set_service_status

    set_service_status(app.inventory, host, disabled, reason)
    columns = ["Host", "Binary", "Status"] + (["Disabled Reason"] if disabled else [])
    row = [host, "nova-compute", "disabled" if disabled else "enabled"] + ([reason or ""] if disabled else [])
    return Listing(columns, [row])


@command("service-disable", "hosts", examples=['service-disable compute1 --reason "disk swap"'])
@click.argument("host", shell_complete=complete("hosts"))
@click.option("--reason", help="Reason for disabling the service.")
@with_output
@pass_app
def service_disable(app: App, host: str, reason: str | None) -> Listing:
    """Disable nova-compute on HOST: the scheduler stops choosing it (flag kept on the host)."""
    return _set_status(app, host, True, reason)


@command("service-enable", "hosts", examples=["service-enable compute1"])
@click.argument("host", shell_complete=complete("hosts"))
@with_output
@pass_app
def service_enable(app: App, host: str) -> Listing:
    """Enable nova-compute on HOST."""
    return _set_status(app, host, False, None)
