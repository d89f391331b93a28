"""An instance's serial console: its log (console-log) and the live pty (`novactl console`).

The domain's serial port is a pty whose output libvirt also logs to `<instance dir>/console.log`
(domain_xml.Serial): console-log reads that file; `open_console` attaches to the pty with
virDomainOpenConsole over the host's libvirt connection, so the live console travels through the
same strictly-checked SSH connection (tunnel.py) as everything else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time

import libvirt

from novactl.drivers.base import ConsoleEnded
from novactl.drivers.libvirt import guest, paths
from novactl.drivers.libvirt.errors import reason
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError

LOG = logging.getLogger("novactl.virt.libvirt.console")
_CHUNK = 65536
CLOSED = "the console closed: the guest stopped, or another session took it over (--force)"
_SEND_DEADLINE = 10  # seconds a keystroke may wait for libvirt to take it before the console is dropped


def console_log(host: Host, instance_uuid: str, length: int | None) -> str:
    """The serial console's file, or its last `length` lines (Nova's get_console_output)."""
    data = host.connection.read_file(f"{paths.instance_dir(host.config, instance_uuid)}/console.log")
    text = (data or b"").decode(errors="replace")
    if length is None:
        return text
    return "\n".join(text.splitlines()[-length:]) if length > 0 else ""


class LibvirtConsole:
    """The guest's serial pty as a non-blocking libvirt stream.

    libvirt's event loop thread (libvirt_client.ensure_event_loop) receives the guest's output into a
    queue and writes one byte to `wakeup` for each chunk, so a caller can select() on it beside its
    terminal. The stream's end, an error, or the libvirt connection closing (keepalive: the host went
    away) queue a `ConsoleEnded` with the reason.
    """

    def __init__(self, host: Host, instance_uuid: str, force: bool):
        self._host = host
        self._queue: queue.SimpleQueue[bytes | ConsoleEnded] = queue.SimpleQueue()
        self._ended = threading.Event()
        self._pipe_lock = threading.Lock()  # the event thread never writes to a descriptor close() freed
        self._wakeup_read, self._wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        conn = host.libvirt
        domain = guest.lookup(host, instance_uuid)
        self._stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        try:
            domain.openConsole(None, self._stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0)
            events = libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
            self._stream.eventAddCallback(events, self._on_event, None)
        except libvirt.libvirtError as exc:
            self._close_pipe()
            message = reason(exc)
            if "Active console session" in message:
                message += " (another `novactl console` or `virsh console` is attached: --force takes it over)"
            raise HostError(host.name, f"cannot open the serial console: {message}") from None
        with contextlib.suppress(libvirt.libvirtError):  # a connection without close callbacks still has keepalive errors
            conn.registerCloseCallback(self._on_connection_closed, None)

    @property
    def wakeup(self) -> int:
        """A descriptor that becomes readable when `read` has something."""
        return self._wakeup_read

    def read(self) -> bytes | ConsoleEnded | None:
        """The next chunk of output, the end (with why), or None when nothing has arrived."""
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            return None
        with contextlib.suppress(BlockingIOError, OSError):
            os.read(self._wakeup_read, 1)
        return item

    def write(self, data: bytes) -> None:
        """Send keystrokes to the guest; HostError if libvirt does not take them within a deadline."""
        deadline = time.monotonic() + _SEND_DEADLINE
        while data:
            try:
                sent = self._stream.send(data)
            except libvirt.libvirtError as exc:
                raise HostError(self._host.name, f"console: {reason(exc)}") from None
            if sent == -2:  # would block
                if time.monotonic() > deadline or self._ended.is_set():
                    raise HostError(self._host.name, f"console: the host took no input for {_SEND_DEADLINE} s")
                time.sleep(0.01)
                continue
            data = data[sent:]

    def close(self) -> None:
        self._end(None)
        with contextlib.suppress(libvirt.libvirtError):
            self._stream.eventRemoveCallback()
        with contextlib.suppress(libvirt.libvirtError):
            self._stream.abort()  # the guest's pty stays; only this attachment goes
        with contextlib.suppress(libvirt.libvirtError):
            self._host.libvirt.unregisterCloseCallback()
        self._close_pipe()

    # -- libvirt's event loop thread ---------------------------------------------------------------

    def _on_event(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            while not self._ended.is_set():
                try:
                    data = stream.recv(_CHUNK)
                except libvirt.libvirtError as exc:
                    self._end(ConsoleEnded(f"console stream failed: {reason(exc)}", failed=True))
                    return
                if data == -2:  # drained for now
                    break
                if not data:
                    self._end(ConsoleEnded(CLOSED))
                    return
                self._put(data)
        if events & (libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP):
            self._end(ConsoleEnded(CLOSED))

    def _on_connection_closed(self, _conn: libvirt.virConnect, why: int, _opaque: object) -> None:
        self._end(ConsoleEnded(f"lost the connection to {self._host.name} (libvirt close reason {why})", failed=True))

    def _end(self, ended: ConsoleEnded | None) -> None:
        if self._ended.is_set():
            return
        self._ended.set()
        if ended is not None:
            LOG.debug("console on %s: %s", self._host.name, ended.why)
            self._put(ended)

    def _put(self, item: bytes | ConsoleEnded) -> None:
        self._queue.put(item)
        with self._pipe_lock, contextlib.suppress(OSError):  # full (the reader is behind) or closed: it wakes anyway
            if self._wakeup_write >= 0:
                os.write(self._wakeup_write, b"x")

    def _close_pipe(self) -> None:
        with self._pipe_lock:
            for fd in (self._wakeup_read, self._wakeup_write):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wakeup_read = self._wakeup_write = -1
