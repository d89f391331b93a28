"""`novactl help [COMMAND]`."""

from __future__ import annotations

import click

from novactl.commands.common import command


@command("help", "other", examples=["help boot", "help"], inventory_only=True)
@click.argument("command_name", metavar="COMMAND", required=False)
@click.pass_context
def help_(ctx: click.Context, command_name: str | None) -> None:
    """Show the help of COMMAND (or of novactl)."""
    parent = ctx.parent
    assert parent is not None and isinstance(parent.command, click.Group)
    group = parent.command
    if command_name is None:
        click.echo(group.get_help(parent))
        return
    group.resolve_command(parent, [command_name])
    target = group.get_command(parent, command_name)
    assert target is not None
    with click.Context(target, info_name=command_name, parent=parent) as sub:
        click.echo(target.get_help(sub))
