"""Two byte streams joined both ways: one daemon thread per direction.

Used by the libvirt tunnel (a local Unix socket <-> an SSH channel to the libvirt daemon) and by the
live-migration relay (an SSH channel from one host <-> an SSH channel to another). Each end is a
socket or a paramiko Channel: both have recv, sendall, shutdown(SHUT_WR) and close.

Why this cannot deadlock: each thread waits on one thing only (its source's next bytes, then its
destination taking them). Neither direction ever waits for the other, so a full window or an idle
side in one direction cannot stop the other.

An EOF must never reach sshd after the channel's CLOSE: sshd frees a channel once CLOSE went both
ways and drops the whole SSH connection, every other channel to the host with it, at a later packet
for it ("ieof packet referred to nonexistent channel": a lab host did, under load, as a libvirt
connection closed). paramiko's `Channel.shutdown` marks its EOF sent, lets go of the channel's lock,
then sends it, so a CLOSE sent meanwhile goes first: by `close` here (half-closes and closes are
serialised), or by paramiko itself answering the host's CLOSE (a channel whose host side has ended
is not half-closed: `close` ends it, atomically).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Protocol

from novactl.remote.lost import LOST

LOG = logging.getLogger(__name__)
_CHUNK = 262144


class End(Protocol):
    def recv(self, size: int) -> bytes: ...

    def sendall(self, data: bytes) -> None: ...

    def shutdown(self, how: int) -> None: ...

    def close(self) -> None: ...


class Splice:
    """`a` <-> `b`. An end of stream travels on as a half-close, as a TCP relay does; both ends are
    closed when both directions have ended, or at once on an error in either."""

    def __init__(self, a: End, b: End, name: str):
        self._a, self._b = a, b
        self._lock = threading.Lock()
        self._ending = threading.Lock()  # held by each half-close and close: one at a time, each whole
        self._open_directions = 2
        self._threads = [
            threading.Thread(target=self._copy, args=(a, b), daemon=True, name=f"{name}-out"),
            threading.Thread(target=self._copy, args=(b, a), daemon=True, name=f"{name}-in"),
        ]
        for thread in self._threads:
            thread.start()

    def _copy(self, source: End, destination: End) -> None:
        try:
            while data := source.recv(_CHUNK):
                destination.sendall(data)
            with self._ending:
                if not getattr(destination, "eof_received", False):  # a channel's host side may be closing it
                    destination.shutdown(socket.SHUT_WR)  # the source ended: the destination sees EOF
        except LOST as exc:
            LOG.debug("splice: %s", exc)
            self.close()
        with self._lock:
            self._open_directions -= 1
            last = self._open_directions == 0
        if last:
            self.close()

    def close(self) -> None:
        """Cut both ends: shutdown wakes a thread blocked in a socket's recv, close a channel's."""
        with self._ending:
            for end in (self._a, self._b):
                with contextlib.suppress(*LOST):
                    end.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(*LOST):
                    end.close()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` s in all for both threads; True if they have ended."""
        for thread in self._threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)
