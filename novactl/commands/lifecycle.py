"""Day-2 commands: power verbs, console-log, resize/migrate/live-migration, image-create, evacuate.

Each returns once the change is done (novactl has no background worker), so none offers --wait.
"""

from __future__ import annotations

import click

from novactl.commands.common import App, absent, command, complete, first_failure, outcomes_listing, pass_app, show_fields, with_output
from novactl.output import Listing, ShowOne

TIMEOUT_HELP = "Seconds to wait for the guest to honour ACPI before destroying it (Nova's shutdown_timeout)."


def _power_command(verb: str, doc: str, timeout: bool = False, hard: bool = False) -> click.Command:
    """One click command per power verb; they differ only in the verb and a couple of options."""

    def body(app: App, servers: tuple[str, ...], timeout: float = 60, hard: bool = False) -> Listing:
        from novactl import lifecycle

        return outcomes_listing(lifecycle.power(app.inventory, list(servers), verb, timeout=timeout, hard=hard))

    body.__doc__ = doc
    decorated = with_output(pass_app(body))
    if hard:
        decorated = click.option("--hard", is_flag=True, help="Destroy and start again (no ACPI attempt).")(decorated)
    if timeout:
        decorated = click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True, help=TIMEOUT_HELP)(decorated)
    decorated = click.argument("servers", nargs=-1, required=True)(decorated)
    return command(verb, "servers", examples=[f"{verb} web1", f"{verb} web1 web2 -f json"])(decorated)


stop = _power_command("stop", "Stop servers: ACPI shutdown, destroyed after --timeout (Nova's clean shutdown).", timeout=True)
start = _power_command("start", "Start stopped servers.")
reboot = _power_command("reboot", "Reboot servers: soft (ACPI, hard after --timeout) or --hard.", timeout=True, hard=True)
suspend = _power_command("suspend", "Suspend servers: memory saved to disk, guest stopped (Status SUSPENDED).")
resume = _power_command("resume", "Resume suspended servers.")
pause = _power_command("pause", "Pause servers: vCPUs stopped, memory kept.")
unpause = _power_command("unpause", "Unpause paused servers.")


@command("console-log", "servers", examples=["console-log web1 --length 20"])
@click.argument("server")
@click.option("--length", type=click.IntRange(min=0), help="Only the last N lines.")
@pass_app
def console_log(app: App, server: str, length: int | None) -> None:
    """Print the server's serial console log."""
    from novactl import lifecycle

    click.echo(lifecycle.console_log(app.inventory, server, length), nl=False)


@command("resize", "servers", examples=["resize web1 m1.medium", "resize-confirm web1"])
@click.argument("server")
@click.argument("flavor", shell_complete=complete("flavors"))
@click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True, help=TIMEOUT_HELP)
@with_output
@pass_app
def resize(app: App, server: str, flavor: str, timeout: float) -> ShowOne:
    """Resize a server (on its own host if the new flavor fits there); confirm or revert afterwards."""
    from novactl import moves

    instance, note = moves.resize(app.inventory, server, flavor, timeout)
    where = f"{instance.host} (same host)" if note == "same host" else f"{instance.host}" + (f" ({note})" if note else "")
    return ShowOne(show_fields(instance), footer=f"Resized onto {where}; now resize-confirm or resize-revert.")


@command("resize-confirm", "servers", examples=["resize-confirm web1"])
@click.argument("server")
@with_output
@pass_app
def resize_confirm(app: App, server: str) -> ShowOne:
    """Confirm a resize or cold migration: the source copy is deleted."""
    from novactl import moves

    return ShowOne(show_fields(moves.resize_confirm(app.inventory, server)))


@command("resize-revert", "servers", examples=["resize-revert web1"])
@click.argument("server")
@with_output
@pass_app
def resize_revert(app: App, server: str) -> ShowOne:
    """Revert a resize or cold migration: back to the old host and flavor."""
    from novactl import moves

    return ShowOne(show_fields(moves.resize_revert(app.inventory, server)))


@command("migrate", "servers", examples=["migrate web1", "migrate web1 --host compute2"])
@click.argument("server")
@click.option("--host", shell_complete=complete("hosts"), help="Destination host (it must still pass the scheduler's filters).")
@click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True, help=TIMEOUT_HELP)
@with_output
@pass_app
def migrate(app: App, server: str, host: str | None, timeout: float) -> ShowOne:
    """Cold-migrate a server to another host (scheduler's choice); confirm or revert afterwards."""
    from novactl import moves

    instance = moves.migrate(app.inventory, server, host, timeout)
    return ShowOne(show_fields(instance), footer=f"Migrated to {instance.host}; now resize-confirm or resize-revert.")


@command("live-migration", "servers", examples=["live-migration web1", "live-migration web1 compute2"])
@click.argument("server")
@click.argument("host", required=False, shell_complete=complete("hosts"))
@with_output
@pass_app
def live_migration(app: App, server: str, host: str | None) -> ShowOne:
    """Live-migrate a running server with its local disks (block migration) to HOST or the scheduler's choice."""
    from novactl import moves

    instance, seconds = moves.live_migration(app.inventory, server, host)
    return ShowOne(show_fields(instance), footer=f"Live-migrated to {instance.host} in {seconds:.1f} s.")


@command("image-create", "images", examples=["image-create web1 web1-snap"])
@click.argument("server")
@click.argument("image_name")
@with_output
@pass_app
def image_create(app: App, server: str, image_name: str) -> ShowOne:
    """Snapshot a server's disk into a standalone qcow2 next to the inventory and add it to `images:`."""
    import yaml

    from novactl import lifecycle

    snap = lifecycle.image_create(app.inventory, server, image_name)
    if snap.appended:
        footer = f"Saved {snap.path}; added to {app.inventory.path}'s images."
    else:
        footer = f"Saved {snap.path}. Add this to the inventory's images: list:\n" + yaml.safe_dump([snap.entry], sort_keys=False)
    return ShowOne({**snap.entry, "path": str(snap.path)}, footer=footer)


@command("evacuate", "hosts", examples=["evacuate compute1 --dry-run", "evacuate compute1"])
@click.argument("host", shell_complete=complete("hosts"))
@click.option("--dry-run", is_flag=True, help="Print the plan (instance, action, target) and touch nothing.")
@click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True, help=TIMEOUT_HELP)
@with_output
@pass_app
def evacuate(app: App, host: str, dry_run: bool, timeout: float) -> Listing:
    """Move every instance off HOST: running ones live, shut-off ones cold (confirmed at once)."""
    from novactl import moves

    rows, codes = [], []
    for step, outcome in moves.evacuate(app.inventory, host, dry_run, timeout):
        target = absent(step.target.host if step.target else None)
        result = outcome.result if outcome else (f"ERROR: {step.problem}" if step.problem else "planned")
        codes.append(outcome.exit_code if outcome else step.exit_code)
        rows.append([step.instance.uuid, step.instance.name, absent(step.action), target, result])
    return Listing(["ID", "Name", "Action", "Target", "Result"], rows, exit_code=first_failure(codes))
