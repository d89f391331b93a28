"""This side's SSH files (remote/client_files.py): read once per process, read again when replaced."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import paramiko

from novactl.remote import client_files


def _new_key(path: Path) -> None:
    path.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def test_the_key_is_read_once_for_every_connection_and_again_when_replaced(tmp_path: Path) -> None:
    path = tmp_path / "id_ed25519"
    _new_key(path)
    keys: list[paramiko.PKey | None] = []
    readers = [threading.Thread(target=lambda: keys.append(client_files.private_key(str(path)))) for _ in range(8)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert isinstance(keys[0], paramiko.Ed25519Key) and all(key is keys[0] for key in keys)
    before = path.stat().st_mtime_ns
    _new_key(path)  # a new key under the same name (and, within the clock's tick, maybe the same inode)
    os.utime(path, ns=(before + 10**9, before + 10**9))
    replaced = client_files.private_key(str(path))
    assert replaced is not None and replaced.asbytes() != keys[0].asbytes()
    public = (tmp_path / "id_ed25519.pub").read_text().split()[1]
    assert replaced.get_base64() == public


def test_a_key_that_does_not_load_is_left_to_paramiko(tmp_path: Path) -> None:
    """None, so the connection hands paramiko the path and fails as it always did."""
    missing, garbage, locked = tmp_path / "missing", tmp_path / "garbage", tmp_path / "locked"
    garbage.write_text("not a key\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(locked)], check=True)
    assert [client_files.private_key(str(p)) for p in (missing, garbage, locked)] == [None, None, None]


def test_known_hosts_is_parsed_once_and_again_when_edited(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("")
    first = client_files.known_hosts(str(path))
    assert client_files.known_hosts(str(path)) is first and first.key_types("h") == []
    path.write_text("h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    assert client_files.known_hosts(str(path)).key_types("h") == ["ssh-ed25519"]
