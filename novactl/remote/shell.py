"""One long-lived `sh` on the host, fed one quoted command line at a time.

sshd starts every exec channel through the user's login shell, which sources its rc files: on a host
whose .bashrc does real work (pyenv, conda) that costs 100-200 ms per command, and a boot runs a dozen
commands. One shell per connection pays it once; each command after that costs one round trip.

Protocol: each command line is `shlex.join(argv)` with stdin from /dev/null. Its stdout goes to the
channel as it comes, its stderr into a temporary file; the shell then prints a newline and
`<token> <status> <stderr bytes>` and the file, so output of any size or content is framed exactly
(the token is this shell's secret: a command's output cannot end its frame early). Only builtins
frame a command with no stderr, so it costs no process of its own on the host: counting and copying
both outputs (`wc`, `cat`) took three processes per command, about 3 ms of the host's CPU each here
(a multi-create of 8 sends about 80 commands). The shell also holds flock file descriptors, so a lock lives
exactly as long as this connection.

Round trips are what a command costs (a warm boot is a dozen of them), so several lines may go in
one write (`run_lines`: a lock taken and a command run under it), and a line nobody needs to wait
for (a lock's release) may be posted: the shell runs lines in order, so it has run before anything
sent later, and its reply is skipped when the next reply is read.

Every command has a deadline for its whole reply (not per read): past it the shell is closed, since
the command may still be running and the next reply could be its late one.
"""

from __future__ import annotations

import contextlib
import secrets
import shlex
import threading
import time
from collections.abc import Iterator

import paramiko

from novactl.errors import HostError
from novactl.remote.lost import LOST

# The first line the shell reads: a temporary file for stderr, removed when the shell exits.
_SETUP = "e=$(mktemp) && trap 'rm -f \"$e\"' EXIT && echo {token}\n"


class RemoteShell:
    def __init__(self, transport: paramiko.Transport, host: str, open_timeout: float = 60):
        self._host = host
        self._token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._channel = transport.open_session(timeout=open_timeout)  # paramiko's own default is an hour
        # Sent now, answered later: the login shell's start-up overlaps whatever the caller does next.
        self._channel.exec_command("sh -s")
        self._channel.sendall(_SETUP.format(token=self._token).encode())
        self._buffer = bytearray()
        self._deadline = 0.0
        self._ready = False
        self._unread = 0  # replies of posted lines not read yet

    def run(self, argv: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        return self.run_line(shlex.join(argv) + " </dev/null", timeout)

    def run_line(self, line: str, timeout: float) -> tuple[int, bytes, bytes]:
        """Run one shell line built by this module's callers from quoted parts only."""
        return self.run_lines([line], timeout)[0]

    def run_lines(self, lines: list[str], timeout: float) -> list[tuple[int, bytes, bytes]]:
        """Several lines in one round trip: all are sent at once, then each reply is read in order.

        Each line runs whether or not the ones before it succeeded: a line that needs an earlier one's
        effect must test for it itself.
        """
        with self._lock, self._guarded(lines[0], timeout):
            self._channel.sendall(b"".join(self._framed(line) for line in lines))
            while self._unread:  # posted lines' replies come first
                self._reply()
                self._unread -= 1
            return [self._reply() for _ in lines]

    def post_line(self, line: str, timeout: float) -> None:
        """Send a line and do not wait for it (a lock's release): the shell runs it before any later line,
        and its reply is read and dropped before the next one's."""
        with self._lock, self._guarded(line, timeout):
            self._channel.sendall(self._framed(line))
            self._unread += 1

    @contextlib.contextmanager
    def _guarded(self, line: str, timeout: float) -> Iterator[None]:
        """The deadline for the whole exchange; any failure retires the shell (it is out of step)."""
        try:
            self._deadline = time.monotonic() + timeout
            self._channel.settimeout(timeout)
            if not self._ready:
                self._expect_ready()
            yield
        except TimeoutError:
            self.close()  # the command may still run; this shell can no longer be trusted
            raise HostError(self._host, f"command timed out after {timeout:g} s: {line[:120]}") from None
        except LOST as exc:
            self.close()
            raise HostError(self._host, f"remote shell: {str(exc) or 'the SSH connection was lost'}") from None

    def _framed(self, line: str) -> bytes:
        # `[ -s ]` and `echo` are builtins: wc and cat run only for a command that wrote to stderr.
        trailer = f'echo; if [ -s "$e" ]; then echo "{self._token} $s $(wc -c <"$e")"; cat "$e"; else echo "{self._token} $s 0"; fi'
        return f'{{ {line}; }} 2>"$e"; s=$?; {trailer}\n'.encode()

    def _reply(self) -> tuple[int, bytes, bytes]:
        out = self._read_until(b"\n" + self._token.encode() + b" ")
        header = self._readline().split()
        if len(header) != 2 or not all(v.isdigit() for v in header):
            self.close()  # out of step with the shell: nothing it says can be framed any more
            raise HostError(self._host, "remote shell: unexpected reply (shell died?)")
        status, err_len = (int(v) for v in header)
        return status, out, self._read(err_len)

    def _expect_ready(self) -> None:
        line = self._readline().strip().decode(errors="replace")
        if line != self._token:
            self.close()
            raise HostError(self._host, f"remote shell did not start (got {line[:80]!r})")
        self._ready = True

    def _fill(self) -> None:
        """Receive more bytes before this command's deadline; TimeoutError past it."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._channel.settimeout(remaining)
        data = self._channel.recv(1024 * 1024)
        if not data:
            self.close()
            raise HostError(self._host, "remote shell: connection closed mid-reply")
        self._buffer += data  # a bytearray grows in place: a large reply is not copied per packet

    def _readline(self) -> bytes:
        return self._read_until(b"\n") + b"\n"

    def _read_until(self, marker: bytes) -> bytes:
        """The bytes before `marker`; both are taken from the buffer."""
        searched = 0
        while (end := self._buffer.find(marker, searched)) < 0:
            searched = max(0, len(self._buffer) - len(marker) + 1)  # a large reply is not searched again
            self._fill()
        data = bytes(self._buffer[:end])
        del self._buffer[: end + len(marker)]
        return data

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    @property
    def alive(self) -> bool:
        return not self._channel.closed

    def close(self) -> None:
        """Never raises (it runs while handling the failure that retired the shell): closing a channel
        sends to the host, which fails once the connection is gone."""
        with contextlib.suppress(*LOST):
            self._channel.close()
