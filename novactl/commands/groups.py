"""server-group-create, -list, -show, -delete (definitions on the hosts, members from the guests)."""

from __future__ import annotations

import click

from novactl.commands.common import App, command, complete, joined, pass_app, with_output
from novactl.output import Listing, Shown, ShowOne

POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]


@command("server-group-create", "groups", examples=["server-group-create web --policy anti-affinity"])
@click.argument("name")
@click.option("--policy", type=click.Choice(POLICIES), required=True, help="The group's policy.")
@with_output
@pass_app
def server_group_create(app: App, name: str, policy: str) -> Listing:
    """Create a server group (stored on every reachable host)."""
    import re

    from novactl import server_groups
    from novactl.inventory_schema import SAFE_NAME
    from novactl.poller import poll

    if not re.fullmatch(SAFE_NAME, name):
        raise click.BadParameter(f"{name!r} is not a safe name", param_hint="NAME")
    with poll(app.inventory) as cluster:
        group = server_groups.create(cluster, name, policy)
    return Listing(["Id", "Name", "Policies", "Members"], [[group.id or None, group.name, group.policy, joined([])]])


@command("server-group-list", "groups", examples=["server-group-list"])
@with_output
@pass_app
def server_group_list(app: App) -> Listing:
    """List server groups with their members."""
    from novactl import server_groups
    from novactl.poller import poll

    with poll(app.inventory) as cluster:
        views = [server_groups.view(cluster, name) for name in sorted(server_groups.definitions(cluster))]
    rows = [[v.definition.id or None, v.definition.name, v.definition.policy, joined([m.uuid for m in v.members])] for v in views]
    return Listing(["Id", "Name", "Policies", "Members"], rows)


@command("server-group-show", "groups", examples=["server-group-show web"])
@click.argument("name", shell_complete=complete("groups"))
@with_output
@pass_app
def server_group_show(app: App, name: str) -> ShowOne:
    """Show a server group: policy, members and the hosts they run on."""
    from novactl import server_groups
    from novactl.poller import poll

    with poll(app.inventory) as cluster:
        v = server_groups.view(cluster, name)
    return ShowOne(
        {
            "id": v.definition.id or None,
            "name": v.definition.name,
            "policies": v.definition.policy,
            "members": Shown([{"id": m.uuid, "name": m.name} for m in v.members], ", ".join(f"{m.name} ({m.uuid})" for m in v.members)),
            "hosts": joined(list(v.hosts)),
        }
    )


@command("server-group-delete", "groups", examples=["server-group-delete web"])
@click.argument("name", shell_complete=complete("groups"))
@with_output
@pass_app
def server_group_delete(app: App, name: str) -> Listing:
    """Delete a server group (refused while it has members)."""
    from novactl import server_groups
    from novactl.poller import poll

    with poll(app.inventory) as cluster:
        server_groups.delete(cluster, name)
    return Listing(["Name", "Result"], [[name, "deleted"]])
