"""Crash recovery on the lab: commands SIGKILLed at every named step, then `cleanup` (issue 8, part 3).

A kill point (`NOVACTL_TEST_KILL_AT=<step>`, novactl/crashpoints.py) makes novactl SIGKILL itself at
that step: no undo, no finally, as when the machine running it loses power. After `cleanup` every host
must hold no claim, no dead builder's lock file, no partial base, no instance directory without its
domain, nothing in BUILD; `list` must agree with `virsh`, no capacity may have leaked, and a new boot
must succeed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli import novactl, novactl_json, novactl_killed_at, novactl_ok
from tests.integration.leftovers import assert_clean, delete_leftovers
from tests.lab import Lab

STATE = "/var/lib/novactl"
INSTANCES = f"{STATE}/instances"
# Every step of a boot, in order; boot.base-sent fires only when the image is not cached on the host.
BOOT_STEPS = [
    "boot.base-sent",
    "boot.claimed",
    "boot.directory",
    "boot.disks",
    "boot.bridge",
    "boot.defined",
    "boot.started",
    "boot.active",
]
TINY_RAM = 512


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict) -> Iterator[Path]:
    path = lab.write_inventory(tmp_path / "inventory.yaml", images=[marker_image])
    yield path
    novactl(path, "cleanup")
    delete_leftovers(path)
    assert_clean(lab)


def memory_used(inventory: Path) -> int:
    return novactl_json(inventory, "hypervisor-stats")["memory_mb_used"]


def domains(lab: Lab) -> dict[str, str]:
    """uuid -> host of every domain on every lab host, as virsh sees them."""
    found = {}
    for host in lab.hosts:
        for uuid in lab.virsh(host, "list", "--all", "--uuid").split():
            found[uuid] = host.name
    return found


def cleanup_rows(inventory: Path) -> list[dict]:
    done = novactl(inventory, "cleanup", "-f", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_recovered(lab: Lab, inventory: Path, baseline_mb: int) -> list[dict]:
    """After cleanup: nothing left behind on any host, list == virsh, no capacity leaked, cleanup idempotent."""
    rows = novactl_json(inventory, "list", "--long")
    kept_sources = {f"{row['ID']}_resize" for row in rows if row["Status"] == "VERIFY_RESIZE"}
    for host in lab.hosts:
        sh = lambda script, host=host: lab.exec(host, ["sh", "-c", script], check=False).stdout.split()  # noqa: E731
        assert sh(f"ls -A {STATE}/claims 2>/dev/null") == [], host.name
        assert sh(f"ls {STATE}/locks/builder-*.lock 2>/dev/null") == [], host.name
        assert sh(f"ls {INSTANCES}/_base/*.part-* 2>/dev/null") == [], host.name
        dirs = {d for d in sh(f"ls -A {INSTANCES}") if d != "_base"} - kept_sources
        assert dirs == set(lab.virsh(host, "list", "--all", "--uuid").split()), (host.name, dirs)
    assert all(row["Status"] != "BUILD" for row in rows), rows
    assert {row["ID"]: row["Host"] for row in rows} == domains(lab)
    assert memory_used(inventory) == baseline_mb + TINY_RAM * len(rows)
    assert cleanup_rows(inventory) == []
    return rows


def test_eight_boots_killed_at_every_step_leave_nothing_after_cleanup(lab: Lab, inventory: Path) -> None:
    for host in lab.hosts:  # the first kill must find the image uncached to stop mid-transfer
        lab.exec(host, ["sh", "-c", f"rm -f {INSTANCES}/_base/*"])
    baseline = memory_used(inventory)
    for step in BOOT_STEPS:
        novactl_killed_at(inventory, step, "boot", step.replace(".", "-"), "--flavor", "m1.tiny", "--image", "marker")
    # Before any cleanup, dead builders' claims count nowhere: only the domains that exist do.
    assert memory_used(inventory) == baseline + TINY_RAM * len(domains(lab))
    rows = cleanup_rows(inventory)
    kinds = {row["Kind"] for row in rows}
    assert {"claim", "partial base", "instance directory", "domain", "builder lock"} <= kinds, rows
    survivors = assert_recovered(lab, inventory, baseline)
    assert [(r["Name"], r["Status"]) for r in survivors] == [("boot-active", "ACTIVE")]
    novactl_ok(inventory, "boot", "after", "--flavor", "m1.tiny", "--image", "marker")


def test_deletes_and_moves_killed_at_every_step_are_finished_or_undone_by_cleanup(lab: Lab, inventory: Path) -> None:
    baseline = memory_used(inventory)
    for step in ("delete.marked", "delete.undefined"):
        novactl_ok(inventory, "boot", "d1", "--flavor", "m1.tiny", "--image", "marker")
        novactl_killed_at(inventory, step, "delete", "d1")
        cleanup_rows(inventory)
        rows = assert_recovered(lab, inventory, baseline)
        assert [r["Name"] for r in rows] == (["d1"] if step == "delete.marked" else []), step
        if rows:
            novactl_ok(inventory, "delete", "d1")

    shown = novactl_json(inventory, "boot", "m1", "--flavor", "m1.tiny", "--image", "marker")
    home = shown["OS-EXT-SRV-ATTR:host"]
    for step in ("move.powered-off", "move.source-kept", "move.source-undefined", "move.copying"):
        novactl_killed_at(inventory, step, "migrate", "m1")
        cleanup_rows(inventory)
        (row,) = assert_recovered(lab, inventory, baseline)
        assert (row["Host"], row["Status"]) == (home, "SHUTOFF"), step  # back where it was, stopped
    novactl_killed_at(inventory, "move.defined", "migrate", "m1")
    cleanup_rows(inventory)
    (row,) = assert_recovered(lab, inventory, baseline)
    assert row["Status"] == "VERIFY_RESIZE" and row["Host"] != home  # a whole move: confirm or revert as usual
    novactl_ok(inventory, "resize-revert", "m1")
    novactl_ok(inventory, "start", "m1")

    for step in ("live.prepared", "live.migrated"):
        novactl_killed_at(inventory, step, "live-migration", "m1")
        cleanup_rows(inventory)
        (row,) = assert_recovered(lab, inventory, baseline)
        assert row["Status"] == "MIGRATING", step  # the task a killed command left: reset-state clears it
        novactl_ok(inventory, "reset-state", "--active", "m1")
        assert novactl_json(inventory, "show", "m1")["status"] == "ACTIVE"
    novactl_ok(inventory, "boot", "after", "--flavor", "m1.tiny", "--image", "marker")
