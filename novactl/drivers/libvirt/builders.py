"""Builder locks: whether the process that made a claim is still alive.

Each novactl process that claims on a host first takes `<state_path>/locks/builder-<token>.lock` on
that host and holds it for the rest of its life. Over SSH the flock is held by the connection's
remote shell (remote/shell.py), so it goes when the process dies, however it dies; locally the
process holds it itself. A claim records its builder's token, so a claim whose builder lock is free
is a dead builder's: polls and claim checks ignore it at once, and `cleanup` removes it. A claim's
15-minute expiry stays as a backstop.

One lock per process, not per claim: a remote shell has only the descriptors 3..9 to hold locks on,
and one process may build many instances on a host at once (`boot --max-count`).

Ordering makes the test sound: the builder lock is taken under the host lock before the first claim
is written, and `cleanup` decides under the host lock, so a claim file never exists while its
builder's lock is not yet held.
"""

from __future__ import annotations

import re
import secrets
import time

from novactl.drivers.libvirt import paths
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError

TOKEN = re.compile(r"[0-9a-f]{16}")
LOCK_NAME = re.compile(r"builder-([0-9a-f]{16})\.lock")
# Prints the file names of the builder locks someone holds in the directory "$L". The probe asks for
# a shared lock for an instant (`flock -n -s`): that fails only while the builder holds its exclusive
# lock, never because another poll probes the same file at that moment. An exclusive probe did: two
# probes at once each saw the other's instant as a live builder, and with 12 boots polling a killed
# boot still answered live 25 s after the kill: its lease was not reclaimed and a boot failed.
LIVE_BUILDERS = 'for l in "$L"/builder-*.lock; do [ -f "$l" ] && ! flock -n -s "$l" true && echo "${l##*/}"; done'
LOCK_TIMEOUT = 30  # seconds: nobody else ever takes a builder lock but for an instant


def hold(host: Host) -> str:
    """This process's builder token on `host`, taking its lock on first use (call under the host lock).

    A new token when the last one's lock is gone (the remote shell holding it ended): from then on the
    old token's claims count nowhere, and the builds that made them fail (`confirm`).
    """
    conn = host.connection
    if host.builder is None or not conn.holds(paths.builder_lock(host.config, host.builder)):
        token = secrets.token_hex(8)
        path = paths.builder_lock(host.config, token)
        conn.hold(path, timeout=LOCK_TIMEOUT)
        # Runs at close, before the connection closes, so while still held: the file goes, and polls
        # never test it again.
        host.held.callback(conn.run, ["rm", "-f", "--", path], check=False)
        host.builder = token
    return host.builder


def confirm(host: Host, token: str) -> None:
    """HostError unless the builder lock `token` has been held without a break since it was taken.

    Once it is gone, a poll, a claim check or `cleanup` anywhere may have taken its claims for a dead
    build's and given their capacity (or a fixed IP) to another boot: a build that relied on it must fail
    and be undone. Answered after a command on the host, True means the lock was held up to that command.
    """
    if not host.connection.holds(paths.builder_lock(host.config, token)):
        raise HostError(host.name, "the builder lock behind this build's claim was lost (the remote shell holding it ended)")


def parse_live(listing: str) -> set[str]:
    """The tokens of the held builder locks, from LIVE_BUILDERS' output (anything else is ignored)."""
    return {m.group(1) for line in listing.split() if (m := LOCK_NAME.fullmatch(line))}


def is_live(record: dict, live: set[str], now: float | None = None) -> bool:
    """A claim counts while it has not expired and its builder lives (claims older than builder
    locks, with no builder, live until they expire)."""
    builder = record.get("builder")
    return not _expired(record, now) and (builder is None or (isinstance(builder, str) and builder in live))


def in_flight(record: dict, live: set[str]) -> bool:
    """The build behind a claim still runs: its builder lives, however long it takes (for `cleanup`)."""
    builder = record.get("builder")
    return isinstance(builder, str) and builder in live if builder is not None else not _expired(record)


def _expired(record: dict, now: float | None = None) -> bool:
    expires = record.get("expires", 0)
    return not isinstance(expires, (int, float)) or expires <= (time.time() if now is None else now)
