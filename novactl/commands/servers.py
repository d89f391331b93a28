"""boot (and its dry run), list, show, delete."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

import click

from novactl.commands.common import (
    App,
    absent,
    command,
    complete,
    down_reasons,
    key_values,
    networks,
    outcomes_listing,
    parse_hints,
    pass_app,
    show_fields,
    with_output,
)
from novactl.configdrive import MAX_USERDATA_SIZE
from novactl.output import Listing, ShowOne

if TYPE_CHECKING:
    from rich.progress import TaskID

LIST_COLUMNS = ["ID", "Name", "Status", "Task State", "Power State", "Networks"]
LONG_COLUMNS = ["Host", "Flavor", "Image", "Availability Zone"]


@command(
    "boot",
    "servers",
    examples=[
        "boot web1 --flavor m1.small --image cirros",
        "boot web --flavor m1.small --image cirros --max-count 3 --hint group=web",
        "boot web1 --flavor m1.small --image cirros --availability-zone nova:compute2 --dry-run",
    ],
)
@click.argument("name")
@click.option("--flavor", required=True, shell_complete=complete("flavors"), help="Name or ID of flavor.")
@click.option("--image", shell_complete=complete("images"), help="Name or ID of image.")
@click.option("--availability-zone", "zone", metavar="AZ[:HOST]", help="The availability zone (and host) for placement.")
@click.option(
    "--hint",
    "hints",
    multiple=True,
    shell_complete=complete("group-hint"),
    metavar="KEY=VALUE",
    help="Scheduler hint: group=G, same_host=ID, different_host=ID.",
)
@click.option("--min-count", type=click.IntRange(min=1), help="Boot at least this many instances (all or nothing).")
@click.option("--max-count", type=click.IntRange(min=1), help="Boot up to this many instances.")
@click.option(
    "--nic", "nic", shell_complete=complete("networks"), metavar="net-name=NAME", help="The network to attach (default: the first network)."
)
@click.option("--dry-run", is_flag=True, help="Schedule only: explain every filter's and weigher's decision; touch nothing.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Return once libvirt reports the guest running.")
@click.option("--key-name", help="Keypair whose public key the guest gets (keypair-list).")
@click.option("--user-data", type=click.File("rb"), help="User data file, passed byte-exact (at most 65535 bytes once base64 encoded).")
@click.option("--meta", "meta", multiple=True, metavar="KEY=VALUE", help="Server metadata (repeatable), in the config drive's meta.")
@click.option("--config-drive/--no-config-drive", default=True, show_default=True, help="Attach Nova's config-2 drive.")
@with_output
@pass_app
def boot(
    app: App,
    name: str,
    flavor: str,
    image: str | None,
    zone: str | None,
    hints: tuple[str, ...],
    min_count: int | None,
    max_count: int | None,
    nic: str | None,
    dry_run: bool,
    wait: bool,
    key_name: str | None,
    user_data: BinaryIO | None,
    meta: tuple[str, ...],
    config_drive: bool,
) -> Listing | ShowOne:
    """Boot a new server (Nova's filter scheduler picks the host)."""
    from novactl.boot_request import BootRequest, validate

    network = None
    if nic:
        key, _, network = nic.partition("=")
        if key != "net-name" or not network:
            raise click.BadParameter(f"{nic!r}: expected net-name=NAME", param_hint="--nic")
    request = BootRequest(
        name=name,
        flavor=flavor,
        image=image,
        availability_zone=zone,
        hints=parse_hints(hints),
        min_count=min_count or 1,
        max_count=max_count or min_count or 1,
        network=network,
        wait=wait,
        key_name=key_name,
        user_data=user_data.read(MAX_USERDATA_SIZE + 1) if user_data else None,  # past the limit in any encoding
        meta=key_values(meta, "--meta"),
        config_drive=config_drive,
    )
    if dry_run:
        from novactl.commands.explain import dry_run_result

        return dry_run_result(app.inventory, request)
    validate(app.inventory, request)  # bad input touches no host
    from novactl.drivers import open_ahead

    # The hosts' SSH handshakes (mostly waiting on the hosts) run while the rest of the boot imports.
    with open_ahead(app.inventory.hosts) as ahead, _progress_bar() as advance:
        from novactl import pipeline

        outcomes = pipeline.boot(app.inventory, request, progress=advance, opener=ahead.take)
    warnings = outcomes[0].warnings
    forced = {"forced": True, "warnings": warnings} if zone and ":" in zone else {}  # AZ:HOST skipped the filters
    if len(outcomes) == 1:
        return ShowOne({**show_fields(outcomes[0].instance), **forced}, warnings=warnings)
    columns = ["ID", "Name", "Status", "Host", "Networks"] + (["Forced"] if forced else [])
    rows = [[o.instance.uuid, o.instance.name, "ACTIVE", o.instance.host, networks(o.instance)] for o in outcomes]
    rows = [[*row, True] for row in rows] if forced else rows
    return Listing(columns, rows, warnings=warnings)


@contextlib.contextmanager
def _progress_bar() -> Iterator[Callable[[str, int], None] | None]:
    """A rich progress bar for image transfers, only on a terminal; cleared when the boot ends."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    tasks: dict[str, TaskID] = {}
    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), transient=True) as progress:

        def advance(host: str, sent: int) -> None:
            if host not in tasks:
                tasks[host] = progress.add_task(f"image -> {host}", total=None)
            progress.advance(tasks[host], sent)

        yield advance


@command("list", "servers", examples=["list", "list --long --status ACTIVE", "list -f value -c ID -c Name"])
@click.option("--long", "long_", is_flag=True, help="Also show Host, Flavor, Image, Availability Zone.")
@click.option("--host", shell_complete=complete("hosts"), help="Only instances on this host.")
@click.option("--status", help="Only instances with this Status (e.g. ACTIVE, SHUTOFF).")
@click.option("--name", help="Only instances whose name contains this.")
@with_output
@pass_app
def list_(app: App, long_: bool, host: str | None, status: str | None, name: str | None) -> Listing:
    """List servers on every host (all hosts polled in parallel)."""
    from novactl.access.addresses import learn
    from novactl.instances import power_state_name
    from novactl.instances import status as status_of
    from novactl.poller import poll

    with poll(app.inventory, [host] if host else None) as cluster:
        instances = sorted(cluster.instances, key=lambda i: (i.created, i.name))
        states = list(cluster.states.values())
        learned = learn(cluster, instances)
    rows = []
    for instance in instances:
        row = [
            instance.uuid,
            instance.name,
            status_of(instance),
            absent(instance.task_state),
            power_state_name(instance),
            networks(instance, learned.get(instance.uuid)),
        ]
        if long_:
            row += [instance.host, instance.flavor.name, instance.image_id or None, instance.zone]
        rows.append(row)
    if status:
        rows = [r for r in rows if r[2] == status.upper()]
    if name:
        rows = [r for r in rows if name in r[1]]
    # A down host's guests cannot be read: a table says so in a row of its own (machine formats have
    # only instances; the footer names the host either way).
    notes = [
        ["?", f"(instances on {s.host})", "UNKNOWN", "-", "NOSTATE", ""] + ([s.host, "", "", s.zone] if long_ else [])
        for s in states
        if not s.up and status in (None, "", "UNKNOWN", "unknown")
    ]
    return Listing(LIST_COLUMNS + (LONG_COLUMNS if long_ else []), rows, footer=down_reasons(states), notes=notes)


@command("show", "servers", examples=["show web1", "show web1 -f json"])
@click.argument("server")
@with_output
@pass_app
def show(app: App, server: str) -> ShowOne:
    """Show details about the given server (name or ID)."""
    from novactl.access.addresses import learn
    from novactl.instances import resolve
    from novactl.poller import poll

    with poll(app.inventory) as cluster:
        instance = resolve(cluster, server)
        learned = learn(cluster, [instance]).get(instance.uuid)
    return ShowOne(show_fields(instance, learned=learned))


@command("delete", "servers", examples=["delete web1", "delete web1 web2"])
@click.argument("servers", nargs=-1, required=True)
@with_output
@pass_app
def delete(app: App, servers: tuple[str, ...]) -> Listing:
    """Delete servers: domain, disks, directory and tap (the cached base image stays).

    Any status, as Nova; a server in VERIFY_RESIZE loses its copy on the old host too. Refused while
    a move is in progress (task_state set by resize or migration).
    """
    from novactl import lifecycle

    return outcomes_listing(lifecycle.delete(app.inventory, list(servers)))
