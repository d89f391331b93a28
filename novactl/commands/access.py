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


@command(
    "ssh",
    "access",
    examples=["ssh web1", "ssh web1 -- hostname", "ssh web1 --login debian -- sudo journalctl -b"],
    context_settings={"ignore_unknown_options": True},
)
@click.argument("server")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("-l", "--login", help="Remote user (default: the image's default_user property, else root).")
@pass_app
def ssh(app: App, server: str, command: tuple[str, ...], login: str | None) -> None:
    """SSH to a server (a shell, or COMMAND after --), its host key pinned to its console's fingerprints.

    Exits with the remote command's status."""
    from novactl.access import ssh as access_ssh

    fds = (sys.stdin.fileno(), sys.stdout.fileno(), sys.stderr.fileno())
    sys.exit(access_ssh.run(app.inventory, server, login, list(command), fds))
