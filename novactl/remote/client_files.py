"""This side's SSH files, read once per process: every host of an inventory usually names the same ones.

paramiko's SSHClient reads a `key_filename` on every connection, once per key class it tries (RSA,
then ECDSA, then Ed25519: three reads and parses for an Ed25519 key), and novactl parsed known_hosts
once per connection too. A poll of 8 hosts did that 8 times at once. Each file is remembered with
the identity of what was read (device, inode, size, modification time), so a file replaced or
edited meanwhile is read again, and the first reader holds a lock while the others wait for it.

Only a key that loads is remembered; a key that does not is left to paramiko, which fails the
connection exactly as it always did (its message and exception type).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

import paramiko

from novactl.remote.known_hosts import KnownHosts

T = TypeVar("T")
_KNOWN_HOSTS_MAX = 16 * 1024 * 1024  # bytes of known_hosts read: a stray device or huge file stays bounded
_lock = threading.Lock()
_read: dict[tuple[str, str], tuple[tuple[int, ...], object]] = {}  # (kind, path) -> (identity, what it gave)


def known_hosts(path: str) -> KnownHosts:
    """The parsed known_hosts at `path`; OSError when it cannot be read."""

    def read() -> KnownHosts:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return KnownHosts.from_text(handle.read(_KNOWN_HOSTS_MAX), path)

    return _remembered("known_hosts", path, read)


def private_key(path: str) -> paramiko.PKey | None:
    """The private key at `path` (no passphrase), as SSHClient would load it from `key_filename`: the
    first of RSA, ECDSA and Ed25519 that reads it, with its `-cert.pub` certificate beside it if there
    is one. None when it cannot be loaded: then the caller hands paramiko the path, as before."""

    def read() -> paramiko.PKey | None:
        for key_class in (paramiko.RSAKey, paramiko.ECDSAKey, paramiko.Ed25519Key):
            try:
                key = key_class.from_private_key_file(path)
            except (paramiko.SSHException, ValueError):
                continue
            if os.path.isfile(path + "-cert.pub"):
                key.load_certificate(path + "-cert.pub")
            return key
        return None

    try:
        return _remembered("private_key", path, read)
    except (OSError, paramiko.SSHException, ValueError):
        return None


def _remembered(kind: str, path: str, read: Callable[[], T]) -> T:
    """`read()`'s result for `path`, read again only when the file at `path` is not the one read before."""
    with _lock:
        status = os.stat(path)
        identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
        known = _read.get((kind, path))
        if known is not None and known[0] == identity:
            return known[1]  # type: ignore[return-value]
        value = read()
        if value is not None:
            _read[(kind, path)] = (identity, value)
        return value
