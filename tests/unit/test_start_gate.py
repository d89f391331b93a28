"""The multi-create start gate (novactl/start_gate.py): guests run once every sibling's is launched."""

from __future__ import annotations

import threading

from novactl.start_gate import StartGate, gates


def arriving(gate: StartGate, build: int) -> threading.Thread:
    thread = threading.Thread(target=gate.arrive, args=(build,), daemon=True)
    thread.start()
    return thread


def test_a_launched_guest_waits_until_every_sibling_is_launched() -> None:
    gate = StartGate(range(3))
    first, second = arriving(gate, 0), arriving(gate, 1)
    first.join(0.2)
    assert first.is_alive() and second.is_alive()  # build 2 has not launched its guest yet
    gate.arrive(2)  # the last one does not wait
    first.join(5)
    second.join(5)
    assert not first.is_alive() and not second.is_alive()


def test_a_build_that_ends_without_launching_holds_nobody() -> None:
    gate = StartGate(range(2))
    waiting = arriving(gate, 0)
    gate.leave(1)  # failed for good, or found no host
    waiting.join(5)
    assert not waiting.is_alive()


def test_once_open_the_gate_stays_open_for_a_rescheduled_build() -> None:
    gate = StartGate(range(2))
    gate.leave(1)
    gate.arrive(0)
    gate.arrive(1)  # its new attempt launched after the others ran: it runs at once


def test_the_wait_has_a_backstop() -> None:
    StartGate(range(2)).arrive(0, timeout=0.01)  # returns, sibling 1 never came


def test_one_gate_per_wave_of_builds_that_run_side_by_side() -> None:
    assert gates(1, 1) == [None]
    eight = gates(8, 8)
    assert all(gate is eight[0] for gate in eight) and eight[0] is not None
    twenty = gates(20, 16)
    assert len({id(gate) for gate in twenty[:16]}) == 1 and len({id(gate) for gate in twenty[16:]}) == 1
    assert twenty[0] is not twenty[16]
    assert gates(17, 16)[16] is None  # alone in its wave: started without a gate
