"""Opening libvirt connections that cannot wait forever: a deadline on the open, keepalive after it.

libvirt's client detects a dead or frozen daemon only through keepalive, and keepalive needs an
event loop: the default implementation is registered once per process and run by a daemon thread.
`libvirt.open` has no timeout of its own (a frozen libvirtd never answers its first RPC), so it
runs in a daemon thread that is abandoned, after `on_timeout` has cut its transport, at the deadline.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import libvirt

from novactl.errors import HostError
from novactl.remote import Unreachable

KEEPALIVE_COUNT = 2  # pings unanswered before libvirt closes the connection
_loop_lock = threading.Lock()
_loop_started = False


def keepalive_interval(connect_timeout: float) -> int:
    """Seconds between pings, so that a silent daemon is declared dead in about 2x connect_timeout.

    libvirt closes a connection after interval * (count + 1) seconds without a word from the daemon.
    """
    return max(1, math.floor(2 * connect_timeout / (KEEPALIVE_COUNT + 1)))


def ensure_event_loop() -> None:
    """Register libvirt's default event loop (before any connection opens), run it in a daemon thread, and
    keep libvirt from printing the errors it also raises."""
    global _loop_started
    with _loop_lock:
        if _loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()
        # Every libvirt error reaches novactl as a libvirtError; without a handler libvirt also prints
        # each one to stderr, even those novactl expects and handles (a foreign domain's missing metadata).
        libvirt.registerErrorHandler(_ignore_error, None)
        threading.Thread(target=_run_event_loop, daemon=True, name="libvirt-events").start()
        _loop_started = True


def _ignore_error(_context: object, _error: object) -> None:
    pass


def _run_event_loop() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()


def open_connection(
    uri: str,
    host_name: str,
    connect_timeout: float,
    on_timeout: Callable[[], None] | None = None,
    bridge: Callable[[float, Callable[[], bool]], None] | None = None,
) -> libvirt.virConnect:
    """`libvirt.open(uri)` within `connect_timeout`, with keepalive on; Unreachable with the reason otherwise.

    `bridge(deadline, opening)`: run here while libvirt opens, to carry its connection (the tunnel's);
    TimeoutError at the deadline, or a HostError, which fails the open once `on_timeout` has cut the
    transport libvirt is waiting on.
    """
    ensure_event_loop()
    outcome: dict[str, object] = {}

    def attempt() -> None:
        try:
            outcome["conn"] = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            outcome["error"] = exc.get_error_message()

    deadline = time.monotonic() + connect_timeout
    opener = threading.Thread(target=attempt, daemon=True, name=f"libvirt-open-{host_name}")
    opener.start()
    if bridge is not None:
        try:
            bridge(deadline, opener.is_alive)
        except TimeoutError:
            pass  # the deadline has passed: as below
        except HostError:
            _cut(on_timeout)
            raise
    opener.join(max(0.0, deadline - time.monotonic()))
    if opener.is_alive():
        _cut(on_timeout)
        raise Unreachable(host_name, f"libvirt did not answer within {connect_timeout:g} s")
    if "error" in outcome:
        raise Unreachable(host_name, f"libvirt: {outcome['error']}")
    conn = outcome["conn"]
    assert isinstance(conn, libvirt.virConnect)
    try:
        conn.setKeepAlive(keepalive_interval(connect_timeout), KEEPALIVE_COUNT)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:  # an in-process driver (test:///) has none
            conn.close()
            raise Unreachable(host_name, f"libvirt keepalive: {exc.get_error_message()}") from None
    return conn


def _cut(on_timeout: Callable[[], None] | None) -> None:
    if on_timeout is not None:
        on_timeout()
