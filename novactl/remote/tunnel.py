"""libvirt over the SSH connection: a private Unix socket bridged to `virt-ssh-helper` on the host.

libvirt's own qemu+ssh transport ignores a `known_hosts=` parameter; tunnelling through paramiko
means the host key is checked once, by paramiko, against the configured known_hosts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shlex
import socket
import tempfile
import threading

import paramiko

LOG = logging.getLogger(__name__)


class LibvirtTunnel:
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
        with contextlib.suppress(EOFError, OSError):  # the SSH connection may already be gone
            channel.close()
        sock.close()
