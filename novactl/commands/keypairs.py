"""keypair-add, keypair-list, keypair-show, keypair-delete: the inventory's keypairs (no host is contacted)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from novactl.commands.common import App, command, pass_app, with_output
from novactl.output import Listing, ShowOne

if TYPE_CHECKING:
    from novactl.models import Keypair


def _fields(keypair: Keypair) -> dict:
    return {
        "fingerprint": keypair.fingerprint,
        "name": keypair.name,
        "private_key": keypair.private_key or None,  # null, not "": no private key here
        "public_key": keypair.public_key,
        "type": keypair.type,
    }


@command("keypair-add", "access", examples=["keypair-add mykey", "keypair-add laptop --pub-key ~/.ssh/id_ed25519.pub"])
@click.argument("name")
@click.option("--pub-key", type=click.Path(dir_okay=False, path_type=Path), help="Public key file (else an ed25519 pair is generated).")
@with_output
@pass_app
def keypair_add(app: App, name: str, pub_key: Path | None) -> ShowOne:
    """Create a keypair: import --pub-key, or generate one and write its private key (0600) here."""
    import yaml

    from novactl import keypairs

    added = keypairs.add(app.inventory, name, pub_key)
    lines = [f"Private key written to {added.keypair.private_key} (mode 0600)."] if added.keypair.private_key else []
    if added.appended:
        lines.append(f"Added to {added.inventory}'s keypairs.")
    else:
        lines.append(f"Add this to {added.inventory}'s keypairs: list:\n" + yaml.safe_dump([added.entry], sort_keys=False))
    return ShowOne(_fields(added.keypair), footer="\n".join(lines), exit_code=0 if added.appended else 1)


@command("keypair-list", "access", examples=["keypair-list"], inventory_only=True)
@with_output
@pass_app
def keypair_list(app: App) -> Listing:
    """Print a list of keypairs."""
    return Listing(["Name", "Type", "Fingerprint"], [[k.name, k.type, k.fingerprint] for k in app.inventory.keypairs])


@command("keypair-show", "access", examples=["keypair-show mykey"], inventory_only=True)
@click.argument("name")
@with_output
@pass_app
def keypair_show(app: App, name: str) -> ShowOne:
    """Show details about the given keypair."""
    return ShowOne(_fields(app.inventory.keypair(name)))


@command("keypair-delete", "access", examples=["keypair-delete mykey"])
@click.argument("name")
@pass_app
def keypair_delete(app: App, name: str) -> None:
    """Delete keypair given by its name (a private key novactl wrote stays where it is)."""
    from novactl import keypairs

    keypairs.delete(app.inventory, name)
