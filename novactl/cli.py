"""The click group: global options, logging in Nova's format, errors to one stderr line + exit code."""

from __future__ import annotations

import logging
import sys

import click

from novactl import __version__
from novactl.commands import catalog, doctor, explain, export, groups, hypervisors, lifecycle, rebalance, servers, services
from novactl.commands.common import App
from novactl.errors import EXIT_FAILED, EXIT_USAGE, NovactlError
from novactl.output import terminal_safe

# Nova's default logging_default_format_string, minus the request context it does not have here.
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(message)s"

COMMANDS = [
    services.service_list,
    services.service_disable,
    services.service_enable,
    catalog.flavor_list,
    catalog.flavor_show,
    catalog.image_list,
    hypervisors.hypervisor_list,
    hypervisors.hypervisor_show,
    hypervisors.hypervisor_stats,
    hypervisors.availability_zone_list,
    servers.boot,
    servers.list_,
    servers.show,
    servers.delete,
    explain.capacity,
    groups.server_group_create,
    groups.server_group_list,
    groups.server_group_show,
    groups.server_group_delete,
    lifecycle.stop,
    lifecycle.start,
    lifecycle.reboot,
    lifecycle.suspend,
    lifecycle.resume,
    lifecycle.pause,
    lifecycle.unpause,
    lifecycle.console_log,
    lifecycle.resize,
    lifecycle.resize_confirm,
    lifecycle.resize_revert,
    lifecycle.migrate,
    lifecycle.live_migration,
    lifecycle.image_create,
    lifecycle.evacuate,
    export.export,
    rebalance.rebalance,
    doctor.doctor,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-i",
    "--inventory",
    metavar="FILE",
    help="Inventory YAML (else $NOVACTL_INVENTORY, ./inventory.yaml, "
    "~/.config/novactl/inventory.yaml, else this machine as a one-host cluster).",
)
@click.option("--debug", is_flag=True, help="Log to stderr in Nova's format; show tracebacks.")
@click.version_option(__version__, prog_name="novactl")
@click.pass_context
def cli(ctx: click.Context, inventory: str | None, debug: bool) -> None:
    """Nova's scheduler and VM lifecycle for small KVM clusters, with no control plane."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S", stream=sys.stderr
    )
    logging.getLogger("sh").setLevel(logging.WARNING)  # logs every buffer it reads
    if not debug:
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # its own tracebacks would bypass ours
    ctx.obj = App(inventory, debug)


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = cli.main(args=argv, prog_name="novactl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except NovactlError as exc:
        if debug:
            logging.getLogger("novactl").exception("command failed")
        first, *rest = terminal_safe(str(exc)).splitlines() or [""]  # names in it may come from a host
        click.echo(f"ERROR: {first}", err=True)
        for line in rest:  # details of one error (an explanation, further FILE:LINE errors)
            click.echo(f"  {line}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
