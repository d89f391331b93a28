"""SSHConnection's own bookkeeping, without a host: what it does once its SSH connection is gone."""

from __future__ import annotations

import threading
import time

import paramiko
import pytest

from novactl.errors import HostError
from novactl.models import HostConfig
from novactl.remote.ssh import SSHConnection


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
