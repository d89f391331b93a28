"""Commands and files on a host: over SSH (paramiko, strict host keys) or on this machine.

Both connections have one interface: `run(argv)` returns a `Result` (never a shell string built from
input: the argument list is quoted with shlex), `read_file`/`write_file` move small files,
`put_file`/`get_file` stream a large one there and back, `lock` holds a host-side flock, and `open_libvirt()` gives a libvirt
connection; `write_files` (several files) and `lock_then_run` (a lock and a command under it) each
save round trips. Over SSH every command runs in one long-lived remote shell per connection (ssh.py),
and libvirt's RPC is tunnelled through the same SSH connection (tunnel.py).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from novactl.errors import HostError
from novactl.models import HostConfig

# paramiko imports invoke (unittest.mock, asyncio, ssl: a third of paramiko's import time) only to
# run `Match exec` lines of OpenSSH config files, which novactl never reads; a CLI pays import time
# on every run. Set here, in the package every paramiko importer of novactl lives in, so it is set
# before paramiko's first import whichever module comes first (a boot imports paramiko via splice.py).
sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Result:
    host: str
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class Unreachable(HostError):
    """The host could not be reached or refused the SSH session (timeout, refused, host key, auth)."""


class LockLost(HostError):
    """A host lock this connection held has gone with the remote shell that held it (the shell ended)."""


class CommandFailed(HostError):
    def __init__(self, result: Result):
        detail = (result.stderr or result.stdout).strip().splitlines()
        super().__init__(
            result.host,
            f"{shlex.join(result.argv)} exited {result.exit_status}" + (f": {detail[-1]}" if detail else ""),
        )
        self.result = result


class Connection(Protocol):
    host: HostConfig

    def run(self, argv: list[str], *, check: bool = True, timeout: float = 300) -> Result: ...

    def read_file(self, path: str) -> bytes | None: ...

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None: ...

    def write_files(self, files: Mapping[str, bytes], mode: int = 0o644) -> None:
        """Several small files in one round trip; each appears whole (renamed into place) or not at all."""
        ...

    def open_libvirt(self): ...

    def lock(self, path: str, timeout: float = 60) -> AbstractContextManager[None]: ...

    def lock_then_run(self, path: str, argv: list[str], timeout: float = 60) -> AbstractContextManager[Result]:
        """`lock(path)` with `argv` run (check=True) once it is held, in one round trip."""
        ...

    def hold(self, path: str, timeout: float = 60) -> None:
        """Take the lock at `path` until this connection closes (unless its holder on the host ends first)."""
        ...

    def holds(self, path: str) -> bool:
        """Whether the lock `hold` took at `path` has been held without a break since (False once it is gone)."""
        ...

    def put_file(self, local_path: str, remote_path: str, progress: Callable[[int], None] | None = None) -> None: ...

    def get_file(self, remote_path: str, local_path: str, progress: Callable[[int], None] | None = None) -> None:
        """Copy a host file of any size to `local_path` here; HostError naming the host if it cannot be read.

        `local_path` appears only complete: the data goes to a temporary name beside it first.
        """
        ...

    def forward_loopback(self, accept: Callable[[Any, int], None]) -> int:
        """Listen on the host's 127.0.0.1; each connection there goes to `accept(conn, port)` (conn: a socket or SSH channel). The port."""
        ...

    def cancel_forward(self, port: int) -> None: ...

    def connect_loopback(self, port: int) -> Any:
        """A connection to the host's 127.0.0.1:`port` (a socket or SSH channel); HostError if refused."""
        ...

    def open_tcp(self, address: str, port: int, timeout: float):
        """A stream to `address:port` as seen from the host (a socket here, a direct-tcpip channel
        through the host's SSH connection otherwise); HostError naming the host when it cannot connect."""
        ...

    def close(self) -> None: ...


@contextlib.contextmanager
def partial_file(local_path: str) -> Iterator[str]:
    """An empty new file beside `local_path` to fill, renamed onto it on success and removed on error.

    Created with mode 0666 less the umask, as `open(local_path, "wb")` would create `local_path`.
    """
    directory, name = os.path.split(os.path.abspath(local_path))
    tmp = os.path.join(directory, f".{name}.part-{secrets.token_hex(4)}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, local_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def connect(host: HostConfig) -> Connection:
    """Open the connection a host's transport calls for; raises Unreachable with the reason."""
    if host.transport == "local":
        from novactl.remote.local import LocalConnection

        return LocalConnection(host)
    from novactl.remote.ssh import SSHConnection

    return SSHConnection(host)
