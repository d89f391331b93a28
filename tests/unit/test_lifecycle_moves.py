"""Scheduling of moves and the verbs' state checks, on fake hosts (no host is touched)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from novactl import lifecycle, moves
from novactl.drivers.fake import FakeDriver
from novactl.errors import EXIT_FAILED, HostError, NoValidHost, UsageError
from novactl.inventory import load_inventory
from novactl.poller import poll
from tests.unit.runner import run

CLUSTER = """\
scheduler:
  reserved_host_memory_mb: 0
  ram_allocation_ratio: 1.0
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
  - {id: "2", name: m1.big, ram: 3072, disk: 1, vcpus: 1}
  - {id: "3", name: m1.wide, ram: 512, disk: 5, vcpus: 1}
images:
  - {id: 11111111-2222-3333-4444-555555555555, name: cirros, file: cirros.qcow2}
server_groups:
  - {name: apart, policy: anti-affinity}
  - {name: alone, policy: affinity}
hosts:
  - name: a
    driver: fake
    facts:
      memory_mb: 8192
      vcpus: 4
      local_gb: 100
      instances:
        - {name: x, flavor: m1.tiny, group: apart, image: 11111111-2222-3333-4444-555555555555}
        - {name: solo, flavor: m1.tiny, group: alone}
        - {name: fat, flavor: m1.big}
  - name: b
    driver: fake
    facts:
      memory_mb: 4096
      vcpus: 4
      local_gb: 100
      instances:
        - {name: y, flavor: m1.tiny, group: apart}
  - name: c
    driver: fake
    facts: {memory_mb: 4096, vcpus: 4, local_gb: 100}
  - name: d
    driver: fake
    facts: {memory_mb: 4096, vcpus: 4, local_gb: 100, up: false, down_reason: connection refused}
"""


@pytest.fixture
def inventory(write_inventory: Callable[..., Path]):
    return load_inventory(str(write_inventory(CLUSTER)))


def test_a_move_never_lands_on_the_source_and_keeps_anti_affinity(inventory) -> None:
    with poll(inventory) as cluster:
        x = lifecycle.find(cluster, "x")
        target = moves.select_target(cluster, x, x.flavor)
        assert target.host == "c"  # not a (the source), not b (the other member of 'apart')
        with pytest.raises(NoValidHost) as raised:
            moves.select_target(cluster, x, x.flavor, host="b")
        assert "ServerGroupAntiAffinityFilter" in str(raised.value)


def test_a_named_host_must_pass_the_filters(inventory) -> None:
    with poll(inventory) as cluster:
        fat = lifecycle.find(cluster, "fat")
        b_state = cluster.state("b")
        b_state.memory_mb_used = 2048  # 2 GB left: 3 GB does not fit
        with pytest.raises(NoValidHost) as raised:
            moves.select_target(cluster, fat, fat.flavor, host="b")
        assert "RamFilter" in str(raised.value) and raised.value.exit_code == 3
        with pytest.raises(UsageError):
            moves.select_target(cluster, fat, fat.flavor, host="a")  # already there
        with pytest.raises(UsageError):
            moves.select_target(cluster, fat, fat.flavor, host="nowhere")


def test_its_own_place_does_not_bind_a_lone_affinity_member(inventory) -> None:
    with poll(inventory) as cluster:
        solo = lifecycle.find(cluster, "solo")
        assert moves.select_target(cluster, solo, solo.flavor).host in ("b", "c")


def test_resize_prefers_the_same_host_and_says_when_it_cannot(inventory) -> None:
    with poll(inventory) as cluster:
        x = lifecycle.find(cluster, "x")
        big = inventory.flavor("m1.big")
        assert moves.select_target(cluster, x, big, same_host=True).note == "same host"
        cluster.state("a").memory_mb_used = 6144  # the new flavor no longer fits beside the others
        target = moves.select_target(cluster, x, big, same_host=True)
        assert target.host == "c" and target.note == "a has no room"


def test_evacuate_dry_run_plans_members_apart(inventory) -> None:
    steps = [step for step, outcome in moves.evacuate(inventory, "a", dry_run=True, timeout=0) if outcome is None]
    plan = {step.instance.name: (step.action, step.target.host if step.target else None) for step in steps}
    assert plan["x"] == ("live-migration", "c")
    assert plan["fat"][0] == "live-migration" and plan["fat"][1] in ("b", "c")
    with pytest.raises(HostError) as raised:
        moves.evacuate(inventory, "d", dry_run=True, timeout=0)
    assert raised.value.exit_code == EXIT_FAILED and "d:" in str(raised.value)


def test_verbs_check_the_vm_state_first(inventory) -> None:
    with poll(inventory) as cluster:
        x = lifecycle.find(cluster, "x")
        assert lifecycle.check_state("stop", x) == "active"
        with pytest.raises(UsageError, match="cannot start instance x while it is in vm_state active"):
            lifecycle.check_state("start", x)
        x.task_state = "migrating"
        with pytest.raises(UsageError, match="task_state migrating"):
            lifecycle.check_state("stop", x)


def test_an_instance_not_found_while_a_host_is_down_names_the_host(inventory) -> None:
    with poll(inventory) as cluster, pytest.raises(HostError) as raised:
        lifecycle.find(cluster, "ghost")
    assert raised.value.exit_code == EXIT_FAILED and "d: connection refused" in str(raised.value)


def test_cli_exit_codes(write_inventory: Callable[..., Path]) -> None:
    path = str(write_inventory(CLUSTER))
    done = run("-i", path, "stop", "x")  # the fake driver cannot act: usage, reported per instance
    assert done.exit_code == 2 and "ERROR: a: the fake driver cannot stop instances" in done.stdout
    done = run("-i", path, "resize", "x", "m1.tiny")
    assert done.exit_code == 2 and "already has flavor" in done.stderr
    done = run("-i", path, "live-migration", "x", "b")
    assert done.exit_code == 3 and "ServerGroupAntiAffinityFilter" in done.stderr
    done = run("-i", path, "evacuate", "a", "--dry-run", "-f", "value", "-c", "Name", "-c", "Result")
    assert done.exit_code == 0 and "x planned" in done.stdout
    assert run("-i", path, "start", "ghost").exit_code == 1  # host d is down and may hold it


def test_resize_to_a_smaller_root_disk_is_refused(write_inventory: Callable[..., Path]) -> None:
    text = textwrap.dedent(CLUSTER).replace("{name: fat, flavor: m1.big}", "{name: fat, flavor: m1.wide}")
    path = str(write_inventory(text, "wide.yaml"))
    done = run("-i", path, "resize", "fat", "m1.tiny")
    assert done.exit_code == 2 and "smaller disk" in done.stderr


# -- delete: Nova's state checks ----------------------------------------------------------------------------


@pytest.fixture
def deletions(monkeypatch) -> list[tuple[str, str, str]]:
    """What delete asked the fake drivers to do: (host, action, instance uuid), in order."""
    done: list[tuple[str, str, str]] = []
    monkeypatch.setattr(FakeDriver, "destroy", lambda self, i: done.append((self.host.name, "destroy", i.uuid)))
    monkeypatch.setattr(FakeDriver, "confirm_migration", lambda self, u: done.append((self.host.name, "confirm", u)))
    return done


def _as(monkeypatch, name: str, **changes) -> None:
    """Make instance `name` look, to delete, as a move would have left it."""
    original = lifecycle.find

    def find(cluster, wanted):
        instance = original(cluster, wanted)
        for key, value in changes.items() if instance.name == name else ():
            setattr(instance, key, value)
        return instance

    monkeypatch.setattr(lifecycle, "find", find)


def test_delete_in_any_vm_state_destroys_on_the_instances_host(inventory, deletions) -> None:
    outcomes = lifecycle.delete(inventory, ["x", "y"])
    assert [(o.instance.name, o.result, o.exit_code) for o in outcomes] == [("x", "deleted", 0), ("y", "deleted", 0)]
    assert [(host, action) for host, action, _ in deletions] == [("a", "destroy"), ("b", "destroy")]


def test_delete_of_a_resized_instance_removes_the_source_copy_first(inventory, deletions, monkeypatch) -> None:
    _as(monkeypatch, "x", vm_state="resized", metadata={"old_host": "c", "old_flavor": "1", "old_vm_state": "active"})
    (outcome,) = lifecycle.delete(inventory, ["x"])
    assert outcome.result == "deleted"
    assert deletions == [("c", "confirm", outcome.instance.uuid), ("a", "destroy", outcome.instance.uuid)]


def test_delete_during_a_move_is_refused_before_any_host_is_touched(inventory, deletions, monkeypatch) -> None:
    _as(monkeypatch, "x", task_state="resize_migrating")
    refused = r"^cannot delete instance x while it is in task_state resize_migrating \(a move is in progress\)$"
    with pytest.raises(UsageError, match=refused):
        lifecycle.delete(inventory, ["y", "x"])
    assert deletions == []


def test_delete_of_a_resized_instance_whose_source_is_down_is_refused(inventory, deletions, monkeypatch) -> None:
    _as(monkeypatch, "x", vm_state="resized", metadata={"old_host": "d"})
    with pytest.raises(HostError, match=r"^d: is down \(connection refused\); instance x's copy there would be left behind$"):
        lifecycle.delete(inventory, ["x"])
    assert deletions == []


def test_delete_through_the_cli_reports_each_instance(write_inventory: Callable[..., Path]) -> None:
    path = write_inventory(CLUSTER)
    done = run("-i", path, "delete", "x", "-f", "value", "-c", "Name", "-c", "Result")
    assert (done.exit_code, done.stdout, done.stderr) == (2, "x ERROR: a: the fake driver cannot delete instances\n", "")
    done = run("-i", path, "delete", "ghost")
    assert (done.exit_code, done.stdout) == (1, "")  # host d is down and may hold it
