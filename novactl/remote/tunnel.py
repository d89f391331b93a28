"""libvirt over the SSH connection: a private Unix socket bridged to `virt-ssh-helper` on the host.

libvirt's own qemu+ssh transport ignores a `known_hosts=` parameter, and its libssh transport would
pay a second SSH handshake per host (ARCHITECTURE.md, "Remote execution", has the measurements);
tunnelling through paramiko means the host key is checked once, by novactl's known_hosts policy.

Why this cannot deadlock: every bridged connection has one thread per direction, and each thread
waits on one thing only (its source's next bytes, then its destination taking them). Neither
direction ever waits for the other, so a full window or an idle side in one direction cannot stop
the other; both endpoints (the libvirt client's event loop and virt-ssh-helper) read whenever data
arrives. Liveness (a host that stops answering) is libvirt keepalive's job, one layer up: it closes
the client socket, and the bridge then closes the channel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import socket
import tempfile
import threading

import paramiko

LOG = logging.getLogger(__name__)
_CHUNK = 262144


class LibvirtTunnel:
    """A private Unix socket whose every connection is bridged to `virt-ssh-helper URI` on the host."""

    def __init__(self, transport: paramiko.Transport, uri: str, channel_timeout: float):
        self._transport = transport
        self._uri = uri
        self._channel_timeout = channel_timeout
        self._dir = tempfile.mkdtemp(prefix="novactl-libvirt-")  # mode 0700: only we can connect
        self.socket_path = os.path.join(self._dir, "sock")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(4)
        self._bridges: list[_Bridge] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="libvirt-tunnel").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                channel = self._transport.open_session(timeout=self._channel_timeout)
                channel.exec_command(shlex.join(["virt-ssh-helper", self._uri]))
            except (paramiko.SSHException, EOFError, OSError) as exc:
                LOG.debug("libvirt tunnel: cannot open channel: %s", exc)
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    channel.close()
                    return
                self._bridges.append(_Bridge(client, channel))

    def close(self) -> None:
        """Stop accepting and cut every bridged connection: a libvirt call waiting on one fails at once."""
        with self._lock:
            self._closed = True
            bridges, self._bridges = self._bridges, []
        self._server.close()
        for bridge in bridges:
            bridge.close()
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
            os.rmdir(self._dir)


class _Bridge:
    """One libvirt client connection <-> one SSH channel, one daemon thread per direction.

    An end of stream travels on as a half-close, as a TCP relay does; the bridge closes both sides
    when both directions have ended, or at once on an error in either.
    """

    def __init__(self, sock: socket.socket, channel: paramiko.Channel):
        self._sock = sock
        self._channel = channel
        self._lock = threading.Lock()
        self._open_directions = 2
        threading.Thread(target=self._to_host, daemon=True, name="libvirt-tunnel-out").start()
        threading.Thread(target=self._to_client, daemon=True, name="libvirt-tunnel-in").start()

    def _to_host(self) -> None:
        try:
            while data := self._sock.recv(_CHUNK):
                self._channel.sendall(data)
            self._channel.shutdown_write()  # the client hung up: virt-ssh-helper sees EOF and exits
        except (OSError, EOFError, paramiko.SSHException) as exc:
            LOG.debug("libvirt tunnel, client -> host: %s", exc)
            self.close()
        self._ended()

    def _to_client(self) -> None:
        try:
            while data := self._channel.recv(_CHUNK):
                self._sock.sendall(data)
            self._sock.shutdown(socket.SHUT_WR)  # the helper or the SSH connection ended: the client sees EOF
        except (OSError, EOFError, paramiko.SSHException) as exc:
            LOG.debug("libvirt tunnel, host -> client: %s", exc)
            self.close()
        self._ended()

    def _ended(self) -> None:
        with self._lock:
            self._open_directions -= 1
            last = self._open_directions == 0
        if last:
            self.close()

    def close(self) -> None:
        # shutdown wakes a thread blocked in recv on the socket; closing the channel wakes the other
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with contextlib.suppress(EOFError, OSError):
            self._channel.close()
