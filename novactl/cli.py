"""The click group: global options, logging in Nova's format, errors to stderr with their exit codes.

Commands register themselves: every `commands.common.command` defined at the top level of a module
in COMMAND_MODULES is added, and --help lists it under its help group.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any, NoReturn

import click

from novactl import __version__
from novactl.commands.common import HELP_GROUPS, App, Listed, command, print_error
from novactl.errors import EXIT_FAILED, EXIT_USAGE, NovactlError, did_you_mean

# Nova's default logging_default_format_string, minus the request context it does not have here.
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(message)s"

# A new command module is one more line here; a new command in a listed module needs nothing.
COMMAND_MODULES = [
    "novactl.commands.services",
    "novactl.commands.catalog",
    "novactl.commands.keypairs",
    "novactl.commands.hypervisors",
    "novactl.commands.servers",
    "novactl.commands.capacity",
    "novactl.commands.groups",
    "novactl.commands.lifecycle",
    "novactl.commands.export",
    "novactl.commands.rebalance",
    "novactl.commands.doctor",
    "novactl.commands.image_cache",
    "novactl.commands.maintenance",
]

SUMMARY_LIMIT = 200  # a command's first sentence in --help, wrapped rather than cut off

# Global options a user may also put after the subcommand (`flavor-list -i inv.yaml`): name -> takes a value.
GLOBAL_OPTIONS = {"-i": True, "--inventory": True, "--debug": False, "--no-color": False}


class NovactlGroup(click.Group):
    """novactl's group: errors become one `ERROR:` line on stderr and README's exit code, inside
    click's `main`, so click's CliRunner sees the same exit codes as the console script."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> NoReturn:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=argv, prog_name=prog_name or "novactl", standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_FAILED)
        except click.ClickException as exc:
            _error(exc.format_message(), _usage_hint(exc))
            sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
        except NovactlError as exc:
            if "--debug" in argv:
                logging.getLogger("novactl").exception("command failed")
            first, *rest = str(exc).splitlines() or [""]
            _error(first, rest)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and not name.startswith("-") and self.get_command(ctx, name) is None:
            raise click.UsageError(f"No such command {name!r}.{did_you_mean(name, self.list_commands(ctx))}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands under novaclient's headings (servers, scheduling, hosts, images, groups)."""
        grouped: dict[str, list[tuple[str, str]]] = {key: [] for key in HELP_GROUPS}
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            group = cmd.help_group if isinstance(cmd, Listed) else "other"
            grouped[group].append((name, cmd.get_short_help_str(limit=SUMMARY_LIMIT)))
        for key, rows in grouped.items():
            if rows:
                with formatter.section(HELP_GROUPS[key]):
                    formatter.write_dl(rows)


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options found after the subcommand to before it, so both places work."""
    position = _subcommand_position(args)
    if position is None:
        return args
    before, after, hoisted = args[: position + 1], [], []
    rest = iter(args[position + 1 :])
    for arg in rest:
        if arg == "--":
            after += [arg, *rest]
            break
        name, has_value, _ = arg.partition("=")
        if name in GLOBAL_OPTIONS and (has_value or not GLOBAL_OPTIONS[name]):
            hoisted.append(arg)
        elif arg in GLOBAL_OPTIONS:  # an option that takes the next argument as its value
            hoisted += [arg, next(rest, "")]
        else:
            after.append(arg)
    return hoisted + before + after


def _subcommand_position(args: list[str]) -> int | None:
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif GLOBAL_OPTIONS.get(arg):
            skip = True
        elif not arg.startswith("-"):
            return i
    return None


def _usage_hint(exc: click.ClickException) -> list[str]:
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return []
    return [f"Try '{ctx.command_path} --help' for help."]


def _error(first: str, rest: Sequence[str] = ()) -> None:
    print_error("\n".join([first, *rest]))


@click.group("novactl", cls=NovactlGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-i",
    "--inventory",
    metavar="FILE",
    help="Inventory YAML (else $NOVACTL_INVENTORY, ./inventory.yaml, "
    "~/.config/novactl/inventory.yaml, else this machine as a one-host cluster).",
)
@click.option("--debug", is_flag=True, help="Log to stderr in Nova's format; show tracebacks.")
@click.option("--no-color", "no_colour", is_flag=True, help="No colour in tables (also when $NO_COLOR is set).")
@click.version_option(__version__, prog_name="novactl")
@click.pass_context
def cli(ctx: click.Context, inventory: str | None, debug: bool, no_colour: bool) -> None:
    """Nova's scheduler and VM lifecycle for small KVM clusters, with no control plane.

    Global options may also follow the command. `novactl help COMMAND` shows a command's options
    and examples.
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S", stream=sys.stderr
    )
    logging.getLogger("sh").setLevel(logging.WARNING)  # logs every buffer it reads
    if not debug:
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # its own tracebacks would bypass ours
    ctx.obj = App(inventory, debug, colour=not no_colour and not os.environ.get("NO_COLOR"))


@command("help", "other", examples=["help boot", "help"])
@click.argument("command_name", metavar="COMMAND", required=False)
@click.pass_context
def help_(ctx: click.Context, command_name: str | None) -> None:
    """Show the help of COMMAND (or of novactl)."""
    parent = ctx.parent
    assert parent is not None
    if command_name is None:
        click.echo(cli.get_help(parent))
        return
    cli.resolve_command(parent, [command_name])
    target = cli.get_command(parent, command_name)
    assert target is not None
    with click.Context(target, info_name=command_name, parent=parent) as sub:
        click.echo(target.get_help(sub))


cli.add_command(help_)
for _module in COMMAND_MODULES:
    for _value in vars(import_module(_module)).values():
        if isinstance(_value, Listed):
            cli.add_command(_value)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="novactl")
