"""service-list, service-enable, service-disable: nova-compute's service per host."""

from __future__ import annotations

import click

from novactl.commands.common import App, pass_app, with_output
from novactl.errors import HostError
from novactl.output import Listing

SERVICE_COLUMNS = ["Id", "Binary", "Host", "Zone", "Status", "State", "Updated_at", "Disabled Reason"]


def updated_at(state) -> str:
    return state.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000000") if state.updated_at else ""


@click.command("service-list")
@click.option("--host", help="Only this host.")
@with_output
@pass_app
def service_list(app: App, host: str | None) -> Listing:
    """Show a list of all running services (State from a live poll of every host)."""
    from novactl.poller import poll

    with poll(app.inventory, [host] if host else None) as cluster:
        states = list(cluster.states.values())
    rows = [[s.service_id, "nova-compute", s.host, s.zone, s.status, s.state, updated_at(s), s.disabled_reason or "-"] for s in states]
    return Listing(SERVICE_COLUMNS, rows, footer=down_reasons(states))


def down_reasons(states) -> str:
    """Why each down host is down (Nova only shows 'down'; we say why, below the table)."""
    return "\n".join(f"{s.host} is down: {s.down_reason}" for s in states if not s.up)


def _set_status(app: App, host: str, disabled: bool, reason: str | None) -> Listing:
    from novactl.drivers import make_driver

    driver = make_driver(app.inventory.host(host), app.inventory)
    try:
        driver.set_service_status(disabled, reason)
    except HostError as exc:
        raise HostError(host, f"cannot change the service status: {exc.reason}") from None
    finally:
        driver.close()
    columns = ["Host", "Binary", "Status"] + (["Disabled Reason"] if disabled else [])
    row = [host, "nova-compute", "disabled" if disabled else "enabled"] + ([reason or ""] if disabled else [])
    return Listing(columns, [row])


@click.command("service-disable")
@click.argument("host")
@click.option("--reason", help="Reason for disabling the service.")
@with_output
@pass_app
def service_disable(app: App, host: str, reason: str | None) -> Listing:
    """Disable nova-compute on HOST: the scheduler stops choosing it (flag kept on the host)."""
    return _set_status(app, host, True, reason)


@click.command("service-enable")
@click.argument("host")
@with_output
@pass_app
def service_enable(app: App, host: str) -> Listing:
    """Enable nova-compute on HOST."""
    return _set_status(app, host, False, None)
