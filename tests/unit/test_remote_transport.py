"""novactl/remote without a lab: the remote shell's framing against a real local `sh`, the libvirt
tunnel's bridge under traffic both ways at once, known_hosts as OpenSSH reads it, deadlines."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import select
import socket
import subprocess
import sys
import threading
import time

import libvirt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.errors import HostError
from novactl.remote import Unreachable, libvirt_client
from novactl.remote.known_hosts import KnownHosts, host_name, parse
from novactl.remote.shell import RemoteShell
from novactl.remote.splice import Splice
from novactl.remote.tunnel import LibvirtTunnel

# -- the remote shell, framing a real `sh` ---------------------------------------------------------


class _ProcessChannel:
    """The part of paramiko's Channel RemoteShell uses, backed by a local process's pipes.

    What answers is a real `sh -s`, as sshd would start it; only the SSH layer is left out.
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self._timeout: float | None = None
        self.closed = False

    def exec_command(self, command: str) -> None:
        self.process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

    def settimeout(self, timeout: float) -> None:
        self._timeout = timeout

    def sendall(self, data: bytes) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(data)

    def recv(self, size: int) -> bytes:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self._timeout)
        if not ready:
            raise TimeoutError
        return os.read(self.process.stdout.fileno(), size)

    def close(self) -> None:
        if not self.closed and self.process is not None:
            self.closed = True
            self.process.kill()
            self.process.wait()


class _ProcessTransport:
    def __init__(self) -> None:
        self.channel = _ProcessChannel()

    def open_session(self, timeout: float | None = None) -> _ProcessChannel:
        return self.channel


@pytest.fixture
def shell():
    transport = _ProcessTransport()
    remote = RemoteShell(transport, "here")  # type: ignore[arg-type]
    yield remote
    remote.close()


def test_shell_frames_status_stdout_and_stderr_exactly(shell: RemoteShell) -> None:
    assert shell.run(["sh", "-c", "printf 'a\\nb'; printf 'err\\n' >&2; exit 3"], timeout=10) == (3, b"a\nb", b"err\n")
    assert shell.run(["true"], timeout=10) == (0, b"", b"")


def test_shell_passes_arguments_verbatim_never_as_shell_text(shell: RemoteShell) -> None:
    hostile = "$(touch /tmp/novactl-pwned); `id` 'q' \"d\" \\ * ;|&"
    assert shell.run(["printf", "%s", hostile], timeout=10) == (0, hostile.encode(), b"")


@settings(max_examples=15, deadline=None)
@given(st.binary(max_size=5000))
def test_shell_round_trips_any_bytes_including_newlines_and_token_lookalikes(data: bytes) -> None:
    transport = _ProcessTransport()
    remote = RemoteShell(transport, "here")  # type: ignore[arg-type]
    try:
        encoded = base64.b64encode(data).decode()
        # Two commands on one shell: the first reply's bytes must not bleed into the second's frame.
        assert remote.run(["sh", "-c", 'printf %s "$1" | base64 -d', "sh", encoded], timeout=10) == (0, data, b"")
        assert remote.run(["echo", "next"], timeout=10) == (0, b"next\n", b"")
    finally:
        remote.close()


def test_shell_runs_several_lines_in_one_exchange_each_reply_framed_in_order(shell: RemoteShell) -> None:
    lines = ["v=first; echo one", 'printf %s "$v" >&2; (exit 4)', "echo three"]
    assert shell.run_lines(lines, timeout=10) == [(0, b"one\n", b""), (4, b"", b"first"), (0, b"three\n", b"")]


def test_a_posted_line_runs_before_the_next_and_its_reply_is_skipped(shell: RemoteShell) -> None:
    shell.post_line("v=posted; echo not-for-anyone; (exit 3)", timeout=10)
    shell.post_line("w=twice", timeout=10)
    assert shell.run_line('printf %s "$v $w"', timeout=10) == (0, b"posted twice", b"")
    assert shell.run(["echo", "next"], timeout=10) == (0, b"next\n", b"")


def test_a_command_without_stderr_is_framed_by_builtins_only(shell: RemoteShell) -> None:
    """No program of the host's runs to frame it (the old framing ran wc twice and cat per command)."""
    shell.post_line("saved=$PATH; PATH=/nonexistent", timeout=10)
    assert shell.run_line("echo out; v=2; (exit $v)", timeout=10) == (2, b"out\n", b"")
    assert shell.run_line("printf 'no newline'", timeout=10) == (0, b"no newline", b"")
    shell.post_line("PATH=$saved", timeout=10)  # the shell's exit trap runs rm


def test_shell_large_reply_arrives_whole(shell: RemoteShell) -> None:
    status, out, _ = shell.run(["head", "-c", str(3 * 1024 * 1024 + 5), "/dev/zero"], timeout=30)
    assert (status, len(out)) == (0, 3 * 1024 * 1024 + 5)


def test_shell_deadline_covers_the_whole_reply_and_retires_the_shell(shell: RemoteShell) -> None:
    # Output that trickles in never lets a per-read timeout fire; the command's deadline still does.
    started = time.monotonic()
    with pytest.raises(HostError, match=r"^here: command timed out after 1 s"):
        shell.run(["sh", "-c", "while :; do echo x; sleep 0.1; done"], timeout=1)
    assert time.monotonic() - started < 10
    assert not shell.alive  # a late reply could be taken for the next command's: the shell is gone


def test_shell_that_dies_is_a_host_error_not_a_hang(shell: RemoteShell) -> None:
    with pytest.raises(HostError, match=r"connection closed mid-reply|unexpected reply"):
        shell.run(["sh", "-c", "kill -9 $PPID"], timeout=10)


# -- the tunnel's bridge ---------------------------------------------------------------------------


def _send_and_collect(sock: socket.socket, payload: bytes, received: list[bytes]) -> list[threading.Thread]:
    def send() -> None:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)

    def collect() -> None:
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
        received.append(b"".join(chunks))

    threads = [threading.Thread(target=send, daemon=True), threading.Thread(target=collect, daemon=True)]
    for thread in threads:
        thread.start()
    return threads


def test_bridge_carries_large_traffic_both_ways_at_once() -> None:
    """Both ends write megabytes before reading anything: a pump that serves one direction at a
    time stops when a buffer fills; one thread per direction cannot."""
    client, client_end = socket.socketpair()
    host, host_end = socket.socketpair()
    for sock in (client, client_end, host, host_end):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    up, down = os.urandom(4 * 1024 * 1024), os.urandom(4 * 1024 * 1024)
    Splice(client_end, host_end, "test")
    at_host: list[bytes] = []
    at_client: list[bytes] = []
    threads = _send_and_collect(client, up, at_client) + _send_and_collect(host, down, at_host)
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "the bridge stopped moving data"
    assert at_host == [up] and at_client == [down]


def test_bridge_closes_the_client_when_the_host_side_ends() -> None:
    client, client_end = socket.socketpair()
    host, host_end = socket.socketpair()
    Splice(client_end, host_end, "test")
    host.sendall(b"bye")
    host.close()  # virt-ssh-helper exits or the SSH connection drops
    client.settimeout(10)
    assert client.recv(100) == b"bye"
    assert client.recv(100) == b""  # EOF, not a wait: libvirt's client sees the connection end


def test_the_tunnel_bridges_the_connection_its_opener_makes_with_no_thread_waiting_for_it() -> None:
    host, host_end = socket.socketpair()
    tunnel = LibvirtTunnel(lambda: host_end)
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(tunnel.socket_path)  # as libvirt.open does, before anyone accepts
        client.sendall(b"hello")
        tunnel.bridge(time.monotonic() + 10, lambda: True)
        host.settimeout(10)
        assert host.recv(100) == b"hello"
        host.sendall(b"welcome")
        client.settimeout(10)
        assert client.recv(100) == b"welcome"
    finally:
        tunnel.close()
    assert client.recv(100) == b""  # the tunnel's close cut it


def test_the_tunnel_stops_waiting_once_nothing_will_connect_or_at_the_deadline() -> None:
    tunnel = LibvirtTunnel(lambda: pytest.fail("nothing connected"))
    try:
        tunnel.bridge(time.monotonic() + 60, lambda: False)  # libvirt.open failed before connecting: returns
        with pytest.raises(TimeoutError):
            tunnel.bridge(time.monotonic() + 0.3, lambda: True)
    finally:
        tunnel.close()


def test_a_stream_the_host_refuses_ends_the_libvirt_connection_waiting_for_it() -> None:
    def refused() -> socket.socket:
        raise ConnectionRefusedError("no such socket")

    tunnel = LibvirtTunnel(refused)
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(tunnel.socket_path)
        with pytest.raises(ConnectionRefusedError):
            tunnel.bridge(time.monotonic() + 10, lambda: True)
        client.settimeout(10)
        assert client.recv(100) == b""  # libvirt's open sees its connection end, not a wait
    finally:
        tunnel.close()


class _SlowEofChannel:
    """A channel end whose half-close, like paramiko's, marks its EOF sent and only later sends it;
    records what reaches the wire, in order."""

    def __init__(self) -> None:
        self.wire: list[str] = []
        self.building = threading.Event()
        self._closed = threading.Event()

    def recv(self, size: int) -> bytes:
        self._closed.wait(30)
        return b""

    def sendall(self, data: bytes) -> None:
        self.wire.append("data")

    def shutdown(self, how: int) -> None:
        if how == socket.SHUT_WR:
            self.building.set()
            time.sleep(0.3)  # the window in which another thread's close would overtake the EOF
            self.wire.append("eof")

    def close(self) -> None:
        self.wire.append("close")
        self._closed.set()


def test_a_close_never_overtakes_a_half_close_in_flight() -> None:
    """sshd drops the whole SSH connection for an EOF on a channel it has freed after both CLOSEs, so
    a half-close must be on the wire before a close from another thread (the tunnel's, at the end of a
    command) starts."""
    client, client_end = socket.socketpair()
    channel = _SlowEofChannel()
    bridge = Splice(client_end, channel, "test")
    client.close()  # libvirt's client ends its connection: the bridge half-closes the channel
    assert channel.building.wait(10)
    bridge.close()  # meanwhile the tunnel is closed
    assert channel.wire[:2] == ["eof", "close"], channel.wire


# -- known_hosts as OpenSSH reads it ---------------------------------------------------------------

ED = b"\x00\x00\x00\x0bssh-ed25519" + b"\x00\x00\x00\x20" + b"E" * 32
ED2 = b"\x00\x00\x00\x0bssh-ed25519" + b"\x00\x00\x00\x20" + b"F" * 32
RSA = b"\x00\x00\x00\x07ssh-rsa" + b"R" * 40


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()


def _hashed(name: str) -> str:
    salt = b"s" * 20
    return f"|1|{_b64(salt)}|{_b64(hmac.new(salt, name.encode(), hashlib.sha1).digest())}"


def test_cert_authority_and_revoked_lines_do_not_break_other_hosts() -> None:
    lines = [
        f"@cert-authority *.example.org ssh-ed25519 {_b64(ED2)}",
        f"@revoked 10.0.0.9 ssh-ed25519 {_b64(ED2)}",
        f"10.0.0.1 ssh-ed25519 {_b64(ED)}",
    ]
    keys = KnownHosts.from_text("\n".join(lines), "kh")
    assert keys.refusal("10.0.0.1", "ssh-ed25519", ED) is None


def test_a_cert_authority_key_is_not_accepted_as_a_plain_host_key() -> None:
    keys = KnownHosts.from_text(f"@cert-authority 10.0.0.1 ssh-ed25519 {_b64(ED)}\n", "kh")
    assert keys.refusal("10.0.0.1", "ssh-ed25519", ED) == "10.0.0.1 is not in kh; refusing an unknown host key"


def test_revoked_key_is_refused_even_when_also_listed() -> None:
    keys = KnownHosts.from_text(f"10.0.0.1 ssh-ed25519 {_b64(ED)}\n@revoked * ssh-ed25519 {_b64(ED)}\n", "kh")
    assert "marked @revoked in kh" in (keys.refusal("10.0.0.1", "ssh-ed25519", ED) or "")


def test_a_host_listed_with_two_keys_is_accepted_with_either() -> None:
    keys = KnownHosts.from_text(f"10.0.0.1 ssh-ed25519 {_b64(ED)}\n10.0.0.1 ssh-rsa {_b64(RSA)}\n10.0.0.1 ssh-ed25519 {_b64(ED2)}\n", "kh")
    assert keys.refusal("10.0.0.1", "ssh-ed25519", ED) is None
    assert keys.refusal("10.0.0.1", "ssh-ed25519", ED2) is None
    assert keys.refusal("10.0.0.1", "ssh-rsa", RSA) is None
    assert keys.key_types("10.0.0.1") == ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]


def test_a_different_key_is_a_mismatch_and_an_absent_host_is_unknown() -> None:
    keys = KnownHosts.from_text(f"10.0.0.1 ssh-ed25519 {_b64(ED)}\n", "kh")
    assert keys.refusal("10.0.0.1", "ssh-ed25519", ED2) == "host key for 10.0.0.1 does not match kh; refusing to connect"
    assert keys.refusal("10.0.0.2", "ssh-ed25519", ED) == "10.0.0.2 is not in kh; refusing an unknown host key"


def test_patterns_hashes_ports_and_negation() -> None:
    keys = KnownHosts.from_text(
        f"{_hashed('kvm1.lab')} ssh-ed25519 {_b64(ED)}\n"
        f"[10.0.0.1]:2222,KVM?.example.org ssh-ed25519 {_b64(ED)}\n"
        f"*.lab,!bad.lab ssh-ed25519 {_b64(ED2)}\n",
        "kh",
    )
    assert keys.refusal("kvm1.lab", "ssh-ed25519", ED) is None
    assert keys.refusal(host_name("10.0.0.1", 2222), "ssh-ed25519", ED) is None
    assert keys.refusal("10.0.0.1", "ssh-ed25519", ED) is not None  # port 22 is another name
    assert keys.refusal("kvm7.EXAMPLE.org", "ssh-ed25519", ED) is None
    assert keys.refusal("good.lab", "ssh-ed25519", ED2) is None
    assert keys.refusal("bad.lab", "ssh-ed25519", ED2) is not None
    assert keys.refusal("[10.0.0.1]:2222x", "ssh-ed25519", ED) is not None  # brackets are literal, not a class


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("@!*?|,:[]# \t\nabc1=+/AAAAC3NzaC1lZDI1NTE5-revoked-cert-authority"), max_size=300))
def test_any_text_parses_without_error(text: str) -> None:
    for entry in parse(text):
        assert entry.marker in ("", "@revoked", "@cert-authority") and entry.patterns


# -- libvirt connections with a deadline and keepalive ---------------------------------------------


def test_keepalive_declares_a_silent_daemon_dead_in_about_twice_connect_timeout() -> None:
    for timeout in (1, 2.5, 5, 30):
        interval = libvirt_client.keepalive_interval(timeout)
        assert interval >= 1
        assert interval * (libvirt_client.KEEPALIVE_COUNT + 1) <= max(2 * timeout, 3)


def test_open_answers_with_keepalive_where_the_driver_supports_it() -> None:
    conn = libvirt_client.open_connection("test:///default", "here", 5)
    try:
        assert conn.getHostname()
    finally:
        conn.close()


def test_errors_novactl_handles_are_not_also_printed_by_libvirt(capfd: pytest.CaptureFixture[str]) -> None:
    """A foreign domain's missing metadata is expected on every poll: libvirt must not print it to stderr."""
    conn = libvirt_client.open_connection("test:///default", "here", 5)
    try:
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByName("test").metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "urn:novactl:none")
    finally:
        conn.close()
    assert capfd.readouterr().err == ""


def test_open_that_never_answers_is_unreachable_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(libvirt, "open", lambda uri: release.wait(30))  # a frozen libvirtd's first RPC
    cut: list[bool] = []
    started = time.monotonic()
    with pytest.raises(Unreachable, match=r"^stuck: libvirt did not answer within 0.5 s$"):
        libvirt_client.open_connection("qemu:///system", "stuck", 0.5, on_timeout=lambda: cut.append(True))
    assert time.monotonic() - started < 5 and cut == [True]
    release.set()


def test_open_whose_bridge_times_out_or_fails_is_unreachable_and_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(libvirt, "open", lambda uri: release.wait(30))  # connected, never answered

    def times_out(deadline: float, opening) -> None:
        assert opening()
        time.sleep(max(0.0, deadline - time.monotonic()))
        raise TimeoutError

    def refused(deadline: float, opening) -> None:
        raise Unreachable("refused", "libvirt: no channel to its daemon: no such socket")

    cut: list[str] = []
    with pytest.raises(Unreachable, match=r"^stuck: libvirt did not answer within 0.5 s$"):
        libvirt_client.open_connection("qemu:///system", "stuck", 0.5, on_timeout=lambda: cut.append("stuck"), bridge=times_out)
    with pytest.raises(Unreachable, match=r"^refused: libvirt: no channel to its daemon: no such socket$"):
        libvirt_client.open_connection("qemu:///system", "refused", 30, on_timeout=lambda: cut.append("refused"), bridge=refused)
    assert cut == ["stuck", "refused"]
    release.set()


def test_open_error_is_unreachable_with_libvirts_reason() -> None:
    with pytest.raises(Unreachable, match=r"^h: libvirt: "):
        libvirt_client.open_connection("test:///nonexistent/file.xml", "h", 5)


def test_a_send_on_a_dead_ssh_connection_is_a_host_error(shell: RemoteShell, monkeypatch: pytest.MonkeyPatch) -> None:
    """paramiko raises EOFError from a send once the connection is gone (sshd killed)."""

    def dead(_data: bytes) -> None:
        raise EOFError

    monkeypatch.setattr(shell._channel, "sendall", dead)
    with pytest.raises(HostError, match=r"^here: remote shell: the SSH connection was lost"):
        shell.run(["true"], timeout=10)
    assert not shell.alive


def test_a_dead_connection_whose_close_fails_too_is_still_a_host_error(shell: RemoteShell, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retiring the shell closes its channel, which sends to the host: paramiko raises EOFError there
    too when the socket is gone, and that must not replace the HostError (nor escape a later close)."""

    def dead(*_args: object) -> None:
        raise EOFError

    process_channel = shell._channel
    monkeypatch.setattr(process_channel, "sendall", dead)
    monkeypatch.setattr(process_channel, "close", dead)
    with pytest.raises(HostError, match=r"^here: remote shell: the SSH connection was lost"):
        shell.run(["true"], timeout=10)
    shell.close()
    monkeypatch.undo()
    process_channel.close()


def _ssh_server_that_hangs_up(after: bytes) -> tuple[socket.socket, int]:
    """A TCP listener that sends `after` (an SSH banner, say) to each connection, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(after)
                # Hang up at once (FIN), then read whatever the client still sends until it closes: closing
                # with its key exchange init unread would send a reset instead, a different error.
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(10)
                try:
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_sshd_closing_during_the_handshake_is_unreachable_not_eoferror(tmp_path) -> None:
    """paramiko raises EOFError from connect when sshd closes after its banner (restarting, killed)."""
    from novactl.models import HostConfig
    from novactl.remote.ssh import SSHConnection

    listener, port = _ssh_server_that_hangs_up(b"SSH-2.0-OpenSSH_9.2\r\n")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    host = HostConfig(
        name="h", address="127.0.0.1", ssh_port=port, known_hosts=str(known_hosts), ssh_key=str(tmp_path / "key"), connect_timeout=5
    )
    try:
        with pytest.raises(Unreachable, match=r"^h: SSH to 127\.0\.0\.1: the connection was closed during the SSH handshake$"):
            SSHConnection(host)
    finally:
        listener.close()


def test_a_stalled_handshake_ends_at_its_deadline_without_a_timer_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """sshd sends its banner, then nothing: the transport's handshake deadline ends it (EOFError, as
    paramiko's own timer would), read from the clock rather than by a threading.Timer per connection."""
    from novactl.remote.ssh import _Transport

    listener = socket.create_server(("127.0.0.1", 0))
    silent: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        silent.append(conn)  # kept open, never answered past the banner
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    threading.Thread(target=serve, daemon=True).start()
    monkeypatch.setattr(threading, "Timer", None)  # a Timer started anyway fails the handshake differently
    transport = _Transport(socket.create_connection(listener.getsockname()))
    transport.handshake_timeout = 0.5
    try:
        with pytest.raises(EOFError):
            transport.start_client(timeout=60)  # returns at 60 s, without raising, if nothing ends the handshake
    finally:
        transport.close()
        listener.close()
        for conn in silent:
            conn.close()


# -- import cost -------------------------------------------------------------------------------------


def test_the_libvirt_driver_imports_paramiko_without_invoke():
    """paramiko imports invoke (a third of its import time) unless told it is absent; whichever novactl
    module imports paramiko first (a boot: remote/splice.py, by way of the driver's migrate.py)."""
    code = "import sys, novactl.drivers.libvirt.driver; print('paramiko' in sys.modules, sys.modules.get('invoke') is not None)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["True", "False"]
