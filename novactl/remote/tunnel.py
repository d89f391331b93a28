"""libvirt over the SSH connection: a private Unix socket bridged to the host's libvirt daemon.

Each connection made to the socket gets a channel of its own from `open_stream` (ssh.py: sshd
connecting to the daemon's socket, or `virt-ssh-helper` where it cannot).

libvirt's own qemu+ssh transport ignores a `known_hosts=` parameter, and its libssh transport would
pay a second SSH handshake per host (ARCHITECTURE.md, "Remote execution", has the measurements);
tunnelling through paramiko means the host key is checked once, by novactl's known_hosts policy.

No thread waits for connections: whoever opens a libvirt connection to the socket knows one is coming,
and bridges it (`bridge`) while `libvirt.open` runs in its own thread (libvirt_client.py): the
connection waits in the socket's backlog until then.

Why this cannot deadlock: every bridged connection is a `Splice`, one thread per direction, and
both endpoints (the libvirt client's event loop and virt-ssh-helper) read whenever data arrives.
Liveness (a host that stops answering) is libvirt keepalive's job, one layer up: it closes
the client socket, and the bridge then closes the channel.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable

import paramiko

from novactl.remote.splice import Splice

_ACCEPT_CHECK = 0.1  # seconds between looks at whether the libvirt connection is still being opened


class LibvirtTunnel:
    """A private Unix socket whose connections are each bridged to a channel from `open_stream()`."""

    def __init__(self, open_stream: Callable[[], paramiko.Channel]):
        self._open_stream = open_stream
        self._dir = tempfile.mkdtemp(prefix="novactl-libvirt-")  # mode 0700: only we can connect
        self.socket_path = os.path.join(self._dir, "sock")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(4)
        self._server.settimeout(_ACCEPT_CHECK)
        self._bridges: list[Splice] = []
        self._lock = threading.Lock()
        self._closed = False

    def bridge(self, deadline: float, opening: Callable[[], bool]) -> None:
        """Bridge the next connection made to the socket, by `deadline` (time.monotonic()).

        `opening()` says whether the libvirt connection being opened may still connect: once it does
        not (libvirt.open failed on its own), there is nothing to wait for. Raises TimeoutError at the
        deadline, and what `open_stream` raises (paramiko's, or an OSError) when the host refuses.
        """
        while True:
            try:
                client, _ = self._server.accept()
                break
            except TimeoutError:
                if not opening():
                    return
                if time.monotonic() > deadline:
                    raise
        try:
            channel = self._open_stream()
        except BaseException:
            client.close()  # libvirt's open fails at once: its connection is gone
            raise
        with self._lock:
            if self._closed:
                client.close()
                channel.close()
                return
            self._bridges.append(Splice(client, channel, "libvirt-tunnel"))

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
