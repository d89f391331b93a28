"""remote/ahead.py: connections opened in the background, handed over once, the rest closed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from novactl.models import HostConfig
from novactl.remote import Unreachable, ahead
from tests.unit.runner import run


class _Conn:
    def __init__(self, host: HostConfig):
        self.host = host
        self.opened_in = threading.current_thread().name
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _host(name: str = "kvm1", **overrides) -> HostConfig:
    return HostConfig(name=name, address="192.0.2.11", instances_path="/srv/i", state_path="/srv/s", transport="local", **overrides)


def test_take_hands_over_the_connection_opened_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[_Conn] = []
    monkeypatch.setattr(ahead, "connect", lambda host: opened.append(_Conn(host)) or opened[-1])
    host = _host()
    with ahead.OpenedAhead([host]) as openings:
        conn = openings.take(host)
        assert conn is opened[0] and conn.opened_in == "connect-kvm1"
        again = openings.take(host)  # handed over once: a second take opens anew
    assert again is opened[1] and again.opened_in == threading.current_thread().name
    assert not conn.closed and not again.closed  # taken connections belong to the taker


def test_take_raises_what_connect_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(host: HostConfig) -> _Conn:
        raise Unreachable(host.name, "192.0.2.11:22: Connection refused")

    monkeypatch.setattr(ahead, "connect", refuse)
    host = _host()
    with ahead.OpenedAhead([host]) as openings, pytest.raises(Unreachable, match="Connection refused"):
        openings.take(host)


def test_connections_nobody_took_are_closed_even_those_still_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    opened: dict[str, _Conn] = {}

    def connect(host: HostConfig) -> _Conn:
        if host.name == "slow":
            release.wait(10)
        opened[host.name] = _Conn(host)
        return opened[host.name]

    monkeypatch.setattr(ahead, "connect", connect)
    fast, slow = _host("fast"), _host("slow")
    openings = ahead.OpenedAhead([fast, slow])
    while "fast" not in opened:
        threading.Event().wait(0.01)
    openings.close()
    release.set()
    for _ in range(500):
        if "slow" in opened and opened["slow"].closed:
            break
        threading.Event().wait(0.01)
    assert opened["fast"].closed and opened["slow"].closed


def test_a_take_that_waits_past_the_handshake_deadlines_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(ahead, "connect", lambda host: release.wait(10) and _Conn(host))
    host = _host(connect_timeout=0.05)
    with ahead.OpenedAhead([host]) as openings, pytest.raises(Unreachable, match=r"no SSH session within 0\.25 s"):
        openings.take(host)
    release.set()


def test_bad_input_opens_no_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(ahead, "connect", lambda host: calls.append(host.name))
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "hosts:\n  - {name: kvm1, address: 192.0.2.11, driver: libvirt}\n"
        "flavors:\n  - {id: '1', name: tiny, ram: 512, disk: 1, vcpus: 1}\n"
        "images:\n  - {id: 5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d, name: img, file: missing.qcow2}\n"
    )
    done = run("-i", inventory, "boot", "bad_name", "--flavor", "tiny", "--image", "img")
    assert done.exit_code == 2 and "not a safe host name" in done.stderr
    done = run("-i", inventory, "boot", "vm", "--flavor", "tiny", "--image", "img")
    assert done.exit_code == 2, done.stderr
    assert calls == []
