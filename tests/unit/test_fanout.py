"""remote/fanout.py: every host's outcome under a deadline, a stuck worker never joined."""

from __future__ import annotations

import threading
import time

from novactl.errors import HostError
from novactl.remote.fanout import NoAnswer, each_host


def test_each_host_gives_results_and_exceptions_by_host_in_order():
    def work(host: str) -> str:
        if host == "b":
            raise HostError(host, "refused")
        return host.upper()

    outcomes = each_host(work, ["c", "b", "a"], 30)
    assert list(outcomes) == ["c", "b", "a"]
    assert (outcomes["c"], outcomes["a"]) == ("C", "A")
    assert isinstance(outcomes["b"], HostError) and outcomes["b"].reason == "refused"


def test_a_worker_that_never_returns_does_not_block_and_its_late_answer_is_dropped():
    release = threading.Event()

    def work(host: str) -> str:
        if host == "stuck":
            release.wait()  # never set before each_host returns
        return host

    outcomes = each_host(work, ["ok", "stuck"], 0.2)
    assert outcomes["ok"] == "ok"
    assert isinstance(outcomes["stuck"], NoAnswer)
    assert str(outcomes["stuck"]) == "stuck: no answer within 0.2 s"
    release.set()
    time.sleep(0.1)
    assert isinstance(outcomes["stuck"], NoAnswer)  # what the worker returned late changed nothing


def test_a_limit_of_workers_at_once_within_per_host_deadlines():
    running, most = 0, 0
    lock = threading.Lock()

    def work(host: str) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return host

    outcomes = each_host(work, ["a", "b", "c", "d"], lambda host: 30.0, limit=2)
    assert outcomes == {"a": "a", "b": "b", "c": "c", "d": "d"}
    assert most <= 2


def test_a_worker_raising_a_non_host_error_is_its_hosts_outcome():
    outcomes = each_host(lambda host: 1 // 0, ["a"], 30)
    assert isinstance(outcomes["a"], ZeroDivisionError)
