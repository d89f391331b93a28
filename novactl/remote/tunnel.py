"""libvirt over the SSH connection: a private Unix socket bridged to the host's libvirt daemon.

Each connection made to the socket gets a channel of its own from `open_stream` (ssh.py: sshd
connecting to the daemon's socket, or `virt-ssh-helper` where it cannot).

libvirt's own qemu+ssh transport ignores a `known_hosts=` parameter, and its libssh transport would
pay a second SSH handshake per host (ARCHITECTURE.md, "Remote execution", has the measurements);
tunnelling through paramiko means the host key is checked once, by novactl's known_hosts policy.

Why this cannot deadlock: every bridged connection is a `Splice`, one thread per direction, and
both endpoints (the libvirt client's event loop and virt-ssh-helper) read whenever data arrives.
Liveness (a host that stops answering) is libvirt keepalive's job, one layer up: it closes
the client socket, and the bridge then closes the channel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable

import paramiko

from novactl.remote.lost import LOST
from novactl.remote.splice import Splice

LOG = logging.getLogger(__name__)


class LibvirtTunnel:
    """A private Unix socket whose every connection is bridged to a channel from `open_stream()`."""

    def __init__(self, open_stream: Callable[[], paramiko.Channel]):
        self._open_stream = open_stream
        self._dir = tempfile.mkdtemp(prefix="novactl-libvirt-")  # mode 0700: only we can connect
        self.socket_path = os.path.join(self._dir, "sock")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(4)
        self._bridges: list[Splice] = []
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
                channel = self._open_stream()
            except LOST as exc:
                LOG.debug("libvirt tunnel: cannot open channel: %s", exc)
                client.close()
                continue
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
