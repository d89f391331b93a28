"""Commands and files on a host: over SSH (paramiko, strict host keys) or on this machine.

Both connections have one interface: `run(argv)` returns a `Result` (never a shell string built from
input: the argument list is quoted with shlex), `read_file`/`write_file` move bytes, and
`open_libvirt()` gives a libvirt connection. Over SSH, libvirt's RPC is tunnelled through the same
SSH connection (a channel running `virt-ssh-helper` on the host, bridged to a private local Unix
socket), so the host key is checked once, by paramiko, against the configured known_hosts: libvirt's
own qemu+ssh transport ignores a `known_hosts=` parameter.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import shlex
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import paramiko

from novactl.errors import HostError
from novactl.models import HostConfig

LOG = logging.getLogger(__name__)


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

    def run(self, argv: list[str], *, check: bool = True, input: bytes | None = None, timeout: float = 300) -> Result: ...

    def read_file(self, path: str) -> bytes | None: ...

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None: ...

    def open_libvirt(self): ...

    def lock(self, path: str, timeout: float = 60) -> AbstractContextManager[None]: ...

    def put_file(self, local_path: str, remote_path: str, progress: Callable[[int], None] | None = None) -> None: ...

    def close(self) -> None: ...


def connect(host: HostConfig) -> Connection:
    """Open the connection a host's transport calls for; raises Unreachable with the reason."""
    return LocalConnection(host) if host.transport == "local" else SSHConnection(host)


class LocalConnection:
    """This machine: commands through the `sh` library, libvirt at the configured local URI."""

    def __init__(self, host: HostConfig):
        self.host = host

    def run(self, argv: list[str], *, check: bool = True, input: bytes | None = None, timeout: float = 300) -> Result:
        import sh  # imported here: it costs start-up time the SSH-only and read-only paths don't need

        try:
            done = sh.Command(argv[0])(
                *argv[1:],
                _in=input,
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

    def open_libvirt(self):
        import libvirt

        try:
            return libvirt.open(self.host.libvirt_uri)
        except libvirt.libvirtError as exc:
            raise Unreachable(self.host.name, f"libvirt {self.host.libvirt_uri}: {exc.get_error_message()}") from None

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

    def put_file(self, local_path: str, remote_path: str, progress: Callable[[int], None] | None = None) -> None:
        shutil.copyfile(local_path, remote_path)
        if progress:
            progress(os.path.getsize(local_path))

    def close(self) -> None:
        pass


def _atomic_write_local(path: str, data: bytes, mode: int) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class SSHConnection:
    """One paramiko SSH connection per host per command; every channel multiplexes over it."""

    def __init__(self, host: HostConfig):
        self.host = host
        self._client = paramiko.SSHClient()
        self._tunnel: _LibvirtTunnel | None = None
        self._sftp: paramiko.SFTPClient | None = None
        known_hosts = os.path.expanduser(host.known_hosts)
        try:
            self._client.load_host_keys(known_hosts)
        except OSError as exc:
            raise Unreachable(host.name, f"cannot read known_hosts {known_hosts}: {exc.strerror}") from None
        self._client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            self._client.connect(
                host.address,
                port=host.ssh_port,
                username=host.ssh_user,
                key_filename=os.path.expanduser(host.ssh_key) if host.ssh_key else None,
                look_for_keys=host.ssh_key is None,
                allow_agent=host.ssh_key is None,
                timeout=host.connect_timeout,
                banner_timeout=host.connect_timeout,
                auth_timeout=host.connect_timeout,
                channel_timeout=host.connect_timeout,
            )
        except paramiko.BadHostKeyException:
            raise Unreachable(host.name, f"host key for {host.address} does not match {known_hosts}; refusing to connect") from None
        except paramiko.AuthenticationException:
            raise Unreachable(host.name, f"SSH authentication failed for {host.ssh_user}@{host.address}") from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise Unreachable(host.name, f"{host.address} is not in {known_hosts}; refusing an unknown host key") from None
            raise Unreachable(host.name, f"SSH to {host.address}: {exc}") from None
        except TimeoutError:  # socket.timeout is TimeoutError
            raise Unreachable(host.name, f"{host.address}:{host.ssh_port}: timed out after {host.connect_timeout:g} s") from None
        except OSError as exc:  # includes paramiko's NoValidConnectionsError
            raise Unreachable(host.name, f"{host.address}:{host.ssh_port}: {exc.strerror or exc}") from None
        transport = self._client.get_transport()
        assert transport is not None
        transport.set_keepalive(30)

    def run(self, argv: list[str], *, check: bool = True, input: bytes | None = None, timeout: float = 300) -> Result:
        try:
            stdin, stdout, stderr = self._client.exec_command(shlex.join(argv), timeout=timeout)
            if input is not None:
                stdin.write(input)
            stdin.channel.shutdown_write()
            out = stdout.read()
            err = stderr.read()
            status = stdout.channel.recv_exit_status()
        except (paramiko.SSHException, OSError) as exc:
            raise HostError(self.host.name, f"{shlex.join(argv)}: {exc}") from None
        result = Result(self.host.name, tuple(argv), status, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            self._sftp = self._client.open_sftp()
        return self._sftp

    def read_file(self, path: str) -> bytes | None:
        try:
            with self.sftp.open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        directory = os.path.dirname(path)
        tmp = f"{directory}/.tmp-{os.getpid()}-{threading.get_ident()}"
        self.run(["mkdir", "-p", directory])
        with self.sftp.open(tmp, "wb") as handle:
            handle.write(data)
        self.sftp.chmod(tmp, mode)
        self.sftp.posix_rename(tmp, path)

    def open_libvirt(self):
        import libvirt

        if self._tunnel is None:
            self._tunnel = _LibvirtTunnel(self._client.get_transport(), self.host.libvirt_uri)
        uri = f"{self.host.libvirt_uri.split(':', 1)[0].split('+')[0]}+unix:///system?socket={self._tunnel.socket_path}"
        try:
            return libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise HostError(self.host.name, f"libvirt over SSH: {exc.get_error_message()}") from None

    @contextmanager
    def lock(self, path: str, timeout: float = 60) -> Iterator[None]:
        """flock(1) on the host, held by a remote process for as long as our channel stays open.

        If this process dies, the channel closes, `cat` sees EOF and the lock is released: a lock
        never outlives its holder.
        """
        channel = self._client.get_transport().open_session()
        try:
            channel.settimeout(timeout + self.host.connect_timeout)
            channel.exec_command(shlex.join(["sh", "-c", _LOCK_SCRIPT, "sh", path, str(int(timeout))]))
            answer = channel.recv(64)
            if not answer.startswith(b"locked"):
                status = channel.recv_exit_status()
                raise HostError(self.host.name, f"cannot lock {path} (exit {status}; timed out after {timeout:g} s?)")
            yield
        finally:
            channel.shutdown_write()
            channel.close()

    def put_file(self, local_path: str, remote_path: str, progress: Callable[[int], None] | None = None) -> None:
        """Stream a file into `cat` on the host through one wide channel.

        SFTP's 32 KiB requests and small default windows make large images crawl; one exec channel
        with a large window and 1 MiB writes keeps the pipe full.
        """
        channel = self._client.get_transport().open_session(window_size=64 * 1024 * 1024, max_packet_size=32768)
        try:
            channel.exec_command(shlex.join(["sh", "-c", 'exec cat > "$1"', "sh", remote_path]))
            with open(local_path, "rb") as source:
                while chunk := source.read(1024 * 1024):
                    channel.sendall(chunk)
                    if progress:
                        progress(len(chunk))
            channel.shutdown_write()
            status = channel.recv_exit_status()
            if status != 0:
                error = channel.recv_stderr(4096).decode(errors="replace").strip()
                raise HostError(self.host.name, f"writing {remote_path} failed (exit {status}): {error}")
        finally:
            channel.close()

    def close(self) -> None:
        if self._tunnel is not None:
            self._tunnel.close()
        self._client.close()


# Constant text; the lock path and timeout arrive as $1 and $2.
_LOCK_SCRIPT = 'mkdir -p "$(dirname "$1")" && exec flock -w "$2" -x "$1" sh -c "echo locked; exec cat >/dev/null"'


class _LibvirtTunnel:
    """A private Unix socket whose every connection is bridged to `virt-ssh-helper URI` on the host."""

    def __init__(self, transport: paramiko.Transport, uri: str):
        self._transport = transport
        self._uri = uri
        self._dir = tempfile.mkdtemp(prefix="novactl-libvirt-")  # mode 0700: only we can connect
        self.socket_path = os.path.join(self._dir, "sock")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(4)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="libvirt-tunnel").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                channel = self._transport.open_session()
                channel.exec_command(shlex.join(["virt-ssh-helper", self._uri]))
            except (paramiko.SSHException, OSError) as exc:
                LOG.debug("libvirt tunnel: cannot open channel: %s", exc)
                client.close()
                continue
            threading.Thread(target=_pump, args=(client, channel), daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._server.close()
        try:
            os.unlink(self.socket_path)
            os.rmdir(self._dir)
        except OSError:
            pass


def _pump(sock: socket.socket, channel: paramiko.Channel) -> None:
    """Copy bytes both ways until either side closes."""
    try:
        while True:
            readable, _, _ = select.select([sock, channel], [], [])
            if sock in readable:
                data = sock.recv(262144)
                if not data:
                    break
                channel.sendall(data)
            if channel in readable:
                data = channel.recv(262144)
                if not data:
                    break
                sock.sendall(data)
    except OSError:
        pass
    finally:
        channel.close()
        sock.close()
