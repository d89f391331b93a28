"""Day-2 verbs on the lab, end to end through the installed CLI, checked with virsh on the hosts.

One shared 3-host lab; every test leaves it empty (the fixture deletes what is left and checks that no
domain, directory, `_resize` copy, claim or held lock remains anywhere).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guest import make_image
from tests.integration.cli import novactl, novactl_json, novactl_ok
from tests.integration.leftovers import assert_clean, delete_leftovers
from tests.integration.test_boot import wait_for_marker
from tests.lab import Lab

INSTANCES = "/var/lib/novactl/instances"
COUNTER_IMAGE_ID = "5d7a2c1e-2222-4b7f-8e8f-3a2d4c5b6e7f"
FLAVORS = [
    {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
    {"id": "11", "name": "m1.tiny2", "ram": 640, "disk": 2, "vcpus": 1},
]


@pytest.fixture(scope="module")
def counter_image(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The marker guest that keeps counting (BX runs down in a delay loop) instead of halting."""
    path = make_image(tmp_path_factory.mktemp("images") / "counter.qcow2", "qcow2", count=True)
    return {"id": COUNTER_IMAGE_ID, "name": "counter", "file": str(path), "disk_format": "qcow2"}


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict, counter_image: dict) -> Iterator[Path]:
    path = lab.write_inventory(tmp_path / "inventory.yaml", flavors=FLAVORS, images=[marker_image, counter_image])
    yield path
    delete_leftovers(path)
    assert_clean(lab)


def boot(inventory: Path, name: str, host: str | None = None, image: str = "marker", *extra: str) -> tuple[str, str, str]:
    """Boot one tiny guest; returns (uuid, host, domain name)."""
    args = ["boot", name, "--flavor", "m1.tiny", "--image", image, *extra]
    if host:
        args += ["--availability-zone", f"nova:{host}"]
    shown = novactl_json(inventory, *args)
    return shown["id"], shown["OS-EXT-SRV-ATTR:host"], shown["OS-EXT-SRV-ATTR:instance_name"]


def show(inventory: Path, name: str) -> dict:
    return novactl_json(inventory, "show", name)


def domstate(lab: Lab, host: str, domain: str) -> str:
    return lab.virsh(host, "domstate", domain).strip()


def domains(lab: Lab, host: str) -> list[str]:
    return lab.virsh(host, "list", "--all", "--name").split()


def entries(lab: Lab, host: str) -> list[str]:
    return [e for e in lab.exec(host, ["ls", "-A", INSTANCES]).stdout.split() if e != "_base"]


def ebx(lab: Lab, host: str, domain: str) -> int:
    """The counting guest's outer delay counter (runs down from 0x1000), read through QEMU's monitor."""
    registers = lab.virsh(host, "qemu-monitor-command", "--hmp", domain, "info registers")
    return int(re.search(r"EBX=([0-9a-f]{8})", registers).group(1), 16)


def test_power_verbs(lab: Lab, inventory: Path) -> None:
    uuid, host, domain = boot(inventory, "pw")
    wait_for_marker(lab, host, uuid)

    # The guest ignores ACPI: stop must fall back to destroy after --timeout.
    started = time.monotonic()
    rows = novactl_json(inventory, "stop", "pw", "--timeout", "2")
    assert rows[0]["Result"] == "stopped (destroyed after 2 s)" and time.monotonic() - started < 30
    assert domstate(lab, host, domain) == "shut off"
    assert show(inventory, "pw")["status"] == "SHUTOFF"
    assert novactl(inventory, "stop", "pw").returncode == 2  # not active any more: refused, exit 2

    novactl_ok(inventory, "start", "pw")
    assert domstate(lab, host, domain) == "running" and show(inventory, "pw")["status"] == "ACTIVE"

    novactl_ok(inventory, "pause", "pw")
    assert domstate(lab, host, domain) == "paused" and show(inventory, "pw")["status"] == "PAUSED"
    novactl_ok(inventory, "unpause", "pw")
    assert domstate(lab, host, domain) == "running"

    novactl_ok(inventory, "suspend", "pw")
    assert domstate(lab, host, domain) == "shut off"
    assert re.search(r"Managed save:\s+yes", lab.virsh(host, "dominfo", domain))
    assert show(inventory, "pw")["status"] == "SUSPENDED"
    novactl_ok(inventory, "resume", "pw")
    assert domstate(lab, host, domain) == "running" and show(inventory, "pw")["status"] == "ACTIVE"
    assert re.search(r"Managed save:\s+no", lab.virsh(host, "dominfo", domain))

    # Soft reboot: ACPI ignored, so after --timeout it becomes a hard one (as Nova); the guest boots again.
    lab.exec(host, ["truncate", "-s", "0", f"{INSTANCES}/{uuid}/console.log"])
    rows = novactl_json(inventory, "reboot", "pw", "--timeout", "1")
    assert rows[0]["Result"] == "hard rebooted"
    wait_for_marker(lab, host, uuid)
    assert novactl_json(inventory, "reboot", "--hard", "pw")[0]["Result"] == "hard rebooted"
    assert domstate(lab, host, domain) == "running"

    log = novactl_ok(inventory, "console-log", "pw", "--length", "1")
    assert log.strip() in ("", "NOVACTL-GUEST-BOOTED")

    novactl_ok(inventory, "delete", "pw")
    assert domain not in domains(lab, host) and entries(lab, host) == []


def test_several_instances_at_once(lab: Lab, inventory: Path) -> None:
    boot(inventory, "m1")
    boot(inventory, "m2")
    rows = novactl_json(inventory, "stop", "m1", "m2", "--timeout", "0")
    assert {r["Name"] for r in rows} == {"m1", "m2"}
    assert {r["Status"] for r in novactl_json(inventory, "list")} == {"SHUTOFF"}
    novactl_ok(inventory, "start", "m1", "m2")
    assert {r["Status"] for r in novactl_json(inventory, "list")} == {"ACTIVE"}


def test_resize_confirm_and_revert(lab: Lab, inventory: Path) -> None:
    uuid, host, domain = boot(inventory, "rs")
    done = novactl(inventory, "resize", "rs", "m1.tiny2", "--timeout", "0")
    assert done.returncode == 0, done.stderr
    assert "(same host)" in done.stdout  # it fits where it is: Nova's allow_resize_to_same_host
    shown = show(inventory, "rs")
    assert shown["status"] == "VERIFY_RESIZE" and shown["OS-EXT-STS:vm_state"] == "resized"
    assert shown["flavor"]["name"] == "m1.tiny2" and shown["OS-EXT-SRV-ATTR:host"] == host
    assert "<memory unit='KiB'>655360</memory>" in lab.virsh(host, "dumpxml", domain)
    assert sorted(entries(lab, host)) == [uuid, f"{uuid}_resize"]
    assert domstate(lab, host, domain) == "running"

    novactl_ok(inventory, "resize-revert", "rs")
    shown = show(inventory, "rs")
    assert shown["status"] == "ACTIVE" and shown["flavor"]["name"] == "m1.tiny"
    assert "<memory unit='KiB'>524288</memory>" in lab.virsh(host, "dumpxml", domain)
    assert entries(lab, host) == [uuid] and domstate(lab, host, domain) == "running"

    novactl_ok(inventory, "resize", "rs", "m1.tiny2", "--timeout", "0")
    novactl_ok(inventory, "resize-confirm", "rs")
    shown = show(inventory, "rs")
    assert shown["status"] == "ACTIVE" and shown["flavor"]["name"] == "m1.tiny2"
    assert entries(lab, host) == [uuid]
    disk = lab.exec(host, ["qemu-img", "info", "-U", f"{INSTANCES}/{uuid}/disk"]).stdout
    assert "virtual size: 2 GiB" in disk  # grown to the new flavor's root disk

    # Back to a smaller root disk: refused before anything is touched (exit 2).
    done = novactl(inventory, "resize", "rs", "m1.tiny")
    assert done.returncode == 2 and "smaller disk" in done.stderr
    assert show(inventory, "rs")["status"] == "ACTIVE"


def test_resize_elsewhere_when_the_host_is_full(lab: Lab, inventory: Path, tmp_path: Path) -> None:
    uuid, host, _ = boot(inventory, "rf", lab.hosts[0].name)
    # With RAM ratio 0.2 the source (a lab host has ~5.3 GB; 512 MB reserved) holds m1.tiny, not 1.5 GB more.
    hosts = [{"name": h.name, "address": h.address, "driver": "libvirt"} for h in lab.hosts]
    hosts[0]["ram_allocation_ratio"] = 0.2
    big = [*FLAVORS, {"id": "12", "name": "m1.more", "ram": 1536, "disk": 1, "vcpus": 1}]
    tight = lab.write_inventory(tmp_path / "tight.yaml", hosts=hosts, flavors=big, images=yaml_images(inventory))
    done = novactl(tight, "resize", "rf", "m1.more", "--timeout", "0")
    assert done.returncode == 0, done.stderr
    assert f"{host} has no room" in done.stdout
    shown = show(tight, "rf")
    assert shown["OS-EXT-SRV-ATTR:host"] != host and shown["status"] == "VERIFY_RESIZE"
    assert entries(lab, host) == [f"{uuid}_resize"] and domains(lab, host) == []
    novactl_ok(tight, "resize-revert", "rf")
    shown = show(tight, "rf")
    assert shown["OS-EXT-SRV-ATTR:host"] == host and shown["status"] == "ACTIVE"
    assert entries(lab, host) == [uuid]


def yaml_images(inventory: Path) -> list[dict]:
    import yaml

    return yaml.safe_load(inventory.read_text())["images"]


def test_cold_migrate_moves_the_disk_and_keeps_anti_affinity(lab: Lab, inventory: Path) -> None:
    h1, h2, h3 = (h.name for h in lab.hosts)
    novactl_ok(inventory, "server-group-create", "apart", "--policy", "anti-affinity")
    try:
        uuid, _, domain = boot(inventory, "g1", h1, "marker", "--hint", "group=apart")
        boot(inventory, "g2", h2, "marker", "--hint", "group=apart")
        # Asked onto the other member's host: the filter still holds (exit 3, explained).
        done = novactl(inventory, "migrate", "g1", "--host", h2)
        assert done.returncode == 3 and "ServerGroupAntiAffinityFilter" in done.stderr, done.stderr
        assert domstate(lab, h1, domain) == "running"

        novactl_ok(inventory, "migrate", "g1", "--timeout", "0")
        shown = show(inventory, "g1")
        assert shown["OS-EXT-SRV-ATTR:host"] == h3 and shown["status"] == "VERIFY_RESIZE"
        assert domstate(lab, h3, domain) == "running" and domain not in domains(lab, h1)
        info = lab.exec(h3, ["qemu-img", "info", "-U", f"{INSTANCES}/{uuid}/disk"]).stdout
        assert "backing file: /var/lib/novactl/instances/_base/" in info
        wait_for_marker(lab, h3, uuid)  # the copied overlay boots on the target's cached base
        novactl_ok(inventory, "resize-confirm", "g1")
        assert entries(lab, h1) == [] and show(inventory, "g1")["status"] == "ACTIVE"
    finally:
        novactl(inventory, "delete", "g1", "g2")
        novactl_ok(inventory, "server-group-delete", "apart")


def test_live_migration_keeps_the_guest_running(lab: Lab, inventory: Path) -> None:
    h1, h2, _ = (h.name for h in lab.hosts)
    uuid, _, domain = boot(inventory, "lm", h1, "counter")
    wait_for_marker(lab, h1, uuid)
    before = ebx(lab, h1, domain)
    started = time.monotonic()
    done = novactl(inventory, "live-migration", "lm", h2)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    print(f"\nlive migration: {elapsed:.1f} s through the CLI; {done.stdout.strip().splitlines()[-1]}")
    assert domstate(lab, h2, domain) == "running" and domain not in domains(lab, h1)
    assert lab.virsh(h2, "domstate", "--reason", domain).strip() == "running (migrated)"
    assert entries(lab, h1) == [] and entries(lab, h2) == [uuid]
    # Still counting where it was (a fresh boot would restart at 0x1000 and print the marker again):
    # the counter keeps running down from below where it stood before the move.
    first = ebx(lab, h2, domain)
    assert first <= before <= 0x1000
    deadline = time.monotonic() + 60
    while ebx(lab, h2, domain) == first:
        assert time.monotonic() < deadline, f"the guest's counter stopped at {first:#x} after the migration"
        time.sleep(0.1)
    assert ebx(lab, h2, domain) < before
    assert "NOVACTL-GUEST-BOOTED" not in lab.exec(h2, ["cat", f"{INSTANCES}/{uuid}/console.log"]).stdout
    assert lab.exec(h2, ["sh", "-c", "ls /var/lib/novactl/claims"], check=False).stdout.strip() == ""
    shown = show(inventory, "lm")
    assert shown["OS-EXT-SRV-ATTR:host"] == h2 and shown["status"] == "ACTIVE" and shown["OS-EXT-STS:task_state"] is None


def test_failed_moves_leave_the_instance_where_it_was(lab: Lab, inventory: Path) -> None:
    h1, h2, h3 = (h.name for h in lab.hosts)
    uuid, _, domain = boot(inventory, "fm", h1)
    # h2 cannot write instances: every move there fails after its claim; h3 is disabled.
    lab.exec(h2, ["sh", "-c", f"mount --bind {INSTANCES} {INSTANCES} && mount -o remount,bind,ro {INSTANCES}"])
    novactl_ok(inventory, "service-disable", h3)
    try:
        for verb in (["live-migration", "fm", h2], ["migrate", "fm", "--host", h2, "--timeout", "0"]):
            done = novactl(inventory, *verb)
            assert done.returncode == 1 and h2 in done.stderr, done.stderr
            assert domstate(lab, h1, domain) == "running" and entries(lab, h1) == [uuid]
            assert domains(lab, h2) == [] and entries(lab, h2) == []
            assert lab.exec(h2, ["sh", "-c", "ls /var/lib/novactl/claims"], check=False).stdout.strip() == ""
            assert show(inventory, "fm")["status"] == "ACTIVE"
        # A disabled host: no valid host, with the filter's explanation (exit 3).
        done = novactl(inventory, "live-migration", "fm", h3)
        assert done.returncode == 3 and "ComputeFilter" in done.stderr
    finally:
        lab.exec(h2, ["umount", INSTANCES])
        novactl_ok(inventory, "service-enable", h3)


def test_acting_on_an_instance_of_a_down_host_names_it(lab: Lab, inventory: Path) -> None:
    h1 = lab.hosts[0].name
    boot(inventory, "dn", h1)
    lab.stop_sshd(h1)
    try:
        done = novactl(inventory, "stop", "dn")
        assert done.returncode == 1 and h1 in done.stderr, done.stderr
    finally:
        lab.start_sshd(h1)


def test_image_create_then_boot_from_it(lab: Lab, inventory: Path) -> None:
    text = inventory.read_text().replace("images:\n", "# the catalogue\nimages:\n") + "# trailing comment\n"
    inventory.write_text(text)
    boot(inventory, "src", image="marker")
    novactl_ok(inventory, "stop", "src", "--timeout", "0")
    shown = novactl_json(inventory, "image-create", "src", "snap1")
    image = inventory.parent / "snap1.qcow2"
    assert Path(shown["path"]) == image and image.exists()
    info = subprocess.run(["qemu-img", "info", str(image)], capture_output=True, text=True, check=True).stdout
    assert "backing file" not in info  # standalone: the base's data is in it
    # Added as text after the last image: every line and comment the user wrote is still there.
    after = inventory.read_text()
    assert after.startswith(text.removesuffix("# trailing comment\n")) and after.endswith("# trailing comment\n")
    assert "name: snap1" in after and "# the catalogue\nimages:\n" in after
    assert [i["Name"] for i in novactl_json(inventory, "image-list")][-1] == "snap1"
    novactl_ok(inventory, "delete", "src")
    new_uuid, new_host, _ = boot(inventory, "fromsnap", image="snap1")
    wait_for_marker(lab, new_host, new_uuid)


def test_evacuate_empties_a_host(lab: Lab, inventory: Path) -> None:
    h1 = lab.hosts[0].name
    boot(inventory, "ev1", h1)
    boot(inventory, "ev2", h1)
    novactl_ok(inventory, "stop", "ev2", "--timeout", "0")
    plan = novactl_json(inventory, "evacuate", h1, "--dry-run")
    assert {(r["Name"], r["Action"], r["Result"]) for r in plan} == {("ev1", "live-migration", "planned"), ("ev2", "migrate", "planned")}
    assert all(r["Target"] not in (None, h1) for r in plan)
    assert len(domains(lab, h1)) == 2  # the dry run moved nothing
    rows = novactl_json(inventory, "evacuate", h1, "--timeout", "0")
    assert all(not r["Result"].startswith("ERROR") for r in rows), rows
    assert domains(lab, h1) == [] and entries(lab, h1) == []
    listed = {r["Name"]: r for r in novactl_json(inventory, "list", "--long")}
    assert listed["ev1"]["Status"] == "ACTIVE" and listed["ev2"]["Status"] == "SHUTOFF"
    assert h1 not in (listed["ev1"]["Host"], listed["ev2"]["Host"])
