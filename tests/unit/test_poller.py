"""The poller never waits on a stuck host: its thread is abandoned at the deadline, the host is down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from novactl import poller
from novactl.drivers.base import Survey
from novactl.drivers.fake import FakeDriver
from novactl.inventory import load_inventory


class _HungDriver(FakeDriver):
    release = threading.Event()

    def poll(self):
        self.release.wait(60)  # a libvirt call that never returns
        return super().poll()


def test_a_host_whose_poll_hangs_is_down_at_the_deadline_and_the_others_answer(fake_cluster: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = load_inventory(str(fake_cluster))
    real = poller.make_driver
    monkeypatch.setattr(poller, "make_driver", lambda host, inv, opener=None: (_HungDriver if host.name == "compute1" else real)(host, inv))
    monkeypatch.setattr(poller, "poll_deadline", lambda host: 0.5)
    started = time.monotonic()
    try:
        with poller.poll(inventory) as cluster:
            states = {name: (s.up, s.down_reason) for name, s in cluster.states.items()}
    finally:
        _HungDriver.release.set()
    assert time.monotonic() - started < 30  # not the 60 s the stuck poll would take
    assert states["compute1"] == (False, "no answer within 0.5 s")
    assert states["compute2"] == (True, "")
    assert set(cluster.drivers) == set(states)  # every asked host has a driver, a fresh one for the stuck host


class _SlowPollDriver(_HungDriver):
    """A host whose poll missed its deadline (a loaded machine) but which answers what it is asked next."""

    release = threading.Event()

    def survey(self) -> Survey:
        return Survey(domains=frozenset({"6f0c1a2b-0000-4000-8000-000000000001"}))


def test_a_survey_for_reclaiming_asks_again_the_hosts_the_poll_saw_down(fake_cluster: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reclaiming a fixed IP needs every host surveyed: a host that was only slow in the poll is asked
    again under the IPAM lock; one that is really down (compute3) still is, and keeps its leases."""
    inventory = load_inventory(str(fake_cluster))
    real = poller.make_driver
    monkeypatch.setattr(
        poller, "make_driver", lambda host, inv, opener=None: (_SlowPollDriver if host.name == "compute1" else real)(host, inv)
    )
    monkeypatch.setattr(poller, "poll_deadline", lambda host: 0.5)
    try:
        with poller.poll(inventory) as cluster:
            assert not cluster.states["compute1"].up and not cluster.states["compute3"].up
            assert sorted(poller.survey(cluster).down) == ["compute1", "compute3"]  # what other callers go on
            view = poller.survey(cluster, ask_down=True)
    finally:
        _SlowPollDriver.release.set()
    assert view.down == ["compute3"] and view.domains == {"6f0c1a2b-0000-4000-8000-000000000001": "compute1"}
