"""The click group: global options, logging in Nova's format, errors to stderr with their exit codes.

Commands are found through commands/index.py (name -> module, --help heading and summary): `--help`
lists them from there and a command's module is imported only when that command runs, so neither
imports the other command modules (click's LazyGroup pattern). Imports here are the ones every
invocation needs; the rest are made where they are used.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module
from itertools import islice
from typing import Any, NoReturn

import click

from novactl import __version__
from novactl.commands import HELP_GROUPS
from novactl.commands.index import COMMANDS
from novactl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, NovactlError, did_you_mean

# Nova's default logging_default_format_string, minus the request context it does not have here.
LOG_FORMAT = "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(message)s"

# Global options a user may also put after the subcommand (`flavor-list -i inv.yaml`): name -> takes a value.
GLOBAL_OPTIONS = {"-i": True, "--inventory": True, "--debug": False, "--no-color": False}
# Short spellings click is given as their long ones. click tries every option as a long one first, and
# for an unknown one builds a NoSuchOption (spelling suggestions from difflib, a translated message)
# before it falls back to the short one: a cost every `-i FILE` would pay at start-up.
LONG_SPELLINGS = {"-i": "--inventory"}


class NovactlGroup(click.Group):
    """novactl's group: errors become one `ERROR:` line on stderr and README's exit code, inside
    click's `main`, so click's CliRunner sees the same exit codes as the console script."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> NoReturn:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=argv, prog_name=prog_name or "novactl", standalone_mode=False, **extra)
        except _Escaped as exc:
            _escaped(exc.__cause__, argv)
        except click.exceptions.Abort as exc:
            # click raises Abort `from` an EOFError or KeyboardInterrupt it caught outside a command; a
            # prompt raises it `from None` on Ctrl-D or Ctrl-C, the key's exception then its context.
            if exc.__cause__ is not None:
                _escaped(exc.__cause__, argv)
            if isinstance(exc.__context__, KeyboardInterrupt):
                sys.exit(EXIT_INTERRUPTED)
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_FAILED)
        except click.ClickException as exc:
            _error(exc.format_message(), _usage_hint(exc))
            sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
        except NovactlError as exc:
            if "--debug" in argv:
                import logging

                logging.getLogger("novactl").exception("command failed")
            first, *rest = str(exc).splitlines() or [""]
            _error(first, rest)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """The command, with the two exceptions click's `main` would make a bare "Aborted." (exit 1)
        carried past it: an EOFError (from a connection, never the terminal: a prompt turns the
        terminal's into click.Abort itself) and Ctrl-C's KeyboardInterrupt."""
        try:
            return super().invoke(ctx)
        except (EOFError, KeyboardInterrupt) as exc:
            raise _Escaped from exc

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spell_long(hoist_global_options(args)))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, its module imported on first use."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name][:2]
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and not name.startswith("-") and name not in COMMANDS:
            raise click.UsageError(f"No such command {name!r}.{did_you_mean(name, self.list_commands(ctx))}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Commands under novaclient's headings (servers, scheduling, hosts, images, groups), from the index."""
        grouped: dict[str, list[tuple[str, str]]] = {key: [] for key in HELP_GROUPS}
        for name in self.list_commands(ctx):
            _module, _attribute, group, summary = COMMANDS[name]
            if summary is not None:  # None: a hidden command
                grouped[group].append((name, summary))
        for key, rows in grouped.items():
            if rows:
                with formatter.section(HELP_GROUPS[key]):
                    formatter.write_dl(rows)


class _Escaped(Exception):
    """An EOFError or KeyboardInterrupt that left a command (its `__cause__`)."""


def _escaped(exc: BaseException, argv: Sequence[str]) -> NoReturn:
    """Exit for an EOFError or KeyboardInterrupt no code of novactl's caught: Ctrl-C exits 130 (README),
    an EOFError is a bug (a host error let through untyped): one ERROR line naming it, its traceback
    only with --debug, exit 1."""
    if isinstance(exc, KeyboardInterrupt):
        click.echo(err=True)  # after the terminal's ^C, so the shell's prompt starts a line of its own
        sys.exit(EXIT_INTERRUPTED)
    if "--debug" in argv:
        import logging

        logging.getLogger("novactl").error("internal error", exc_info=exc)
    what = f"{type(exc).__name__}: {exc}" if str(exc) else f"{type(exc).__name__} (no message)"
    _error(f"internal error: {what}; --debug shows where")
    sys.exit(EXIT_FAILED)


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


def spell_long(args: list[str]) -> list[str]:
    """The global options before the subcommand with their short spellings made long (LONG_SPELLINGS):
    `-i F` -> `--inventory F`, `-iF` -> `--inventory=F`; the same values reach click."""
    spelled: list[str] = []
    rest = iter(args)
    for arg in rest:
        short, attached = arg[:2], arg[2:]
        if short in LONG_SPELLINGS and not arg.startswith("--"):
            if attached:  # click reads `-i=F` as the value "=F", and `--inventory==F` likewise
                spelled.append(f"{LONG_SPELLINGS[short]}={attached}")
            else:
                spelled += [LONG_SPELLINGS[short], *islice(rest, 1)]
        elif GLOBAL_OPTIONS.get(arg):  # its value, whatever it looks like, is not an option
            spelled += [arg, *islice(rest, 1)]
        elif arg.startswith("-") and arg not in ("-", "--"):
            spelled.append(arg)
        else:  # the subcommand (or `--`, or `-`, which click takes as one): nothing after is a global option
            spelled += [arg, *rest]
    return spelled


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
    from novactl.commands.common import print_error

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
    from novactl.commands.common import App, Listed

    command = ctx.command.get_command(ctx, ctx.invoked_subcommand) if isinstance(ctx.command, click.Group) else None
    if debug or not (isinstance(command, Listed) and command.inventory_only):
        _set_up_logging(debug)
    ctx.obj = App(inventory, debug, colour=not no_colour and not os.environ.get("NO_COLOR"))


def _set_up_logging(debug: bool) -> None:
    """Nova's log format on stderr: warnings always, everything with --debug."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format=LOG_FORMAT, datefmt="%Y-%m-%d %H:%M:%S", stream=sys.stderr
    )
    logging.getLogger("sh").setLevel(logging.WARNING)  # logs every buffer it reads
    if not debug:
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # its own tracebacks would bypass ours


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="novactl")


def run() -> NoReturn:
    """The program (`python -m novactl`, the console script): `main`, then the process ends at once.

    When `main` exits, the command is done: its hosts' connections are closed and its output written.
    What Python's own exit adds is unloading every module and freeing their objects (paramiko,
    cryptography, libvirt, click, ...: tens of ms of CPU), on the CPU the guests a boot has just
    started share. Output is flushed first and the exit code kept; nothing in novactl relies on an
    atexit handler (a crash must leave hosts recoverable without one: crashpoints.py). A SystemExit
    that is not a plain code, or any other exception, ends the process the normal way.
    """
    try:
        main()
        code = 0
    except SystemExit as done:
        if not (done.code is None or isinstance(done.code, int)):
            raise
        code = done.code or 0
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()  # flushes its handlers (stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: the reader is gone, nothing more can reach it
            code = code or EXIT_FAILED
    os._exit(code)
