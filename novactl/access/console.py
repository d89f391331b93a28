"""`novactl console`: the guest's serial console on this terminal, like `virsh console`.

The driver attaches to the guest's pty (drivers/libvirt/console.py, over the host's strictly-checked
connection); this module relays bytes between it and the terminal, which is put in raw mode (so
Ctrl-C reaches the guest) and always restored. Ctrl-] leaves. The session also ends when the guest
stops (its console closes) or the host goes away (libvirt keepalive closes the connection within
about 2 x connect_timeout, ARCHITECTURE.md), or when our input ends.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
import threading
import tty
from collections.abc import Callable, Iterator

from novactl.drivers.base import Console, ConsoleEnded
from novactl.errors import HostError
from novactl.lifecycle import check_state, find
from novactl.models import Inventory
from novactl.poller import poll

ESCAPE = b"\x1d"  # Ctrl-], as virsh console
LEFT = ConsoleEnded("left the console (Ctrl-])")
INPUT_ENDED = ConsoleEnded("end of input")
# Nova refuses a serial console unless the instance runs; a paused guest's console still attaches.
STATES = {"active", "paused"}


def attach(inventory: Inventory, name: str, force: bool, stdin_fd: int, stdout_fd: int, say: Callable[[str], None]) -> str:
    """Relay the instance's serial console until it ends; returns why it ended.

    HostError (exit 1) when the host went away or the stream broke; UsageError (exit 2) when the
    instance is not running.
    """
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        check_state("attach a console to", instance, STATES)
        console = cluster.drivers[instance.host].open_console(instance, force)
        try:
            say(f"Connected to {instance.name} ({instance.instance_name} on {instance.host})\nEscape character is ^] (Ctrl + ])")
            ended = relay(console, stdin_fd, stdout_fd)
        finally:
            console.close()
    if ended.failed:
        raise HostError(instance.host, ended.why)
    return ended.why


def relay(console: Console, stdin_fd: int, stdout_fd: int) -> ConsoleEnded:
    """Copy the console to `stdout_fd` and `stdin_fd` to the console until either side ends."""
    with raw_terminal(stdin_fd):
        while True:
            # No timeout is needed for liveness (the driver queues the end when the host goes away);
            # the 1 s wake-up only bounds how long a missed wake-up byte could delay output.
            ready, _, _ = select.select([stdin_fd, console.wakeup], [], [], 1.0)
            while (item := console.read()) is not None:
                if isinstance(item, ConsoleEnded):
                    return item
                write_all(stdout_fd, item)
            if stdin_fd in ready:
                data = os.read(stdin_fd, 4096)
                if not data:
                    return INPUT_ENDED
                keys, escape, _ = data.partition(ESCAPE)
                if keys:
                    console.write(keys)
                if escape:
                    return LEFT


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on a terminal (restored however the block ends, SIGTERM and SIGHUP included); nothing otherwise."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    handlers = _exit_on_signals() if threading.current_thread() is threading.main_thread() else {}
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _exit_on_signals() -> dict[int, object]:
    """SIGTERM and SIGHUP unwind (so the terminal is restored) instead of killing outright."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    return {signum: signal.signal(signum, leave) for signum in (signal.SIGTERM, signal.SIGHUP)}


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is out (a pipe or terminal may take less at a time)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
