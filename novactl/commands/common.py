"""What every command shares: the application context, command registration, the output options and
the helpers several commands use (hints, `nova show` fields, down-host notes)."""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from novactl import output
from novactl.commands import HELP_GROUPS

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from novactl.hoststate import HostState, InstanceInfo
    from novactl.lifecycle import Outcome
    from novactl.models import Inventory

FORMATS = ("table", "json", "yaml", "csv", "value")


class App:
    """Carried in click's context: global options, the inventory loaded once on first use."""

    def __init__(self, inventory_path: str | None, debug: bool, colour: bool = True):
        self.inventory_path = inventory_path
        self.debug = debug
        self.colour = colour
        self._inventory: Inventory | None = None

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            from novactl.errors import InventoryError
            from novactl.inventory import BY_VARIABLE, load_inventory

            path, why = self.inventory_source
            if self.debug:  # not imported otherwise: see cli.py's setup of logging
                import logging

                logging.getLogger("novactl.inventory").debug("Inventory %s: %s", path or "<built-in default>", why)
            try:
                self._inventory = load_inventory(path)
            except InventoryError as exc:
                if why != BY_VARIABLE:
                    raise
                raise InventoryError(f"{exc}\n(the file named by $NOVACTL_INVENTORY)") from None
        return self._inventory

    @property
    def inventory_source(self) -> tuple[str | None, str]:
        """The inventory file (None: built-in) and why it was chosen."""
        from novactl.inventory import locate_inventory

        return locate_inventory(self.inventory_path)


pass_app = click.make_pass_decorator(App)


class Listed:
    """What --help needs of a top-level command: its heading and examples (printed after its options)."""

    help_group: str
    examples: list[str]
    # Reads only the inventory (no host, no scheduler, nothing that logs): logging is not set up for it
    # unless --debug asks (importing logging costs such a command a tenth of its start-up).
    inventory_only = False

    def _listed(self, help_group: str, examples: Sequence[str]) -> None:
        if help_group not in HELP_GROUPS:
            raise ValueError(f"unknown help group {help_group!r}")
        self.help_group = help_group
        self.examples = list(examples)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.examples:
            with formatter.section("Examples"):
                for example in self.examples:  # a command line is not wrapped: it can be copied as it is
                    formatter.write(f"{'':>{formatter.current_indent}}novactl {example}\n")
        super().format_epilog(ctx, formatter)  # type: ignore[misc]


class Command(Listed, click.Command):
    def __init__(self, *args: Any, help_group: str = "other", examples: Sequence[str] = (), inventory_only: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._listed(help_group, examples)
        self.inventory_only = inventory_only


class Group(Listed, click.Group):
    """A command with subcommands (`export openstack`)."""

    def __init__(self, *args: Any, help_group: str = "other", examples: Sequence[str] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._listed(help_group, examples)


def command(name: str, group: str, examples: Sequence[str] = (), **kwargs: Any) -> Callable[[Callable[..., Any]], Command]:
    """`@command("flavor-list", "images", ["flavor-list -f json"])`: a click command, registered by
    being defined at the top level of a module of novactl/commands/ (listed in index.py: see reindex.py).
    `inventory_only=True` for a command that reads nothing but the inventory (see Listed)."""
    return click.command(name, cls=Command, help_group=group, examples=examples, **kwargs)


def command_group(name: str, group: str, examples: Sequence[str] = (), **kwargs: Any) -> Callable[[Callable[..., Any]], Group]:
    """As `command`, for a command with subcommands."""
    return click.group(name, cls=Group, help_group=group, examples=examples, **kwargs)


def with_output(func: Callable[..., Any]) -> Callable[..., None]:
    """Add openstackclient's output options to a command whose body returns a Listing or ShowOne, and print it."""

    @click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format.")
    @click.option("-c", "--column", "columns", multiple=True, help="Show only this column (repeatable).")
    @click.option("--sort-column", "sort_columns", multiple=True, help="Sort rows by this column (repeatable), by the value's type.")
    @click.option("--sort-ascending/--sort-descending", "ascending", default=True, help="Sort order for --sort-column.")
    @click.option("--noindent", is_flag=True, help="json: everything on one line.")
    @click.option("--max-width", type=click.IntRange(min=0), default=0, help="table: at most this many characters wide (0: no limit).")
    @click.option("--fit-width", is_flag=True, help="table: fit the terminal's width (the default on a terminal).")
    @click.option("--quote", type=click.Choice(sorted(output.QUOTING)), default="minimal", show_default=True, help="csv: when to quote.")
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        fmt: str,
        columns: tuple[str, ...],
        sort_columns: tuple[str, ...],
        ascending: bool,
        noindent: bool,
        max_width: int,
        fit_width: bool,
        quote: str,
        **kwargs: Any,
    ) -> None:
        result = func(*args, **kwargs)
        tty = on_terminal()
        if not max_width and (fit_width or tty):
            max_width = shutil.get_terminal_size().columns
        style = output.Style(descending=not ascending, noindent=noindent, max_width=max_width, quote=quote)
        app = click.get_current_context().find_object(App)
        colour = app is None or app.colour
        text = output.render(result, fmt, columns, sort_columns, tty=tty, style=style, colour=colour)
        if text:
            click.echo(text, color=colour)  # decided here: click would strip colour from a non-terminal
        for warning in result.warnings:
            click.echo(f"WARNING: {output.terminal_safe(warning)}", err=True)
        if result.error:
            print_error(result.error)
        if result.exit_code:
            raise click.exceptions.Exit(result.exit_code)

    return wrapper


def print_error(message: str) -> None:
    """An error on stderr: the first line carries ERROR:, details (an explanation, further FILE:LINE
    errors) are indented. Names in a message may come from a host or the command line: shown escaped."""
    first, *rest = message.splitlines() or [""]
    click.echo(f"ERROR: {output.terminal_safe(first)}", err=True)
    for line in rest:
        click.echo(f"  {output.terminal_safe(line)}", err=True)


def on_terminal() -> bool:
    return sys.stdout.isatty()


def outcomes_listing(outcomes: list[Outcome]) -> output.Listing:
    """One row per instance a verb acted on; the command fails (exit code of the first failure) if any did."""
    rows = [[o.instance.uuid, o.instance.name, o.instance.host, o.result] for o in outcomes]
    return output.Listing(["ID", "Name", "Host", "Result"], rows, exit_code=first_failure([o.exit_code for o in outcomes]))


def first_failure(codes: list[int]) -> int:
    return next((code for code in codes if code), 0)


def parse_hints(values: tuple[str, ...]) -> dict[str, list[str]]:
    """--hint KEY=VALUE options as Nova's scheduler_hints: each key maps to its values in order."""
    hints: dict[str, list[str]] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key or not val:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--hint")
        hints.setdefault(key, []).append(val)
    return hints


def networks(instance: InstanceInfo, learned: dict[str, list[str]] | None = None) -> output.Shown:
    """{network: [address, ...]} for machines; `net=10.0.0.5; net2=...` in tables, as Nova prints
    addresses. A network's fixed IP first; else the address its host learned (`learned`: DHCP lease,
    ARP); else the port's MAC."""
    learned = learned or {}
    addresses = {
        net: [instance.fixed_ips[net]] if net in instance.fixed_ips else list(learned.get(net) or macs)
        for net, macs in instance.networks.items()
    }
    text = "; ".join(f"{net}={', '.join(values)}" for net, values in addresses.items())
    return output.Shown(addresses, text)


# What `complete(KIND)` offers: names from the inventory, with the prefix the option's value takes.
COMPLETIONS = {
    "flavors": ("", lambda inv: [f.name for f in inv.flavors]),
    "images": ("", lambda inv: [i.name for i in inv.images]),
    "hosts": ("", lambda inv: [h.name for h in inv.hosts]),
    "networks": ("net-name=", lambda inv: [n.name for n in inv.networks]),
    "groups": ("", lambda inv: [g.name for g in inv.server_groups]),
    "group-hint": ("group=", lambda inv: [g.name for g in inv.server_groups]),
}


def complete(kind: str) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """Shell completion of names from the inventory the command line would use (-i, $NOVACTL_INVENTORY, ...).

    Only the inventory is read (no host is contacted); an inventory that does not load completes nothing.
    """
    prefix, names_of = COMPLETIONS[kind]

    def names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        from novactl.errors import NovactlError
        from novactl.inventory import find_inventory, load_inventory

        try:
            inventory = load_inventory(find_inventory(ctx.find_root().params.get("inventory")))
        except NovactlError:
            return []
        words = [prefix + name for name in names_of(inventory)]
        return [CompletionItem(w) for w in words if w.startswith(incomplete)]

    return names


def joined(items: list[str]) -> output.Shown:
    """A list for machines, comma-joined in tables."""
    return output.Shown(items, ", ".join(items))


def absent(value: Any) -> output.Shown:
    """A value Nova's tables show as "-" when unset; null in machine formats."""
    return output.Shown(value, "-" if value is None else str(value))


def show_fields(instance: InstanceInfo, host_up: bool = True, learned: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """`nova show`'s keys where they apply (`learned`: the addresses its host learned, access/addresses.py)."""
    from novactl.instances import power_state_name, status, vm_state

    fields: dict[str, Any] = {
        "OS-EXT-AZ:availability_zone": instance.zone,
        "OS-EXT-SRV-ATTR:host": instance.host,
        "OS-EXT-SRV-ATTR:hypervisor_hostname": instance.host,
        "OS-EXT-SRV-ATTR:instance_name": instance.instance_name or None,  # unknown: null, never ""
        "OS-EXT-STS:power_state": power_state_name(instance),
        "OS-EXT-STS:task_state": absent(instance.task_state),
        "OS-EXT-STS:vm_state": vm_state(instance),
        "config_drive": "True" if instance.config_drive else None,
        "created": instance.created or None,
        "flavor": output.Shown({"id": instance.flavor.id, "name": instance.flavor.name}, f"{instance.flavor.name} ({instance.flavor.id})"),
        "id": instance.uuid,
        "image": instance.image_id or None,
        "key_name": absent(instance.key_name),
        "metadata": dict(instance.user_metadata),
        "name": instance.name,
        "networks": networks(instance, learned),
        "server_group": absent(instance.group),
        "status": status(instance, host_up),
    }
    if instance.fault:
        fields["fault"] = instance.fault
    return fields


def down_reasons(states: list[HostState]) -> str:
    """Why each down host is down (Nova only shows 'down'; we say why, below the table)."""
    return "\n".join(f"{s.host} is down: {s.down_reason}" for s in states if not s.up)


def updated_at(state: HostState) -> str | None:
    return state.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000000") if state.updated_at else None


def key_values(values: tuple[str, ...], option: str) -> dict[str, str]:
    """Repeated KEY=VALUE options as a dict (a later KEY wins); VALUE may be empty, KEY may not."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        result[key] = val
    return result
