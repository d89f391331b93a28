"""SSHConnection's own bookkeeping, without a host: what it does once its SSH connection is gone."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from novactl.errors import HostError
from novactl.models import HostConfig
from novactl.remote import LockLost
from novactl.remote.ssh import SSHConnection
from tests.unit.test_remote_transport import _ProcessChannel


def _connection_already_closed() -> SSHConnection:
    """An SSHConnection whose paramiko client has been closed: `get_transport()` answers None."""
    conn = SSHConnection.__new__(SSHConnection)
    conn.host = HostConfig(name="gone", address="192.0.2.1", connect_timeout=5)
    conn._client = paramiko.SSHClient()
    conn._tunnel = None
    conn._shell = None
    conn._free_fds = list(range(9, 2, -1))
    conn._path_locks = {}
    conn._forwards = {}
    conn._locked, conn._held, conn._replacing = {}, {}, threading.Lock()
    return conn


@pytest.fixture
def thread_failures(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Exceptions that escape a thread (Python would print their tracebacks)."""
    failures: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    return failures


def test_forwarding_on_a_closed_connection_is_a_lost_connection_at_once(thread_failures: list[BaseException]) -> None:
    conn = _connection_already_closed()
    started = time.monotonic()
    with pytest.raises(HostError, match="the SSH connection is closed"):
        conn.forward_loopback(lambda channel, port: None)
    assert time.monotonic() - started < conn.host.connect_timeout  # not a wait for an answer that cannot come
    assert thread_failures == []


def test_libvirt_on_a_closed_connection_is_a_lost_connection_with_no_thread_traceback(thread_failures: list[BaseException]) -> None:
    conn = _connection_already_closed()
    with pytest.raises(HostError, match="the connection was lost"):
        conn.open_libvirt()
    time.sleep(0.2)  # a tunnel's accept thread, had one started, would have failed by now
    assert thread_failures == [] and conn._tunnel is None


def test_commands_and_transfers_on_a_closed_connection_are_host_errors(tmp_path) -> None:
    conn = _connection_already_closed()
    with pytest.raises(HostError, match="the connection was lost"):
        conn.run(["true"])
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(HostError, match="the SSH connection is closed"):
        conn.put_file(str(tmp_path / "f"), "/tmp/f")
    with pytest.raises(HostError, match="the SSH connection is closed"):
        conn.get_file("/tmp/f", str(tmp_path / "g"))
    with pytest.raises(HostError, match="the SSH connection is closed"):
        conn.open_tcp("127.0.0.1", 22, 1)


# -- host locks and the remote shell holding them ----------------------------------------------------


class _Session(_ProcessChannel):
    """A session whose process is the remote `sh -s` itself, as under sshd: killing it ends the shell."""

    def exec_command(self, command: str) -> None:
        self.process = subprocess.Popen(["sh", "-c", f"exec {command}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)


class _Shells:
    """paramiko's client and transport as SSHConnection uses them, each session a local `sh -s`."""

    def __init__(self) -> None:
        self.channels: list[_ProcessChannel] = []

    def get_transport(self) -> _Shells:
        return self

    def open_session(self, timeout: float | None = None) -> _ProcessChannel:
        self.channels.append(_Session())
        return self.channels[-1]

    def end_shell(self) -> None:
        """The host's `sh` dies (killed, OOM): sshd closes the channel, paramiko marks it closed."""
        self.channels[-1].close()

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


@pytest.fixture
def shells() -> Iterator[tuple[SSHConnection, _Shells]]:
    conn, client = _connection_already_closed(), _Shells()
    conn._client = client  # type: ignore[assignment]
    yield conn, client
    client.close()


def _locked_elsewhere(path: Path) -> bool:
    return subprocess.run(["flock", "-n", str(path), "true"], check=False).returncode != 0


def _freed(path: Path) -> bool:
    """The lock becomes free: at once, or once the last child of the ended shell (a command of its last
    reply, which inherited the descriptor) has exited too."""
    deadline = time.monotonic() + 10
    while _locked_elsewhere(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _locked_elsewhere(path)


def test_a_lock_in_use_is_never_silently_lost_with_its_shell(shells, tmp_path: Path) -> None:
    conn, client = shells
    lock = tmp_path / "locks" / "ipam.lock"
    with conn.lock(str(lock)):
        assert _locked_elsewhere(lock)
        client.end_shell()
        assert _freed(lock)  # the lock went with the shell
        with pytest.raises(LockLost, match=f"the remote shell holding {lock} has ended"):
            conn.run(["touch", str(tmp_path / "written-unlocked")])  # not run in a new shell, unlocked
        with pytest.raises(LockLost):
            conn.write_file(str(tmp_path / "lease.json"), b"{}")
    assert not (tmp_path / "written-unlocked").exists() and not (tmp_path / "lease.json").exists()
    assert conn.run(["echo", "next"]).stdout == "next\n"  # the lock's user is done: a new shell serves the rest


def test_a_held_lock_that_went_with_its_shell_is_no_longer_held(shells, tmp_path: Path) -> None:
    conn, client = shells
    lock = tmp_path / "locks" / "builder-0123456789abcdef.lock"
    conn.hold(str(lock))
    assert conn.holds(str(lock)) and _locked_elsewhere(lock)
    conn.run(["true"])
    assert conn.holds(str(lock))
    client.end_shell()
    assert not conn.holds(str(lock))
    assert conn.run(["echo", "next"]).stdout == "next\n"
    assert not conn.holds(str(lock)) and _freed(lock)
    conn.hold(str(lock))  # taken again, by the new shell, on the descriptor the old hold had
    assert conn.holds(str(lock)) and _locked_elsewhere(lock)


def _debug_message(text: bytes) -> paramiko.Message:
    message = paramiko.Message()
    message.add_boolean(False)
    message.add_string(text)
    message.add_string(b"")
    message.rewind()
    return message


def test_a_host_debug_message_is_formatted_only_when_debug_is_logged(monkeypatch, caplog) -> None:
    from novactl.remote.ssh import _Transport

    ours, theirs = socket.socketpair()
    transport = _Transport(ours)
    try:
        escaped = []
        monkeypatch.setattr(paramiko.util, "safe_string", lambda s: escaped.append(s) or s)
        transport.logger.setLevel(logging.INFO)
        transport._parse_debug(_debug_message(b"key options: pty"))
        assert escaped == []
        transport.logger.setLevel(logging.DEBUG)
        with caplog.at_level(logging.DEBUG, logger=transport.logger.name):
            transport._parse_debug(_debug_message(b"key options: pty"))
        assert escaped == [b"key options: pty"]
        assert "Debug msg: b'key options: pty'" in caplog.text
    finally:
        transport.logger.setLevel(logging.NOTSET)
        ours.close()
        theirs.close()
