"""Guest host keys remembered here, for when the console no longer shows them.

cloud-init prints the fingerprints once per instance, and the console log starts afresh each time the
guest starts, so after a stop/start the block is gone. Once `novactl ssh` has seen a block on the
console, its fingerprints are kept in `~/.config/novactl/guest_host_keys/<instance uuid>` (directory
0700, file 0600, like the keypairs' private keys) and used when the console has no block. Only
fingerprints read from the console are ever written, never a key seen on the network: this remembers
a pin, it does not trust on first use. A file that is not this user's private regular file is ignored.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

from novactl.access import fingerprints
from novactl.access.fingerprints import BEGIN, END, Fingerprint

PINS_DIR = Path("~/.config/novactl/guest_host_keys")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MAX_BYTES = 64 * 1024


def remembered(instance_uuid: str, directory: Path = PINS_DIR) -> list[Fingerprint]:
    path = _path(instance_uuid, directory)
    if path is None:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            return []
        text = handle.read(_MAX_BYTES).decode("utf-8", "replace")
    return fingerprints.parse(f"{BEGIN}\n{text}\n{END}\n") or []


def remember(instance_uuid: str, pins: list[Fingerprint], directory: Path = PINS_DIR) -> None:
    """Keep the console's fingerprints (best effort: an unwritable directory only loses the memory)."""
    path = _path(instance_uuid, directory)
    if path is None or not pins:
        return
    text = "".join(f"{p.bits} SHA256:{p.sha256} ({p.key_type})\n" for p in pins)
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pins-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except OSError:
            os.unlink(tmp)
            raise


def _path(instance_uuid: str, directory: Path) -> Path | None:
    return directory.expanduser() / instance_uuid if _UUID.fullmatch(instance_uuid) else None
