"""Hosts that die mid-operation (issue 8, part 4): sshd killed, libvirtd killed, libvirtd frozen.

novactl is stopped (test-only stop point, novactl/crashpoints.py) at a step of a boot or a live
migration; the host it is working on is then broken, novactl continued. Each command must end in
bounded time (the subprocess timeout): a boot rescheduled to another host within max_attempts, a
migration (live or cold) failed cleanly with the guest still running on its source. Once the host is back and
`cleanup` has run, nothing may be left: no claim, no dead builder's lock, no directory without its
domain, nothing in BUILD or MIGRATING, and `list` agrees with `virsh` (assert_recovered).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.cli import novactl, novactl_continued, novactl_json, novactl_ok, novactl_stopped_at
from tests.integration.leftovers import assert_clean
from tests.integration.test_crash import STATE, assert_recovered, cleanup_rows, memory_used
from tests.lab import Lab

CONNECT_TIMEOUT = 3  # a host that stops answering is dropped in about 2 x this
BOUND = 120  # seconds a command may take after it is continued: generous, never a measure of speed


@contextmanager
def sshd_killed(lab: Lab, host: str) -> Iterator[None]:
    """Every sshd of the host, the listener and the open sessions (novactl's among them), SIGKILLed."""
    lab.kill_sshd(host)
    try:
        yield
    finally:
        lab.start_sshd(host)


@contextmanager
def libvirtd_killed(lab: Lab, host: str) -> Iterator[None]:
    lab.exec(host, ["kill", "-KILL", lab.libvirtd_pid(host)])
    try:
        yield
    finally:
        lab.restart_libvirtd(host)


@contextmanager
def libvirtd_frozen(lab: Lab, host: str) -> Iterator[None]:
    """SIGSTOP: SSH still answers, libvirt calls never return."""
    pid = lab.libvirtd_pid(host)
    lab.exec(host, ["kill", "-STOP", pid])
    try:
        yield
    finally:
        lab.exec(host, ["kill", "-CONT", pid])


FAILURES = [sshd_killed, libvirtd_killed, libvirtd_frozen]
IDS = ["sshd-killed", "libvirtd-killed", "libvirtd-frozen"]


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict) -> Iterator[Path]:
    inv = lab.inventory(images=[marker_image])
    inv["defaults"]["connect_timeout"] = CONNECT_TIMEOUT
    path = lab.write_inventory(tmp_path / "inventory.yaml", **inv)
    yield path
    novactl(path, "cleanup")
    leftover = novactl_json(path, "list")
    if leftover:
        novactl(path, "delete", *[row["ID"] for row in leftover])
    assert_clean(lab)


def claimed_on(lab: Lab) -> str:
    """The one lab host holding a claim file (where the stopped command is building)."""
    (host,) = [h.name for h in lab.hosts if lab.exec(h, ["sh", "-c", f"ls -A {STATE}/claims 2>/dev/null"], check=False).stdout.strip()]
    return host


@pytest.mark.parametrize("failure", FAILURES, ids=IDS)
def test_a_boot_whose_host_dies_reschedules_and_cleanup_leaves_nothing(lab: Lab, inventory: Path, failure: Callable) -> None:
    baseline = memory_used(inventory)
    # Claimed, directory and disks made: the next step (the bridge, then define) needs the host.
    stopped = novactl_stopped_at(inventory, "boot.disks", "boot", "hd", "--flavor", "m1.tiny", "--image", "marker", "-f", "json")
    sick = claimed_on(lab)
    with failure(lab, sick):
        done = novactl_continued(stopped, BOUND)
        assert done.returncode == 0, done.stderr[-2000:]  # rescheduled: max_attempts is 3, two hosts are well
        assert '"status": "ACTIVE"' in done.stdout and f'"OS-EXT-SRV-ATTR:host": "{sick}"' not in done.stdout, done.stdout
    cleanup_rows(inventory)
    (row,) = assert_recovered(lab, inventory, baseline)
    assert (row["Name"], row["Status"]) == ("hd", "ACTIVE") and row["Host"] != sick


@pytest.mark.parametrize("failure", FAILURES, ids=IDS)
def test_a_live_migration_whose_target_dies_fails_cleanly_and_cleanup_leaves_nothing(lab: Lab, inventory: Path, failure: Callable) -> None:
    h1, h2 = lab.hosts[0].name, lab.hosts[1].name
    baseline = memory_used(inventory)
    novactl_ok(inventory, "boot", "lm", "--flavor", "m1.tiny", "--image", "marker", "--availability-zone", f"nova:{h1}")
    # The target is prepared (claim, directory, empty overlays, bridge): migrate3 comes next.
    stopped = novactl_stopped_at(inventory, "live.prepared", "live-migration", "lm", h2)
    with failure(lab, h2):
        done = novactl_continued(stopped, BOUND)
        assert done.returncode == 1 and "ERROR: " in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    shown = novactl_json(inventory, "show", "lm")
    assert (shown["OS-EXT-SRV-ATTR:host"], shown["status"], shown["OS-EXT-STS:task_state"]) == (h1, "ACTIVE", None)
    assert lab.virsh(h1, "domstate", shown["OS-EXT-SRV-ATTR:instance_name"]).strip() == "running"
    cleanup_rows(inventory)
    (row,) = assert_recovered(lab, inventory, baseline)
    assert (row["Host"], row["Status"]) == (h1, "ACTIVE")


@pytest.mark.parametrize("failure", FAILURES, ids=IDS)
def test_a_cold_migration_whose_target_dies_puts_the_guest_back_running(lab: Lab, inventory: Path, failure: Callable) -> None:
    h1, h2 = lab.hosts[0].name, lab.hosts[1].name
    baseline = memory_used(inventory)
    novactl_ok(inventory, "boot", "cm", "--flavor", "m1.tiny", "--image", "marker", "--availability-zone", f"nova:{h1}")
    # Stopped, kept as <uuid>_resize, undefined: the disks go to the target next.
    stopped = novactl_stopped_at(inventory, "move.source-undefined", "migrate", "cm", "--host", h2)
    with failure(lab, h2):
        done = novactl_continued(stopped, BOUND)
        assert done.returncode == 1 and "ERROR: " in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    # A frozen target carries out the define it was sent once it runs again: cleanup removes that copy.
    cleanup_rows(inventory)
    (row,) = assert_recovered(lab, inventory, baseline)
    assert (row["Host"], row["Status"]) == (h1, "ACTIVE")  # put back, and running again
    assert lab.virsh(h1, "domstate", novactl_json(inventory, "show", "cm")["OS-EXT-SRV-ATTR:instance_name"]).strip() == "running"


def _builder_shells(lab: Lab, host: str) -> list[str]:
    """The pids of the host's processes holding a builder lock open: the remote shells that took them."""
    script = (
        'for p in /proc/[0-9]*; do for f in "$p"/fd/*; do case $(readlink "$f") in */locks/builder-*.lock) echo "${p#/proc/}";; esac;'
        " done; done 2>/dev/null | sort -u"
    )
    return lab.exec(host, ["sh", "-c", script]).stdout.split()


def test_a_boot_whose_builder_lock_went_with_its_remote_shell_reschedules(lab: Lab, inventory: Path) -> None:
    """The remote shell holding the boot's builder lock dies (sshd and the connection live on): the claim
    then counts for nothing anywhere, so the build there must fail and be undone, not finish."""
    baseline = memory_used(inventory)
    stopped = novactl_stopped_at(inventory, "boot.defined", "boot", "bl", "--flavor", "m1.tiny", "--image", "marker", "-f", "json")
    sick = claimed_on(lab)
    shells = _builder_shells(lab, sick)
    assert shells
    lab.exec(sick, ["kill", "-KILL", *shells])
    done = novactl_continued(stopped, BOUND)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'"OS-EXT-SRV-ATTR:host": "{sick}"' not in done.stdout and "builder lock" in done.stderr, done.stdout + done.stderr[-2000:]
    cleanup_rows(inventory)
    (row,) = assert_recovered(lab, inventory, baseline)
    assert (row["Name"], row["Status"]) == ("bl", "ACTIVE") and row["Host"] != sick
