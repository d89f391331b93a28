"""One long-lived `sh` on the host, fed one quoted command line at a time.

sshd starts every exec channel through the user's login shell, which sources its rc files: on a host
whose .bashrc does real work (pyenv, conda) that costs 100-200 ms per command, and a boot runs a dozen
commands. One shell per connection pays it once; each command after that costs one round trip.

Protocol: each command line is `shlex.join(argv)` with stdin from /dev/null and its output captured
into two temporary files; the shell then prints `<token> <status> <stdout bytes> <stderr bytes>` and
both files, so output of any size or content is framed exactly. The shell also holds flock file
descriptors, so a lock lives exactly as long as this connection.
"""

from __future__ import annotations

import secrets
import shlex
import threading

import paramiko

from novactl.errors import HostError

# The first line the shell reads: temporary files for output, removed when the shell exits.
_SETUP = 'o=$(mktemp) && e=$(mktemp) && trap \'rm -f "$o" "$e"\' EXIT && echo {token}\n'


class RemoteShell:
    def __init__(self, transport: paramiko.Transport, host: str):
        self._host = host
        self._token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._channel = transport.open_session()
        # Sent now, answered later: the login shell's start-up overlaps whatever the caller does next.
        self._channel.exec_command("sh -s")
        self._channel.sendall(_SETUP.format(token=self._token).encode())
        self._reader = self._channel.makefile("rb")
        self._ready = False

    def run(self, argv: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        return self.run_line(shlex.join(argv) + " </dev/null", timeout)

    def run_line(self, line: str, timeout: float) -> tuple[int, bytes, bytes]:
        """Run one shell line built by this module's callers from quoted parts only."""
        with self._lock:
            try:
                self._channel.settimeout(timeout)
                if not self._ready:
                    self._expect_ready()
                self._channel.sendall(
                    f'{{ {line}; }} >"$o" 2>"$e"; s=$?; echo "{self._token} $s $(wc -c <"$o") $(wc -c <"$e")"; cat "$o" "$e"\n'.encode()
                )
                header = self._reader.readline().split()
                if len(header) != 4 or header[0].decode() != self._token:
                    raise HostError(self._host, "remote shell: unexpected reply (shell died?)")
                status, out_len, err_len = (int(v) for v in header[1:])
                return status, self._read(out_len), self._read(err_len)
            except TimeoutError:
                self.close()  # the command may still run; this shell can no longer be trusted
                raise HostError(self._host, f"command timed out after {timeout:g} s: {line[:120]}") from None
            except (paramiko.SSHException, OSError) as exc:
                self.close()
                raise HostError(self._host, f"remote shell: {exc}") from None

    def _expect_ready(self) -> None:
        line = self._reader.readline().strip().decode(errors="replace")
        if line != self._token:
            raise HostError(self._host, f"remote shell did not start (got {line[:80]!r})")
        self._ready = True

    def _read(self, size: int) -> bytes:
        data = self._reader.read(size)
        if len(data) != size:
            raise HostError(self._host, "remote shell: connection closed mid-reply")
        return data

    @property
    def alive(self) -> bool:
        return not self._channel.closed

    def close(self) -> None:
        self._channel.close()
