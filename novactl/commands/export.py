"""export openstack: the cluster as a shell script of openstack CLI commands."""

from __future__ import annotations

import click

from novactl.commands.common import App, command_group, pass_app
from novactl.errors import EXIT_FAILED


@command_group("export", "other", examples=["export openstack > to-openstack.sh"])
def export() -> None:
    """Write the cluster out for another system."""


@export.command("openstack")
@pass_app
def openstack(app: App) -> None:
    """Print a shell script of `openstack` commands recreating flavors, images, keypairs, server groups
    and networks; instances come as commented `server create` lines.

    Hosts are polled for instances and server groups; a host that does not answer is named in the
    script and on stderr, and the exit code is then 1.
    """
    from novactl import export_openstack, server_groups
    from novactl.images import image_source
    from novactl.poller import poll

    inventory = app.inventory
    files = {image.id: image_source(inventory, image) for image in inventory.images}
    with poll(inventory) as cluster:
        groups = server_groups.definitions(cluster).values()
        unreachable = {s.host: s.down_reason for s in cluster.states.values() if not s.up}
        click.echo(export_openstack.script(inventory, files, groups, cluster.instances, unreachable), nl=False)
    for host, reason in unreachable.items():
        click.echo(f"WARNING: {host} did not answer ({reason}): its instances are missing from the script", err=True)
    if unreachable:
        raise click.exceptions.Exit(EXIT_FAILED)
