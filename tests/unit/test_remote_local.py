"""Connection.get_file without a lab: LocalConnection for real, SSHConnection over a fake channel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from novactl.errors import HostError
from novactl.models import HostConfig
from novactl.remote import partial_file
from novactl.remote.local import LocalConnection
from novactl.remote.ssh import SSHConnection

LOCAL = HostConfig(name="here", address="localhost", transport="local")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".part-" in p.name)


def test_local_get_file_copies_and_reports_progress(tmp_path: Path) -> None:
    source, target = tmp_path / "src.img", tmp_path / "out" / "copy.img"
    target.parent.mkdir()
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    seen: list[int] = []
    LocalConnection(LOCAL).get_file(str(source), str(target), seen.append)
    assert target.read_bytes() == source.read_bytes()
    assert sum(seen) == source.stat().st_size
    assert _leftovers(target.parent) == []


def test_local_get_file_of_a_missing_path_is_a_host_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(HostError, match=r"^here: reading .*/absent failed"):
        LocalConnection(LOCAL).get_file(str(tmp_path / "absent"), str(tmp_path / "copy"))
    assert list(tmp_path.iterdir()) == []


def test_partial_file_renames_on_success_removes_on_error_and_keeps_open_s_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        with partial_file(str(tmp_path / "done")) as tmp:
            Path(tmp).write_bytes(b"x")
        with pytest.raises(RuntimeError), partial_file(str(tmp_path / "failed")) as tmp:
            Path(tmp).write_bytes(b"y")
            raise RuntimeError
    finally:
        os.umask(old_umask)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"]
    assert (tmp_path / "done").stat().st_mode & 0o777 == 0o644


class _FakeChannel:
    """What paramiko's Channel does for `cat`: stdout in pieces, then EOF, exit status, stderr."""

    def __init__(self, stdout: bytes, status: int, stderr: bytes = b"") -> None:
        self._out = [stdout[i : i + 1000] for i in range(0, len(stdout), 1000)]
        self._err, self._status = [stderr] if stderr else [], status
        self.command: str | None = None
        self.closed = False

    def settimeout(self, timeout: float) -> None:
        pass

    def exec_command(self, command: str) -> None:
        self.command = command

    def recv(self, size: int) -> bytes:
        return self._out.pop(0) if self._out else b""

    def recv_stderr(self, size: int) -> bytes:
        return self._err.pop(0) if self._err else b""

    def recv_exit_status(self) -> int:
        return self._status

    def close(self) -> None:
        self.closed = True


class _FakeTransport:
    def __init__(self, channel: _FakeChannel) -> None:
        self.channel, self.opened_with = channel, {}

    def open_session(self, **kwargs: int) -> _FakeChannel:
        self.opened_with = kwargs
        return self.channel


def _ssh(channel: _FakeChannel) -> tuple[SSHConnection, _FakeTransport]:
    conn = SSHConnection.__new__(SSHConnection)  # no network: only the client's transport is used
    conn.host = HostConfig(name="far", address="192.0.2.1")
    transport = _FakeTransport(channel)
    conn._client = type("Client", (), {"get_transport": lambda self: transport})()
    return conn, transport


def test_ssh_get_file_streams_cat_on_one_wide_channel(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    conn, transport = _ssh(_FakeChannel(data, 0))
    seen: list[int] = []
    conn.get_file("/var/lib/it's here/disk", str(tmp_path / "disk"), seen.append)
    assert (tmp_path / "disk").read_bytes() == data and sum(seen) == len(data)
    assert transport.channel.command == "cat -- '/var/lib/it'\"'\"'s here/disk'"
    assert transport.opened_with["window_size"] >= 16 * 1024 * 1024 and transport.channel.closed
    assert _leftovers(tmp_path) == []


def test_ssh_get_file_failure_names_host_and_stderr_and_leaves_nothing(tmp_path: Path) -> None:
    conn, transport = _ssh(_FakeChannel(b"partial", 1, b"cat: /x: No such file or directory\n"))
    with pytest.raises(HostError, match=r"^far: reading /x failed \(exit 1\): cat: /x: No such file or directory$"):
        conn.get_file("/x", str(tmp_path / "copy"))
    assert list(tmp_path.iterdir()) == [] and transport.channel.closed


def test_local_open_tcp_connects_from_this_machine_and_names_the_host_when_refused() -> None:
    import socket

    conn = LocalConnection(LOCAL)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        stream = conn.open_tcp("127.0.0.1", port, timeout=5)
        accepted, _ = server.accept()
        stream.sendall(b"ping")
        assert accepted.recv(4) == b"ping"
        accepted.close()
        stream.close()
    with pytest.raises(HostError, match=r"here: cannot connect to 127\.0\.0\.1:"):
        conn.open_tcp("127.0.0.1", port, timeout=5)  # the server is gone: refused
