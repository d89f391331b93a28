"""Each host in parallel under a deadline, never joining a stuck worker.

Fabric's group results are the model: one outcome per host, its return value or the exception it
raised, keyed by host. Unlike `with ThreadPoolExecutor(...)`, whose exit joins every worker however
long it takes, a worker still running at the deadline is abandoned: it runs in a daemon thread (it
dies with the process), its host's outcome is `NoAnswer`, and what it returns later is dropped.
The remote waits a worker makes have deadlines of their own (SSH connect, libvirt keepalive, shell
commands, flock -w) that fire first; this one is the backstop for a wait none of them covers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from novactl.errors import HostError

T = TypeVar("T")


class NoAnswer(HostError):
    """The host's worker had not finished when its deadline passed."""

    def __init__(self, host: str, seconds: float):
        super().__init__(host, f"no answer within {seconds:g} s")
        self.seconds = seconds


def each_host(
    work: Callable[[str], T],
    hosts: Iterable[str],
    deadline: float | Callable[[str], float],
    name: str = "host",
    limit: int | None = None,
    expected: type[Exception] = Exception,
) -> dict[str, T | Exception]:
    """{host: work(host), or the exception it raised, or NoAnswer}, in the order of `hosts`.

    An exception that is not `expected` (a host's failure, by the caller's measure) is a bug, not a
    host's outcome: the first one, in host order, is raised here once every host is collected.

    Every host's worker starts at once (at most `limit` run at a time: the others wait their turn,
    inside the same deadline). `deadline` is seconds from the start, for all hosts or per host.
    Threads are named NAME-HOST.
    """
    hosts = list(dict.fromkeys(hosts))
    seconds = deadline if callable(deadline) else (lambda _host: deadline)
    turns = threading.BoundedSemaphore(limit) if limit else None
    outcomes: dict[str, T | Exception] = {}
    lock = threading.Lock()
    collected = threading.Event()

    def run(host: str) -> None:
        try:
            if turns is None:
                outcome: T | Exception = work(host)
            else:
                with turns:
                    outcome = work(host)
        except Exception as exc:  # the host's outcome, for the caller to judge
            outcome = exc
        with lock:
            if not collected.is_set():
                outcomes[host] = outcome

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(host,), name=f"{name}-{host}", daemon=True) for host in hosts]
    for thread in threads:
        thread.start()
    for host, thread in zip(hosts, threads, strict=True):
        thread.join(max(0.0, started + seconds(host) - time.monotonic()))
    with lock:  # from here on a late worker's outcome is dropped
        collected.set()
        done = dict(outcomes)
    for host in hosts:
        if isinstance(done.get(host), Exception) and not isinstance(done[host], expected):
            raise done[host]
    return {host: done[host] if host in done else NoAnswer(host, seconds(host)) for host in hosts}
