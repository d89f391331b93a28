"""Scheduling of moves and the verbs' state checks, on fake hosts (no host is touched)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from novactl import lifecycle, moves
from novactl.errors import EXIT_FAILED, HostError, NoValidHost, UsageError
from novactl.inventory import load_inventory
from novactl.poller import poll

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


def test_cli_exit_codes(write_inventory: Callable[..., Path], run_main) -> None:
    path = str(write_inventory(CLUSTER))
    done = run_main("-i", path, "stop", "x")  # the fake driver cannot act: usage, reported per instance
    assert done.exit_code == 2 and "ERROR: a: the fake driver cannot stop instances" in done.stdout
    done = run_main("-i", path, "resize", "x", "m1.tiny")
    assert done.exit_code == 2 and "already has flavor" in done.stderr
    done = run_main("-i", path, "live-migration", "x", "b")
    assert done.exit_code == 3 and "ServerGroupAntiAffinityFilter" in done.stderr
    done = run_main("-i", path, "evacuate", "a", "--dry-run", "-f", "value", "-c", "Name", "-c", "Result")
    assert done.exit_code == 0 and "x planned" in done.stdout
    assert run_main("-i", path, "start", "ghost").exit_code == 1  # host d is down and may hold it


def test_resize_to_a_smaller_root_disk_is_refused(write_inventory: Callable[..., Path], run_main) -> None:
    text = textwrap.dedent(CLUSTER).replace("{name: fat, flavor: m1.big}", "{name: fat, flavor: m1.wide}")
    path = str(write_inventory(text, "wide.yaml"))
    done = run_main("-i", path, "resize", "fat", "m1.tiny")
    assert done.exit_code == 2 and "smaller disk" in done.stderr
