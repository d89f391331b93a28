"""A loopback port on one host carried to the same port on another, through novactl's own connections.

Live migration over `ssh` (drivers/libvirt/migrate.py): the source QEMU connects to 127.0.0.1:PORT on
its host, where sshd listens for novactl (a remote port forward); novactl opens a direct-tcpip channel
to 127.0.0.1:PORT on the destination, where the destination QEMU listens, and splices the two. The
bytes between the hosts exist only inside the two SSH connections, whose host keys novactl checked;
no key or secret goes to a host and the hosts need not reach each other at all.
"""

from __future__ import annotations

import logging
import threading
import time

from novactl.errors import HostError
from novactl.remote import Connection
from novactl.remote.splice import Splice

LOG = logging.getLogger(__name__)


class LoopbackRelay:
    """Ports opened with `listen()` on `src`'s loopback, each carried to the same port on `dst`'s loopback
    until `close()`, which cuts everything and waits (bounded) for the relay's threads to end."""

    def __init__(self, src: Connection, dst: Connection):
        self._src, self._dst = src, dst
        self._ports: list[int] = []
        self._splices: list[Splice] = []
        self._lock = threading.Lock()
        self._closed = False

    def listen(self) -> int:
        port = self._src.forward_loopback(self._carry)
        self._ports.append(port)
        return port

    def _carry(self, incoming, port: int) -> None:
        try:
            outgoing = self._dst.connect_loopback(port)
        except HostError as exc:
            LOG.debug("migration relay: %s", exc)
            incoming.close()  # the source sees the connection refused, as it would without a relay
            return
        with self._lock:
            if not self._closed:
                self._splices.append(Splice(incoming, outgoing, f"migration-relay-{port}"))
                return
        incoming.close()
        outgoing.close()

    def close(self, timeout: float) -> None:
        with self._lock:
            self._closed = True
            splices, self._splices = self._splices, []
        for port in self._ports:
            self._src.cancel_forward(port)
        for splice in splices:
            splice.close()
        deadline = time.monotonic() + timeout
        for splice in splices:
            if not splice.join(max(0.0, deadline - time.monotonic())):
                LOG.warning("migration relay: a relay thread did not end within %g s", timeout)

    def __enter__(self) -> LoopbackRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(timeout=10)
