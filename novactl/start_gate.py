"""A multi-create's start gate: each guest is launched paused and runs once all its siblings' are launched.

Launching a guest (QEMU's start-up, libvirt's setup) is CPU work on the host, and so is a guest's
own boot once it runs: started one by one, the first guests' firmware takes the CPU the later
launches need (under nested KVM a guest's SeaBIOS alone burns seconds of it). Held paused until
every sibling's guest is launched, none of them competes with a launch; Nova's libvirt driver also
starts guests paused (while it waits for their network) and resumes them.

A build that ends without reaching the gate (its instance failed, or found no host) counts as
arrived, so it never holds the others; a rescheduled build keeps them waiting until its new attempt
launches. The wait has a backstop: past it a guest runs anyway (the gate only orders starts, it
never fails a build).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

TIMEOUT = 60  # seconds a launched guest waits for its siblings at most


class StartGate:
    """Opens once each of its builds (by launch index) has arrived (its guest launched) or ended; stays open."""

    def __init__(self, builds: Iterable[int]):
        self._waiting_for = set(builds)
        self._opened = threading.Condition()

    def arrive(self, build: int, timeout: float = TIMEOUT) -> None:
        """Build `build`'s guest is launched: wait until every sibling's is, or has ended, or `timeout`."""
        with self._opened:
            self._count(build)
            self._opened.wait_for(lambda: not self._waiting_for, timeout=timeout)

    def leave(self, build: int) -> None:
        """Build `build` ended (built, or failed for good): nobody waits for it any more."""
        with self._opened:
            self._count(build)

    def _count(self, build: int) -> None:
        self._waiting_for.discard(build)
        if not self._waiting_for:
            self._opened.notify_all()


def gates(count: int, side_by_side: int) -> list[StartGate | None]:
    """The gate of each of `count` builds run `side_by_side` at a time (None: it starts its guest alone).

    A pool starts a build only when an earlier one ends, so each wave of builds that run together
    has a gate of its own: no gate waits for a build that cannot start before the gate opens.
    """
    shared: list[StartGate | None] = []
    for start in range(0, count, side_by_side):
        wave = range(start, min(start + side_by_side, count))
        gate = StartGate(wave) if len(wave) > 1 else None
        shared += [gate] * len(wave)
    return shared
