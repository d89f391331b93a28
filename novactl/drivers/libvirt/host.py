"""The narrow view of one libvirt host that the driver's helpers work on.

A `Host` holds the host's inventory entry (`config`), its remote `connection` and `libvirt`
connection (both opened on first use) and the node facts of the last poll. Helpers take a Host and
never the driver, so they cannot reach each other's internals and never import the driver.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import libvirt

from novactl.errors import HostError
from novactl.hoststate import ComputeNode
from novactl.models import HostConfig
from novactl.remote import Connection, connect


class Host:
    def __init__(self, config: HostConfig, opener: Callable[[HostConfig], Connection] = connect):
        self.config = config
        self.node: ComputeNode | None = None  # set by each poll
        self._opener = opener
        self._connection: Connection | None = None
        self._libvirt: libvirt.virConnect | None = None
        # Locks kept until close(), i.e. for as long as this process talks to the host (builders.py).
        self.held = contextlib.ExitStack()
        self.builder: str | None = None  # this process's builder token on the host, once it claimed
        self.claims: dict[str, str] = {}  # instance uuid -> the builder token its claim (made here) names

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self._opener(self.config)
        return self._connection

    @property
    def libvirt(self) -> libvirt.virConnect:
        if self._libvirt is None:
            self._libvirt = self.connection.open_libvirt()
        return self._libvirt

    def polled_node(self) -> ComputeNode:
        """The node facts every write step needs; a driver is polled before it builds or moves."""
        assert self.node is not None, "poll() first"
        return self.node

    def close(self) -> None:
        """Release the held locks (a shell round trip), then close the connection, then libvirt.

        In that order because over SSH libvirt runs in the connection's tunnel: once the connection is
        closed, libvirt's own close has nobody to ask and returns at once (no close RPC: the daemon sees
        its client go, as after any disconnect). A local libvirt's close is an RPC to the daemon, so it
        runs in a thread given connect_timeout at most.
        """
        with contextlib.suppress(HostError):
            self.held.close()
        self.builder = None
        self.claims.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._libvirt is not None:
            closing = threading.Thread(target=_close_libvirt, args=(self._libvirt,), daemon=True, name=f"libvirt-close-{self.name}")
            closing.start()
            self._libvirt = None
            closing.join(self.config.connect_timeout)


def _close_libvirt(conn: libvirt.virConnect) -> None:
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()
