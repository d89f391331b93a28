"""console and ssh: getting into a guest (novactl/access/)."""

from __future__ import annotations

import sys

import click

from novactl.commands.common import App, command, pass_app


@command("console", "access", examples=["console web1", "console web1 --force"])
@click.argument("server")
@click.option("--force", is_flag=True, help="Take the console over from another session attached to it.")
@pass_app
def console(app: App, server: str, force: bool) -> None:
    """Attach to a running server's serial console (Ctrl-] leaves), as `virsh console`."""
    from novactl.access import console as access_console

    def say(text: str) -> None:
        click.echo(text, err=True)

    why = access_console.attach(app.inventory, server, force, sys.stdin.fileno(), sys.stdout.fileno(), say)
    click.echo(f"\n{why}", err=True)
