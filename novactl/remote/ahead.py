"""Connections opened ahead of their first use, each in a daemon thread.

A command sure to talk to its hosts (a validated boot) starts their SSH handshakes before it imports
and prepares the rest of its work: a handshake is mostly waiting on the host (key exchange, the
authentication, the remote shell's start), and a boot has about 150 ms of imports to do meanwhile.
The connection is the one `connect` makes (same host-key policy, same deadlines); it is only made sooner.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

from novactl.errors import HostError
from novactl.models import HostConfig
from novactl.remote import Connection, Unreachable, connect


class _Opening:
    def __init__(self, host: HostConfig):
        self.host = host
        self.done = threading.Event()
        self.connection: Connection | None = None
        self.error: Exception | None = None
        self.unwanted = False  # nobody will take it: its thread closes what it opens


class OpenedAhead:
    """`take(host)` hands over the connection opened for `host` (or opens one if none was started);
    `close()` closes those never taken."""

    def __init__(self, hosts: Iterable[HostConfig]):
        self._lock = threading.Lock()
        self._openings = {host.name: _Opening(host) for host in hosts}
        if any(opening.host.transport != "local" for opening in self._openings.values()):
            # paramiko is imported here, before the threads start: imported in a thread it would share the
            # GIL with the caller's own imports, and every handshake would start that much later.
            import novactl.remote.ssh  # noqa: F401
        for opening in self._openings.values():
            threading.Thread(target=self._open, args=(opening,), daemon=True, name=f"connect-{opening.host.name}").start()

    def _open(self, opening: _Opening) -> None:
        try:
            connection = connect(opening.host)
        except Exception as exc:  # handed to whoever takes it, as connect would have raised it there
            opening.error = exc
            connection = None
        with self._lock:
            if opening.unwanted:
                if connection is not None:
                    connection.close()
            else:
                opening.connection = connection
            opening.done.set()

    def take(self, host: HostConfig) -> Connection:
        """The connection to `host`, once its handshake ends; raises what `connect(host)` would."""
        with self._lock:
            opening = self._openings.pop(host.name, None)
        if opening is None or opening.host != host:
            if opening is not None:
                self._abandon(opening)
            return connect(host)
        # Every step of the handshake has its own deadline (TCP, banner, key exchange, authentication,
        # the shell's channel: connect_timeout each); this wait is their sum.
        wait = 5 * host.connect_timeout
        if not opening.done.wait(wait):
            self._abandon(opening)
            raise Unreachable(host.name, f"{host.address}:{host.ssh_port}: no SSH session within {wait:g} s")
        if opening.error is not None:
            raise opening.error
        assert opening.connection is not None
        return opening.connection

    def close(self) -> None:
        """Close the connections nobody took; those still opening are closed by their thread."""
        with self._lock:
            openings, self._openings = list(self._openings.values()), {}
        for opening in openings:
            self._abandon(opening)

    def _abandon(self, opening: _Opening) -> None:
        with self._lock:
            opening.unwanted = True
            connection, opening.connection = opening.connection, None
        if connection is not None:
            with contextlib.suppress(HostError):
                connection.close()

    def __enter__(self) -> OpenedAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
