"""This machine as a host: commands through the `sh` library, files and locks directly."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import sh

from novactl.errors import HostError
from novactl.models import HostConfig
from novactl.remote import CommandFailed, Result, partial_file


class LocalConnection:
    """This machine: commands through the `sh` library, libvirt at the configured local URI."""

    def __init__(self, host: HostConfig):
        self.host = host
        self._listeners: dict[int, tuple[socket.socket, threading.Thread]] = {}
        self._held = contextlib.ExitStack()  # the locks `hold` took, released by close()
        self._held_paths: set[str] = set()

    def run(self, argv: list[str], *, check: bool = True, timeout: float = 300) -> Result:
        try:
            done = sh.Command(argv[0])(
                *argv[1:],
                _ok_code=list(range(256)),
                _timeout=timeout,
                _return_cmd=True,
                _tty_out=False,
                _decode_errors="replace",
            )
            result = Result(self.host.name, tuple(argv), done.exit_code, str(done), done.stderr.decode(errors="replace"))
        except sh.CommandNotFound:
            result = Result(self.host.name, tuple(argv), 127, "", f"{argv[0]}: command not found")
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    def read_file(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        _atomic_write_local(path, data, mode)

    def write_files(self, files: Mapping[str, bytes], mode: int = 0o644) -> None:
        for path, data in files.items():
            self.write_file(path, data, mode)

    def open_libvirt(self):
        from novactl.remote.libvirt_client import open_connection

        return open_connection(self.host.libvirt_uri, self.host.name, self.host.connect_timeout)

    @contextmanager
    def lock(self, path: str, timeout: float = 60) -> Iterator[None]:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise HostError(self.host.name, f"timed out after {timeout:g} s waiting for lock {path}") from None
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def lock_then_run(self, path: str, argv: list[str], timeout: float = 60) -> Iterator[Result]:
        with self.lock(path, timeout):
            yield self.run(argv)

    def hold(self, path: str, timeout: float = 60) -> None:
        """This process holds the lock until close(): only the process's own end can end it."""
        self._held.enter_context(self.lock(path, timeout))
        self._held_paths.add(path)

    def holds(self, path: str) -> bool:
        return path in self._held_paths

    def put_file(self, local_path: str, remote_path: str, progress: Callable[[int], None] | None = None) -> None:
        shutil.copyfile(local_path, remote_path)
        if progress:
            progress(os.path.getsize(local_path))

    def get_file(self, remote_path: str, local_path: str, progress: Callable[[int], None] | None = None) -> None:
        """shutil.copyfile into a temporary name beside `local_path`, renamed when complete."""
        with partial_file(local_path) as tmp:
            try:
                shutil.copyfile(remote_path, tmp)
            except FileNotFoundError:
                raise HostError(self.host.name, f"reading {remote_path} failed: no such file") from None
        if progress:
            progress(os.path.getsize(local_path))

    def forward_loopback(self, accept: Callable[[socket.socket, int], None]) -> int:
        """Listen on this machine's 127.0.0.1 (any free port); every connection comes to `accept(socket, port)` in a thread of its own."""
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:  # closed by cancel_forward
                    return
                threading.Thread(target=accept, args=(conn, port), daemon=True, name="local-forwarded").start()

        server = threading.Thread(target=serve, daemon=True, name="local-forward")
        server.start()
        self._listeners[port] = (listener, server)
        return port

    def cancel_forward(self, port: int) -> None:
        listener, server = self._listeners.pop(port, (None, None))
        if listener is not None and server is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
            listener.close()
            server.join(self.host.connect_timeout)

    def connect_loopback(self, port: int) -> socket.socket:
        conn = self.open_tcp("127.0.0.1", port, self.host.connect_timeout)
        conn.settimeout(None)
        return conn

    def open_tcp(self, address: str, port: int, timeout: float) -> socket.socket:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            raise HostError(self.host.name, f"cannot connect to {address}:{port}: {exc.strerror or exc}") from None

    def close(self) -> None:
        for port in list(self._listeners):
            self.cancel_forward(port)
        self._held.close()
        self._held_paths.clear()


def _atomic_write_local(path: str, data: bytes, mode: int) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
