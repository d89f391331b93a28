"""Keypairs as Nova keeps them: a name and an OpenSSH public key, in the inventory's `keypairs:` list.

keypair-add without a public key generates an ed25519 pair here; the private key is written to
~/.config/novactl/keys/NAME (mode 0600, directory 0700) and its path recorded, so `novactl ssh` can use
it. Only the public key is ever put in the inventory or sent to a host.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from novactl.errors import NovactlError, UsageError
from novactl.inventory_edit import append_item, remove_item, writable_inventory
from novactl.inventory_schema import SAFE_NAME, SSH_PUBLIC_KEY
from novactl.models import Inventory, Keypair, blob_type

KEYS_DIR = Path("~/.config/novactl/keys")
GENERATED_COMMENT = "Generated-by-novactl"  # Nova's generated keys say Generated-by-Nova


@dataclass
class Added:
    keypair: Keypair
    inventory: Path
    appended: bool  # False: the user must add `entry` by hand
    entry: dict


def read_public_key(path: Path) -> str:
    """The one key line of an OpenSSH .pub file, checked as Nova checks it (cryptography's parser)."""
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read public key: {getattr(exc, 'strerror', None) or exc}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or not re.fullmatch(SSH_PUBLIC_KEY, lines[0]):
        raise UsageError(f"{path}: not one OpenSSH public key line (TYPE BASE64 [comment])")
    try:
        load_ssh_public_key(lines[0].encode())
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path}: Keypair data is invalid: {exc}") from None  # Nova's InvalidKeypair words
    if blob_type(lines[0]) != lines[0].split()[0]:
        raise UsageError(f"{path}: the key data is not a {lines[0].split()[0]} key")
    return lines[0]


def generate() -> tuple[bytes, str]:
    """A new ed25519 pair: the private key in OpenSSH PEM form, the public key line."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} {GENERATED_COMMENT}"


def add(inventory: Inventory, name: str, public_key_file: Path | None) -> Added:
    if not re.fullmatch(SAFE_NAME, name):
        raise UsageError(f"keypair name {name!r} is not safe (letters, digits, '.', '_', '-'; at most 63)")
    if any(k.name == name for k in inventory.keypairs):
        raise UsageError(f"Key pair '{name}' already exists.")  # Nova's KeyPairExists
    private_path = None
    if public_key_file is not None:
        public_key = read_public_key(public_key_file)
    else:
        private_path = KEYS_DIR.expanduser() / name
        if private_path.exists():
            raise UsageError(f"{private_path} already exists: delete it or pass --pub-key")
        private, public_key = generate()
    path = writable_inventory(inventory)
    if private_path is not None:
        _write_private(private_path, private)
    entry: dict = {"name": name, "type": "ssh", "public_key": public_key}
    if private_path is not None:
        entry["private_key"] = str(private_path)
    keypair = Keypair(name, public_key, "ssh", str(private_path) if private_path else None)
    return Added(keypair, path, append_item(path, "keypairs", entry), entry)


def delete(inventory: Inventory, name: str) -> Path:
    """Remove the keypair from the inventory; a private key novactl wrote stays (it is the user's)."""
    inventory.keypair(name)  # NotFound, exit 4
    path = Path(inventory.path)
    if not remove_item(path, "keypairs", name):
        raise NovactlError(f"{path}: could not remove keypair {name!r} as text (flow-style list?): remove it by hand")
    return path


def _write_private(path: Path, private: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
