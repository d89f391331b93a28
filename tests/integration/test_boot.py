"""Issue 4 on the lab: real boots (claim, image cache, overlay, bridge, domain), retries, races."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.cli import novactl, novactl_json, novactl_killed_at, novactl_ok
from tests.integration.leftovers import assert_clean
from tests.lab import Lab, LabHost

MARKER = "NOVACTL-GUEST-BOOTED"


def base_name(image_id: str) -> str:
    return hashlib.sha1(image_id.encode()).hexdigest()


def wait_for_marker(lab: Lab, host: str, instance_uuid: str, marker: str = MARKER, timeout: float = 60) -> str:
    path = f"/var/lib/novactl/instances/{instance_uuid}/console.log"
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = lab.exec(host, ["cat", path], check=False).stdout
        if marker in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"no {marker} in {host}:{path} after {timeout} s: {text[-3000:]!r}")


def test_boot_builds_everything_on_the_chosen_host(lab: Lab, inventory: Path, marker_image: dict) -> None:
    shown = novactl_json(inventory, "boot", "web1", "--flavor", "m1.tiny", "--image", "marker")
    host, uuid = shown["OS-EXT-SRV-ATTR:host"], shown["id"]
    assert shown["status"] == "ACTIVE" and shown["name"] == "web1"
    assert shown["OS-EXT-SRV-ATTR:instance_name"] == f"instance-{uuid[:8]}"

    domain = shown["OS-EXT-SRV-ATTR:instance_name"]
    assert lab.virsh(host, "domstate", domain).strip() == "running"
    meta = lab.virsh(host, "metadata", domain, "urn:novactl:instance:1")
    assert "<name>web1</name>" in meta and 'name="m1.tiny"' in meta and marker_image["id"] in meta

    base = f"/var/lib/novactl/instances/_base/{base_name(marker_image['id'])}"
    overlay = json.loads(lab.exec(host, ["qemu-img", "info", "-U", "--output=json", f"/var/lib/novactl/instances/{uuid}/disk"]).stdout)
    assert overlay["format"] == "qcow2"
    assert overlay["backing-filename"] == base and overlay["backing-filename-format"] == "raw"
    assert overlay["virtual-size"] == 1024**3  # grown to the flavor's root disk
    assert json.loads(lab.exec(host, ["qemu-img", "info", "-U", "--output=json", base]).stdout)["format"] == "raw"
    assert lab.exec(host, ["stat", "-c", "%a", base]).stdout.strip() == "640"  # a whole disk: not world-readable

    xml = lab.virsh(host, "dumpxml", domain)
    assert "<source bridge='br-novactl'/>" in xml and f"<target dev='tap{uuid[:11]}'/>" in xml
    assert "mac address='fa:16:3e:" in xml
    assert lab.exec(host, ["ip", "link", "show", "dev", f"tap{uuid[:11]}"]).stdout.count("master br-novactl") == 1
    assert lab.exec(host, ["test", "-f", f"/var/lib/novactl/instances/{uuid}/libvirt.xml"], check=False).returncode == 0

    wait_for_marker(lab, host, uuid)


def test_second_boot_of_an_image_on_a_host_sends_nothing(lab: Lab, inventory: Path) -> None:
    host = lab.hosts[0].name
    first = novactl(inventory, "--debug", "boot", "c1", "--flavor", "m1.tiny", "--image", "marker", "--availability-zone", f"nova:{host}")
    assert first.returncode == 0, first.stderr
    second = novactl(inventory, "--debug", "boot", "c2", "--flavor", "m1.tiny", "--image", "marker", "--availability-zone", f"nova:{host}")
    assert second.returncode == 0, second.stderr
    assert "found in cache" in second.stderr and "sending" not in second.stderr


def test_anti_affinity_spreads_and_affinity_packs(lab: Lab, inventory: Path) -> None:
    novactl_ok(inventory, "server-group-create", "spread", "--policy", "anti-affinity")
    novactl_ok(inventory, "server-group-create", "pack", "--policy", "affinity")
    try:
        for i in range(3):
            novactl_ok(inventory, "boot", f"s{i}", "--flavor", "m1.tiny", "--image", "marker", "--hint", "group=spread")
        for i in range(3):
            novactl_ok(inventory, "boot", f"p{i}", "--flavor", "m1.tiny", "--image", "marker", "--hint", "group=pack")
        rows = novactl_json(inventory, "list", "--long")
        spread = {r["Host"] for r in rows if r["Name"].startswith("s")}
        pack = {r["Host"] for r in rows if r["Name"].startswith("p")}
        assert len(spread) == 3 and len(pack) == 1
        # A fourth anti-affinity member has nowhere to go: no valid host, explained.
        done = novactl(inventory, "boot", "s3", "--flavor", "m1.tiny", "--image", "marker", "--hint", "group=spread")
        assert done.returncode == 3
        assert "ServerGroupAntiAffinityFilter" in done.stderr
    finally:
        novactl(inventory, "delete", *[r["ID"] for r in novactl_json(inventory, "list")])
        novactl_ok(inventory, "server-group-delete", "spread")
        novactl_ok(inventory, "server-group-delete", "pack")


@contextmanager
def instances_read_only(lab: Lab, host: LabHost) -> Iterator[None]:
    """The host's instances directory read-only for the block: every spawn there fails."""
    instances = "/var/lib/novactl/instances"
    lab.exec(host, ["sh", "-c", f"mount --bind {instances} {instances} && mount -o remount,bind,ro {instances}"])
    try:
        yield
    finally:
        lab.exec(host, ["umount", instances])


def test_a_host_that_fails_spawn_is_retried_elsewhere_and_left_clean(lab: Lab, inventory: Path) -> None:
    broken = lab.hosts[0]  # equal weights: ties go to the lowest name, so it is the first choice
    with instances_read_only(lab, broken):
        done = novactl(inventory, "boot", "r1", "--flavor", "m1.tiny", "--image", "marker", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["OS-EXT-SRV-ATTR:host"] != broken.name
    assert f"Attempt 1 on {broken.name} failed" in done.stderr
    assert lab.virsh(broken, "list", "--all", "--name").strip() == ""
    assert lab.exec(broken, ["ls", "-A", "/var/lib/novactl/claims"]).stdout.strip() == ""


def test_max_count_runs_every_guest_even_when_a_sibling_is_rescheduled(lab: Lab, inventory: Path) -> None:
    """A multi-create launches its guests paused and runs them together (novactl/start_gate.py): the
    siblings wait for the one whose first host fails, and every guest ends running."""
    broken = lab.hosts[0]  # the first instance's choice (ties go to the lowest name); the others spread
    with instances_read_only(lab, broken):
        done = novactl(inventory, "boot", "mc", "--flavor", "m1.tiny", "--image", "marker", "--max-count", "3")
    assert done.returncode == 0, done.stderr
    assert f"on {broken.name} failed" in done.stderr
    rows = novactl_json(inventory, "list", "--long")
    assert sorted(r["Name"] for r in rows) == ["mc-1", "mc-2", "mc-3"] and {r["Status"] for r in rows} == {"ACTIVE"}
    assert broken.name not in {r["Host"] for r in rows}
    for row in rows:
        assert lab.virsh(row["Host"], "domstate", f"instance-{row['ID'][:8]}").strip() == "running"
    assert lab.virsh(broken, "list", "--all", "--name").strip() == ""


def test_bad_input_touches_no_host(lab: Lab, inventory: Path) -> None:
    cases = [
        (["boot", "x", "--flavor", "nope", "--image", "marker"], "unknown flavor 'nope'"),
        (["boot", "x", "--flavor", "m1.tiny", "--image", "nope"], "unknown image 'nope'"),
        (["boot", "x;rm -rf /", "--flavor", "m1.tiny", "--image", "marker"], "is not a safe host name"),
        (["boot", "x", "--flavor", "m1.tiny", "--image", "marker", "--nic", "net-name=nope"], "unknown network 'nope'"),
    ]
    for args, message in cases:
        done = novactl(inventory, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


# Repeated: a hang or a lost race shows only now and then (issue 8); each run costs ~16 boots.
@pytest.mark.parametrize("run", range(3))
def test_sixteen_racing_boots_fill_room_for_eight_exactly(lab: Lab, tmp_path: Path, marker_image: dict, run: int) -> None:
    memory_mb = novactl_json(lab.write_inventory(tmp_path / "probe.yaml"), "hypervisor-show", lab.hosts[0].name)["memory_mb"]
    # Room by RAM for 3 + 3 + 2 guests of 256 MB: per-host ratios put each limit mid-way.
    room = {lab.hosts[0].name: 3, lab.hosts[1].name: 3, lab.hosts[2].name: 2}
    hosts = [{"name": h.name, "address": h.address, "ram_allocation_ratio": (room[h.name] * 256 + 128) / memory_mb} for h in lab.hosts]
    inventory = lab.write_inventory(
        tmp_path / "inventory.yaml",
        hosts=hosts,
        images=[marker_image],
        flavors=[{"id": "42", "name": "race", "ram": 256, "disk": 1, "vcpus": 1}],
        scheduler={"reserved_host_memory_mb": 0},
    )
    try:
        # Two boots killed after their claims: a dead builder's claim must not take a place.
        for i in range(2):
            novactl_killed_at(inventory, "boot.claimed", "boot", f"dead{i}", "--flavor", "race", "--image", "marker")
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            runs = list(pool.map(lambda i: novactl(inventory, "boot", f"race{i}", "--flavor", "race", "--image", "marker"), range(16)))
        codes = sorted(r.returncode for r in runs)
        assert codes == [0] * 8 + [3] * 8, [(r.returncode, r.stderr[-300:]) for r in runs if r.returncode not in (0, 3)]
        placed = novactl_json(inventory, "list", "--long")
        assert len(placed) == 8
        per_host = {name: sum(1 for r in placed if r["Host"] == name) for name in room}
        assert per_host == room  # nobody over its limit
    finally:
        novactl(inventory, "delete", *[r["ID"] for r in novactl_json(inventory, "list")])
        novactl(inventory, "cleanup")  # the killed boots' claims
    assert_clean(lab)
