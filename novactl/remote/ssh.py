"""A host over SSH: one paramiko connection per host per command, strict host-key checking."""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import logging
import os
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import paramiko

from novactl.errors import HostError
from novactl.models import HostConfig
from novactl.remote import CommandFailed, LockLost, Result, Unreachable, client_files, partial_file
from novactl.remote.known_hosts import KnownHosts, host_name
from novactl.remote.lost import LOST
from novactl.remote.shell import RemoteShell
from novactl.remote.tunnel import LibvirtTunnel

LOG = logging.getLogger(__name__)
_PACKET = 32768  # the SSH packet payload every server accepts (RFC 4253)
_WINDOW = 64 * 1024 * 1024  # a transfer channel's window: the pipe stays full across round trips
# What get_file lets the host send per packet: paramiko pays a fixed Python cost per packet, and
# sshd fills packets up to this; 256 KiB ran ~3x faster than 32 KiB on a lab host.
_RECV_PACKET = 256 * 1024
_READ = 1024 * 1024  # get_file's read size: whatever has arrived, up to this, per recv
_STALL = 300  # seconds a transfer may go without a byte before it is abandoned
_GZIP_ABOVE = 4096  # bytes of a small file written through the shell above which it travels gzipped


class _Packetizer(paramiko.Packetizer):
    """paramiko's Packetizer with the same handshake deadline, read from the clock: paramiko's starts a
    threading.Timer per connection to flag it, one more thread and wake-up per host for a flag the
    reader checks between its 0.1 s socket timeouts anyway (an expired handshake is an EOFError, as there)."""

    _handshake_deadline: float | None = None
    _handshake_done = False

    def start_handshake(self, timeout: float) -> None:
        if self._handshake_deadline is None:
            self._handshake_deadline = time.monotonic() + timeout

    def handshake_timed_out(self) -> bool:
        deadline = self._handshake_deadline
        return deadline is not None and not self._handshake_done and time.monotonic() > deadline

    def complete_handshake(self) -> None:
        self._handshake_done = True


class _Transport(paramiko.Transport):
    """paramiko's Transport preferring AES-GCM (one AEAD pass instead of AES-CTR plus HMAC-SHA2) and,
    as OpenSSH does, the host key algorithms of the keys known_hosts lists for the host."""

    _preferred_ciphers = (
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        *(c for c in paramiko.Transport._preferred_ciphers if "gcm" not in c),
    )

    def __init__(self, sock, *args, host_key_types: list[str] = (), **kwargs):  # type: ignore[assignment]
        super().__init__(sock, *args, packetizer_class=_Packetizer, **kwargs)
        offered = self._preferred_keys
        known = [t for t in host_key_types if t in offered]
        self._preferred_keys = (*known, *(t for t in offered if t not in known))

    def _parse_debug(self, m: paramiko.Message) -> None:
        """paramiko's, but the host's debug message is escaped and formatted only when it is logged:
        OpenSSH's sshd sends one after every public-key login ("key options: ..."), and paramiko
        escapes it byte by byte in Python, a cost per host of every command for a line nobody reads."""
        if self.logger.isEnabledFor(logging.DEBUG):
            super()._parse_debug(m)

    def open_unix_socket(self, path: str, timeout: float) -> paramiko.Channel:
        """A channel to the Unix socket `path` on the host, connected by sshd itself (OpenSSH's
        direct-streamlocal@openssh.com, what `ssh -L PORT:/path/sock` uses): no process starts on the host.

        paramiko builds only its own four kinds of channel open; this is its `open_channel` with this
        kind's payload (OpenSSH's PROTOCOL, 2.4: the path, a reserved string and a reserved uint32).
        ChannelException when sshd refuses (no such socket, AllowStreamLocalForwarding no).
        """
        if not self.active:
            raise paramiko.SSHException("SSH session not active")
        message = paramiko.Message()
        with self.lock:
            window_size = self._sanitize_window_size(None)
            max_packet_size = self._sanitize_packet_size(None)
            chanid = self._next_channel()
            message.add_byte(paramiko.common.cMSG_CHANNEL_OPEN)
            message.add_string("direct-streamlocal@openssh.com")
            message.add_int(chanid)
            message.add_int(window_size)
            message.add_int(max_packet_size)
            message.add_string(path)
            message.add_string("")
            message.add_int(0)
            channel = paramiko.Channel(chanid)
            self._channels.put(chanid, channel)
            self.channel_events[chanid] = opened = threading.Event()
            self.channels_seen[chanid] = True
            channel._set_transport(self)
            channel._set_window(window_size, max_packet_size)
        self._send_user_message(message)
        deadline = time.monotonic() + timeout
        while not opened.wait(0.1):  # as open_channel: a transport that dies sets no event
            if not self.active:
                raise self.get_exception() or paramiko.SSHException("Unable to open channel.")
            if time.monotonic() > deadline:
                raise paramiko.SSHException("Timeout opening channel.")
        if self._channels.get(chanid) is None:  # sshd's OPEN_FAILURE removed it
            raise self.get_exception() or paramiko.SSHException("Unable to open channel.")
        return channel


class HostKeyRefused(paramiko.SSHException):
    pass


class _KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """novactl's known_hosts check (known_hosts.py), where paramiko would consult its own HostKeys."""

    def __init__(self, keys: KnownHosts, name: str):
        self._keys = keys
        self._name = name

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        refusal = self._keys.refusal(self._name, key.get_name(), key.asbytes())
        if refusal is not None:
            raise HostKeyRefused(refusal)


class SSHConnection:
    """One paramiko SSH connection per host per command: a remote shell, the libvirt tunnel, transfers."""

    def __init__(self, host: HostConfig):
        self.host = host
        self._client = paramiko.SSHClient()
        self._tunnel: LibvirtTunnel | None = None
        self._shell: RemoteShell | None = None
        self._free_fds = list(range(9, 2, -1))
        # One remote shell runs one command at a time: a thread blocked in `flock` inside it would stop
        # the holder's unlock from ever running, so in-process contention is settled here first.
        self._path_locks: dict[str, threading.Lock] = {}
        # Which shell holds each host lock: a `lock` being used (its `with` block runs), and the `hold`s
        # (path -> shell and its descriptor). A shell's locks end with it (_remote_shell).
        self._locked: dict[str, RemoteShell] = {}
        self._held: dict[str, tuple[RemoteShell, int]] = {}
        self._replacing = threading.Lock()
        self._forwards: dict[int, Callable[[paramiko.Channel, int], None]] = {}  # port on the host's loopback -> its taker
        self._libvirt_sockets = libvirt_sockets(host.libvirt_uri)  # to try, in order, before virt-ssh-helper
        known_hosts = os.path.expanduser(host.known_hosts)
        try:
            keys = client_files.known_hosts(known_hosts)
        except OSError as exc:
            raise Unreachable(host.name, f"cannot read known_hosts {known_hosts}: {exc.strerror}") from None
        name = host_name(host.address, host.ssh_port)
        self._client.set_missing_host_key_policy(_KnownHostsPolicy(keys, name))  # no key is loaded: every host meets it
        try:
            self._connect(name, keys)
        except BaseException:
            self._client.close()  # its transport thread may be running: a refused host leaves nothing behind
            raise

    def _connect(self, name: str, keys: KnownHosts) -> None:
        host = self.host
        key_file = os.path.expanduser(host.ssh_key) if host.ssh_key else None
        key = client_files.private_key(key_file) if key_file else None
        try:
            self._client.connect(
                host.address,
                port=host.ssh_port,
                username=host.ssh_user,
                pkey=key,
                key_filename=None if key else key_file,  # a key that did not load: paramiko fails it as before
                look_for_keys=host.ssh_key is None,
                allow_agent=host.ssh_key is None,
                timeout=host.connect_timeout,
                banner_timeout=host.connect_timeout,
                auth_timeout=host.connect_timeout,
                channel_timeout=host.connect_timeout,
                transport_factory=functools.partial(_Transport, host_key_types=keys.key_types(name)),
            )
        except HostKeyRefused as exc:
            raise Unreachable(host.name, str(exc)) from None
        except paramiko.AuthenticationException:
            raise Unreachable(host.name, f"SSH authentication failed for {host.ssh_user}@{host.address}") from None
        except paramiko.SSHException as exc:
            raise Unreachable(host.name, f"SSH to {host.address}: {exc}") from None
        except EOFError:  # sshd took the connection, then closed it (restarting, or killed) during the handshake
            raise Unreachable(host.name, f"SSH to {host.address}: the connection was closed during the SSH handshake") from None
        except TimeoutError:  # socket.timeout is TimeoutError
            raise Unreachable(host.name, f"{host.address}:{host.ssh_port}: timed out after {host.connect_timeout:g} s") from None
        except OSError as exc:  # includes paramiko's NoValidConnectionsError
            raise Unreachable(host.name, f"{host.address}:{host.ssh_port}: {exc.strerror or exc}") from None
        transport = self._client.get_transport()
        assert transport is not None
        transport.set_keepalive(30)
        try:
            # Started now: its login-shell start-up overlaps libvirt's.
            self._shell = RemoteShell(transport, host.name, host.connect_timeout)
        except LOST as exc:
            self._client.close()
            raise Unreachable(host.name, f"SSH to {host.address}: cannot open a session: {exception_text(exc)}") from None

    def run(self, argv: list[str], *, check: bool = True, timeout: float = 300) -> Result:
        status, out, err = self._remote_shell().run(argv, timeout)
        result = Result(self.host.name, tuple(argv), status, out.decode(errors="replace"), err.decode(errors="replace"))
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    def _remote_shell(self) -> RemoteShell:
        with self._replacing:  # threads finding the shell ended at once: one replaces it, once
            if self._shell is None or not self._shell.alive:
                if self._shell is not None:
                    self._locks_gone_with(self._shell)
                try:
                    self._shell = RemoteShell(self._transport(), self.host.name, self.host.connect_timeout)
                except LOST as exc:
                    raise self._lost(exc) from None
            return self._shell

    def _locks_gone_with(self, shell: RemoteShell) -> None:
        """A shell that ended took its locks with it. A `lock` still in use is not silently replaced by a
        new shell (its holder's next command would run unlocked): LockLost until its `with` block ends.
        A `hold` is forgotten: `holds` answers False from now on, and its holder acts on that."""
        in_use = sorted(path for path, holder in self._locked.items() if holder is shell)
        if in_use:
            raise LockLost(self.host.name, f"the remote shell holding {', '.join(in_use)} has ended, and the lock with it")
        for path, (holder, fd) in list(self._held.items()):
            if holder is shell:
                LOG.warning("%s: the remote shell holding %s has ended, and the lock with it", self.host.name, path)
                del self._held[path]
                self._free_fds.append(fd)

    def _transport(self) -> paramiko.Transport:
        """The SSH transport; a lost connection (closed: paramiko's client then has none) is an OSError,
        so that every caller's handling of LOST covers it, and no thread dies of an AttributeError."""
        transport = self._client.get_transport()
        if transport is None:
            raise ConnectionAbortedError("the SSH connection is closed")
        return transport

    def _lost(self, exc: BaseException) -> Unreachable:
        return Unreachable(self.host.name, f"SSH to {self.host.address}: the connection was lost ({exception_text(exc)})")

    def read_file(self, path: str) -> bytes | None:
        status, out, err = self._remote_shell().run(["cat", "--", path], timeout=60)
        if status == 0:
            return out
        if b"No such file" in err:
            return None
        raise HostError(self.host.name, f"cannot read {path}: {err.decode(errors='replace').strip()}")

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.write_files({path: data}, mode)

    def write_files(self, files: Mapping[str, bytes], mode: int = 0o644) -> None:
        """Small files (claims, XML, JSON, a config drive), all in one command; each appears whole or not at all.

        The bytes travel base64-encoded in the command line, gzipped when that makes a difference (a
        config drive is mostly zeros: 145 KB become 6 KB), and are unpacked by gzip on the host.
        """
        q = shlex.quote
        writes, temporaries = [], []
        for path, data in files.items():
            tmp = f"{path}.tmp-{secrets.token_hex(4)}"
            directory = q(os.path.dirname(path))
            if len(data) > _GZIP_ABOVE:
                payload, unpack = gzip.compress(data, compresslevel=1, mtime=0), " | gzip -dc"
            else:
                payload, unpack = data, ""
            writes.append(
                f"{{ [ -d {directory} ] || mkdir -p -- {directory}; }} && printf %s {q(base64.b64encode(payload).decode())}"
                f" | base64 -d{unpack} > {q(tmp)} && chmod {mode:o} -- {q(tmp)} && mv -f -- {q(tmp)} {q(path)}"
            )
            temporaries.append(tmp)
        status, _out, err = self._remote_shell().run_line(" && ".join(writes), timeout=60)
        if status != 0:
            self._remote_shell().run(["rm", "-f", "--", *temporaries], timeout=60)
            raise HostError(self.host.name, f"cannot write {', '.join(files)}: {err.decode(errors='replace').strip()}")

    def open_libvirt(self):
        from novactl.remote.libvirt_client import open_connection

        host = self.host
        if self._tunnel is None:
            try:
                self._transport()  # a lost connection fails here, not in the tunnel's thread
            except LOST as exc:
                raise self._lost(exc) from None
            self._tunnel = LibvirtTunnel(self._libvirt_stream)
        tunnel = self._tunnel
        uri = f"{host.libvirt_uri.split(':', 1)[0].split('+')[0]}+unix:///system?socket={tunnel.socket_path}"

        def bridge(deadline: float, opening: Callable[[], bool]) -> None:
            try:
                tunnel.bridge(deadline, opening)
            except TimeoutError:
                raise
            except LOST as exc:
                raise Unreachable(host.name, f"libvirt: no channel to its daemon: {exception_text(exc)}") from None

        return open_connection(uri, host.name, host.connect_timeout, on_timeout=self._drop_tunnel, bridge=bridge)

    def _libvirt_stream(self) -> paramiko.Channel:
        """A channel to the host's libvirt daemon, for one libvirt connection through the tunnel.

        For a system URI, sshd connects to the daemon's socket itself, chosen as libvirt's client
        chooses it (remote_sockets.c, mode auto: the driver's own daemon's socket if it exists, else
        libvirtd's). That spares the host a login shell and a virt-ssh-helper per connection, about
        a third of what polling a host costs it. Where sshd will not (no such socket, or
        AllowStreamLocalForwarding no) and for session URIs (whose daemon may have to be started),
        virt-ssh-helper runs as before; what fails there fails as it always did.
        """
        transport = self._transport()
        timeout = self.host.connect_timeout
        for path in self._libvirt_sockets:
            try:
                channel = transport.open_unix_socket(path, timeout)
            except paramiko.ChannelException:
                continue
            self._libvirt_sockets = [path]  # later connections of this command go straight there
            return channel
        self._libvirt_sockets = []
        channel = transport.open_session(timeout=timeout)
        channel.exec_command(shlex.join(["virt-ssh-helper", self.host.libvirt_uri]))
        return channel

    def _drop_tunnel(self) -> None:
        """Cut the tunnel (and every libvirt connection through it); the next open_libvirt makes a new one."""
        if self._tunnel is not None:
            self._tunnel.close()
            self._tunnel = None

    def forward_loopback(self, accept: Callable[[paramiko.Channel, int], None]) -> int:
        """Listen on the host's 127.0.0.1 (sshd picks the port; OpenSSH binds a forward to loopback unless
        GatewayPorts says otherwise, and the address asked for is loopback anyway): every connection made
        there comes to `accept(channel, port)`, in a thread of its own. Returns the port."""
        answer: dict[str, object] = {}

        def request() -> None:  # paramiko waits for sshd's reply with no deadline of its own
            try:
                answer["port"] = self._transport().request_port_forward("127.0.0.1", 0, handler=self._forwarded)
            except LOST as exc:
                answer["error"] = exception_text(exc)

        asking = threading.Thread(target=request, daemon=True, name=f"ssh-forward-{self.host.name}")
        asking.start()
        asking.join(self.host.connect_timeout)
        port = answer.get("port")
        if not isinstance(port, int):
            why = answer.get("error") or f"no answer within {self.host.connect_timeout:g} s"
            raise HostError(self.host.name, f"sshd would not listen on 127.0.0.1 for novactl: {why}")
        self._forwards[port] = accept
        return port

    def _forwarded(self, channel: paramiko.Channel, _origin: tuple[str, int], server: tuple[str, int]) -> None:
        """paramiko's handler, run in its transport thread: hand the channel on without blocking that thread."""
        accept = self._forwards.get(server[1])
        if accept is None:
            channel.close()
            return
        threading.Thread(target=accept, args=(channel, server[1]), daemon=True, name=f"ssh-forwarded-{self.host.name}").start()

    def cancel_forward(self, port: int) -> None:
        """Stop listening on the host's 127.0.0.1:`port`; sshd's reply is not waited for (a frozen sshd
        would make that wait endless), and a connection that still arrives is closed."""
        self._forwards.pop(port, None)
        transport = self._client.get_transport()
        if transport is not None and transport.is_active():
            with contextlib.suppress(*LOST):
                transport.global_request("cancel-tcpip-forward", ("127.0.0.1", port), wait=False)

    def connect_loopback(self, port: int) -> paramiko.Channel:
        """A connection to the host's 127.0.0.1:`port`, made by sshd there (a direct-tcpip channel)."""
        return self.open_tcp("127.0.0.1", port, self.host.connect_timeout)

    @contextmanager
    def lock(self, path: str, timeout: float = 60) -> Iterator[None]:
        """flock on the host, held by this connection's remote shell on a spare file descriptor.

        If this process dies, the SSH connection drops, the shell exits and the lock is released:
        a lock never outlives its holder.
        """
        with self._path_locks.setdefault(path, threading.Lock()):  # threads of this process take turns first
            yield from self._flock(path, timeout, None)

    @contextmanager
    def lock_then_run(self, path: str, argv: list[str], timeout: float = 60) -> Iterator[Result]:
        """`lock(path)`, and `argv` run once it is held, in one round trip; yields argv's result."""
        with self._path_locks.setdefault(path, threading.Lock()):
            yield from self._flock(path, timeout, argv)

    def hold(self, path: str, timeout: float = 60) -> None:
        """Take the flock at `path` for as long as this connection's remote shell lives (a builder lock,
        drivers/libvirt/builders.py). If that shell ends, the lock is gone and `holds(path)` says so."""
        with self._path_locks.setdefault(path, threading.Lock()):
            shell, fd, _then = self._take(path, timeout, None)
            self._held[path] = (shell, fd)

    def holds(self, path: str) -> bool:
        """Whether the lock `hold` took at `path` has been held without a break since: the shell that took
        it still runs. A command answered after this was True was answered by that shell, under the lock."""
        holder = self._held.get(path)
        return holder is not None and holder[0] is self._shell and holder[0].alive

    def _flock(self, path: str, timeout: float, argv: list[str] | None) -> Iterator[Result | None]:
        shell, fd, then = self._take(path, timeout, argv)
        self._locked[path] = shell
        try:
            if argv is None:
                yield None
            else:
                [(status, out, err)] = then
                result = Result(self.host.name, tuple(argv), status, out.decode(errors="replace"), err.decode(errors="replace"))
                if not result.ok:
                    raise CommandFailed(result)
                yield result
        finally:
            del self._locked[path]
            try:
                if shell.alive:  # nothing needs to wait for the release: the shell runs it before any later line
                    shell.post_line(f"flock -u {fd}; exec {fd}>&-", self.host.connect_timeout)
            finally:
                self._free_fds.append(fd)  # only now: a line locking it again is sent after the release

    def _take(self, path: str, timeout: float, argv: list[str] | None) -> tuple[RemoteShell, int, list[tuple[int, bytes, bytes]]]:
        """flock `path` on a spare descriptor of the remote shell, and run `argv` under it in the same round
        trip; (the shell, the descriptor, argv's reply)."""
        shell, q = self._remote_shell(), shlex.quote
        fd = self._free_fds.pop()  # sh redirections take single-digit descriptors: 3..9
        try:
            lines = [f"mkdir -p -- {q(os.path.dirname(path))} && exec {fd}>>{q(path)} && flock -w {int(timeout)} {fd}"]
            if argv is not None:
                # Runs only under the lock: a failed wait above left the descriptor unlocked (or closed),
                # and flock -n on it then fails at once unless the lock has become free meanwhile.
                lines.append(f"flock -n {fd} && {shlex.join(argv)} </dev/null")
            (status, _out, err), *then = shell.run_lines(lines, timeout + self.host.connect_timeout)
            if status != 0:
                shell.post_line(f"exec {fd}>&-", self.host.connect_timeout)
                raise HostError(self.host.name, f"cannot lock {path} within {timeout:g} s {err.decode(errors='replace').strip()}")
        except BaseException:
            self._free_fds.append(fd)
            raise
        return shell, fd, then

    def put_file(self, local_path: str, remote_path: str, progress: Callable[[int], None] | None = None) -> None:
        """Stream a file into `cat` on the host through one wide channel.

        SFTP's 32 KiB requests and small default windows make large images crawl; one exec channel
        with a large window and 1 MiB writes keeps the pipe full.
        """
        with open(local_path, "rb") as source:  # a local error is raised as itself, before the host is asked
            try:
                self._send(source, remote_path, progress)
            except TimeoutError:
                raise HostError(self.host.name, f"writing {remote_path}: no progress for {_STALL} s") from None
            except LOST as exc:
                raise HostError(self.host.name, f"writing {remote_path}: {exception_text(exc)}") from None

    def _send(self, source, remote_path: str, progress: Callable[[int], None] | None) -> None:
        channel = self._transport().open_session(window_size=_WINDOW, max_packet_size=_PACKET, timeout=self.host.connect_timeout)
        try:
            channel.settimeout(_STALL)  # a host that stops taking data fails the send, not hangs it
            channel.exec_command(shlex.join(["sh", "-c", 'exec cat > "$1"', "sh", remote_path]))
            while chunk := source.read(1024 * 1024):
                # One SSH packet at a time: paramiko's sendall re-slices (copies) whatever is left
                # of its argument after every packet, which is quadratic on a 1 MiB chunk.
                for offset in range(0, len(chunk), _PACKET):
                    channel.sendall(chunk[offset : offset + _PACKET])
                if progress:
                    progress(len(chunk))
            channel.shutdown_write()
            if not channel.status_event.wait(_STALL):
                raise TimeoutError
            status = channel.recv_exit_status()
            if status != 0:
                error = channel.recv_stderr(4096).decode(errors="replace").strip()
                raise HostError(self.host.name, f"writing {remote_path} failed (exit {status}): {error}")
        finally:
            channel.close()

    def get_file(self, remote_path: str, local_path: str, progress: Callable[[int], None] | None = None) -> None:
        """Stream a host file out of `cat` on one wide channel into a temporary file here, renamed when complete.

        The remote shell frames whole replies in memory and SFTP reads 32 KiB per request; one exec
        channel with a 64 MiB window streams at the link's (or the cipher's) speed in bounded memory.
        """
        with partial_file(local_path) as tmp:
            with open(tmp, "wb") as out:
                status, error = self._cat_into(remote_path, out, progress)
            if status != 0:
                raise HostError(self.host.name, f"reading {remote_path} failed (exit {status}): {error}")

    def _cat_into(self, remote_path: str, out, progress: Callable[[int], None] | None) -> tuple[int, str]:
        """`cat -- remote_path` written into `out`; returns cat's exit status and its stderr."""
        try:
            channel = self._transport().open_session(window_size=_WINDOW, max_packet_size=_RECV_PACKET)
        except LOST as exc:
            raise HostError(self.host.name, f"reading {remote_path}: cannot open a channel: {exception_text(exc)}") from None
        try:
            channel.settimeout(_STALL)
            try:
                channel.exec_command(shlex.join(["cat", "--", remote_path]))
            except LOST as exc:
                raise HostError(self.host.name, f"reading {remote_path}: {exception_text(exc)}") from None
            while data := channel.recv(_READ):  # `out` is local: its OSError (disk full) is not the host's
                out.write(data)
                if progress:
                    progress(len(data))
            status = channel.recv_exit_status()
            error = b""
            while chunk := channel.recv_stderr(4096):  # after EOF and exit: all of it is buffered
                error += chunk
            return status, error.decode(errors="replace").strip()
        except TimeoutError:
            raise HostError(self.host.name, f"reading {remote_path}: no data for {_STALL} s") from None
        except (paramiko.SSHException, EOFError) as exc:
            raise HostError(self.host.name, f"reading {remote_path}: {exception_text(exc)}") from None
        finally:
            with contextlib.suppress(*LOST):
                channel.close()

    def open_tcp(self, address: str, port: int, timeout: float) -> paramiko.Channel:
        """A direct-tcpip channel from the host to `address:port` (ssh -J's jump), on this connection:
        same user, key and host-key check as everything else novactl does on the host."""
        try:
            return self._transport().open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=timeout)
        except paramiko.ChannelException as exc:
            raise HostError(self.host.name, f"cannot connect from {self.host.name} to {address}:{port}: {exc.text or exc}") from None
        except LOST as exc:
            raise HostError(self.host.name, f"cannot open a channel to {address}:{port}: {exception_text(exc)}") from None

    def close(self) -> None:
        """Never raises: a connection the host already dropped is closed all the same.

        The SSH connection goes first, and everything on it with it, on the host too: sshd ends the remote
        shell (whose locks go with it, as when this process dies) and libvirt's daemon sees its client
        go. So nothing is sent per channel (no EOF or close for each, no libvirt close RPC, and their
        answers never need reading): paramiko marks its channels closed without a word to the host,
        which wakes the tunnel's splices, and the tunnel's local ends are closed after.
        """
        with contextlib.suppress(*LOST):
            self._client.close()
        if self._tunnel is not None:
            self._tunnel.close()
        if self._shell is not None:
            self._shell.close()


def exception_text(exc: BaseException) -> str:
    """An exception's message; its type when it has none (paramiko's EOFError, a bare timeout)."""
    return str(exc) or type(exc).__name__


def libvirt_sockets(uri: str) -> list[str]:
    """The daemon sockets libvirt's client would try for a local `uri` (remote_sockets.c, mode auto):
    the driver's own daemon (virtqemud) first, then the monolithic libvirtd; none for a session URI."""
    scheme, _, rest = uri.partition("://")
    if rest != "/system" or not scheme.isalpha():
        return []
    return [f"/var/run/libvirt/virt{scheme}d-sock", "/var/run/libvirt/libvirt-sock"]
