"""Day-2 operations on the lab: rebalance, doctor and the image cache, checked with virsh, ip and ls on the hosts.

One shared 3-host lab; every test leaves it empty (the fixture deletes what is left and checks that no
domain, directory, claim or held lock remains anywhere).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from novactl import image_cache
from tests.integration.cli import novactl, novactl_json
from tests.lab import Lab


def running(lab: Lab, host: str) -> list[str]:
    return lab.virsh(host, "list", "--name", "--state-running").split()


def test_rebalance_spreads_guests_booted_onto_one_host(lab: Lab, inventory: Path) -> None:
    h1, h2, h3 = (h.name for h in lab.hosts)
    forced = ["--availability-zone", f"nova:{h1}", "--min-count", "3", "--max-count", "3"]
    novactl_json(inventory, "boot", "rb", "--flavor", "m1.tiny", "--image", "marker", *forced)
    domains = running(lab, h1)
    assert len(domains) == 3 and running(lab, h2) == running(lab, h3) == []

    plan = novactl_json(inventory, "rebalance", "--dry-run")
    assert plan["score_after"] < plan["score_before"]
    assert len(plan["moves"]) == 2 and {m["from"] for m in plan["moves"]} == {h1}
    assert {m["to"] for m in plan["moves"]} == {h2, h3}
    assert len(running(lab, h1)) == 3  # the dry run moved nothing

    done = novactl(inventory, "rebalance", "--execute", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert "[1/2] live-migrating" in done.stderr and "[2/2]" in done.stderr
    result = json.loads(done.stdout)
    assert [m["done"] for m in result["moves"]] == [True, True]
    assert sorted(len(running(lab, h)) for h in (h1, h2, h3)) == [1, 1, 1]
    assert sorted(running(lab, h1) + running(lab, h2) + running(lab, h3)) == sorted(domains)  # moved, not rebuilt
    for move in result["moves"]:
        (domain,) = running(lab, move["to"])
        assert lab.virsh(move["to"], "domstate", "--reason", domain).strip() == "running (migrated)"
    listed = {row["Name"]: row for row in novactl_json(inventory, "list", "--long")}
    assert {row["Host"] for row in listed.values()} == {h1, h2, h3}
    assert all(row["Status"] == "ACTIVE" for row in listed.values())
    assert novactl_json(inventory, "rebalance", "--dry-run")["moves"] == []  # balanced now
    # hypervisor-servers names each host's one domain; hypervisor-list --long counts it against the limits.
    for host in (h1, h2, h3):
        (row,) = novactl_json(inventory, "hypervisor-servers", host)
        assert [row["Name"]] == running(lab, host) and row["Hypervisor Hostname"] == host
    usage = {row["Hypervisor hostname"]: row for row in novactl_json(inventory, "hypervisor-list", "--long")}
    assert {usage[h]["vCPUs Used"] for h in (h1, h2, h3)} == {1}
    assert all(usage[h]["Memory MB Used"] < usage[h]["Memory MB Limit"] for h in (h1, h2, h3))


# -- doctor ------------------------------------------------------------------------------------------------


def test_doctor_names_a_missing_bridge_and_a_dead_sshd_and_passes_a_healthy_host(lab: Lab, tmp_path: Path, marker_image: dict) -> None:
    h1, h2, h3 = (h.name for h in lab.hosts)
    networks = [{"name": "lan", "bridge": "br-doc", "physical_interface": "doc0"}]
    inventory = lab.write_inventory(tmp_path / "doctor.yaml", images=[marker_image], networks=networks)
    # h2 has the bridge with its uplink (one end of a veth pair); h1 has neither; h3's sshd is down.
    for argv in (["ip", "link", "add", "doc0", "type", "veth", "peer", "name", "doc1"], ["ip", "link", "add", "br-doc", "type", "bridge"]):
        lab.exec(h2, argv)
    lab.exec(h2, ["ip", "link", "set", "doc0", "master", "br-doc"])
    lab.exec(h2, ["ip", "link", "set", "br-doc", "up"])
    lab.stop_sshd(h3)
    try:
        done = novactl(inventory, "doctor", "-f", "json", timeout=120)
        only_h2 = novactl(inventory, "doctor", h2, "-f", "value", "-c", "Status", timeout=120)
    finally:
        lab.start_sshd(h3)
        lab.exec(h2, ["ip", "link", "del", "br-doc"])
        lab.exec(h2, ["ip", "link", "del", "doc0"])
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)
    by_host = {h: [r for r in rows if r["Host"] == h] for h in (h1, h2, h3)}

    (dead,) = by_host[h3]  # one row, not a hang
    assert (dead["Check"], dead["Status"]) == ("ssh", "fail")
    assert "start sshd" in dead["Detail"]

    (missing,) = [r for r in by_host[h1] if r["Status"] == "fail"]
    assert (missing["Check"], missing["Status"]) == ("bridge br-doc", "fail")
    assert "bridge br-doc (network lan) is missing" in missing["Detail"]

    healthy = {r["Check"]: r for r in by_host[h2]}
    assert all(r["Status"] != "fail" for r in healthy.values()), healthy
    expected = {"ssh", "kvm", "virt-ssh-helper", "libvirtd", "qemu-img", "bridge br-doc", "instances_path", "state_path", "_base", "clock"}
    assert expected <= set(healthy)
    assert healthy["bridge br-doc"] == {
        "Host": h2,
        "Check": "bridge br-doc",
        "Status": "ok",
        "Detail": "bridge br-doc (network lan) present; port doc0",
    }
    assert healthy["libvirtd"]["Detail"].startswith("libvirt ") and healthy["qemu-img"]["Detail"].startswith("qemu-img ")

    # Only the named host, and it passes: exit 0.
    assert only_h2.returncode == 0 and "fail" not in only_h2.stdout.split()


def test_doctor_gives_up_on_a_hung_libvirtd_at_the_deadline(lab: Lab, tmp_path: Path, marker_image: dict) -> None:
    h1 = lab.hosts[0].name
    inventory = lab.write_inventory(tmp_path / "doctor.yaml", images=[marker_image])
    pid = lab.exec(h1, ["pidof", "libvirtd"]).stdout.split()[0]  # pid in h1's own PID namespace
    lab.exec(h1, ["kill", "-STOP", pid])
    try:
        done = novactl(inventory, "doctor", h1, "--deadline", "5", "-f", "json", timeout=60)
    finally:
        lab.exec(h1, ["kill", "-CONT", pid])
    assert done.returncode == 1, done.stderr
    last = json.loads(done.stdout)[-1]
    assert (last["Check"], last["Status"]) == ("libvirtd", "fail")
    assert last["Detail"] == "no answer within 5 s: the host hangs in this check"


# -- image cache ---------------------------------------------------------------------------------------------

BASES = "/var/lib/novactl/instances/_base"


def test_image_cache_prune_removes_only_the_unused_base(lab: Lab, tmp_path: Path, marker_image: dict) -> None:
    from tests.guest import make_image
    from tests.integration.test_boot import wait_for_marker

    h1, h2, _ = (h.name for h in lab.hosts)
    spare = {**marker_image, "id": "7e57ca5e-0000-4000-8000-000000000001", "name": "spare"}
    spare["file"] = str(make_image(tmp_path / "spare.qcow2", "qcow2"))
    inventory = lab.write_inventory(tmp_path / "cache.yaml", images=[marker_image, spare])
    used, unused = (image_cache.base_name(i["id"]) for i in (marker_image, spare))
    shown = novactl_json(inventory, "boot", "keep", "--flavor", "m1.tiny", "--image", "marker", "--availability-zone", f"nova:{h1}")
    uuid, domain = shown["id"], shown["OS-EXT-SRV-ATTR:instance_name"]
    try:
        wait_for_marker(lab, h1, uuid)
        warmed = novactl_json(inventory, "image-cache-warm", "spare", "--host", h1)
        assert [r["Host"] for r in warmed] == [h1] and warmed[0]["Result"].startswith("cached (sent in ")
        again = novactl_json(inventory, "image-cache-warm", "spare", "--host", h1)
        assert again[0]["Result"] == "already cached"

        # Other tests in the same lab leave bases of their own in _base: only this test's two are checked.
        listed = {r["Base"]: r for r in novactl_json(inventory, "image-cache-list", "--host", h1)}
        assert {used, unused} <= set(listed)
        assert (listed[used]["Image Name"], listed[used]["In Use By"]) == ("marker", 1)
        assert (listed[unused]["Image Name"], listed[unused]["In Use By"]) == ("spare", 0)
        assert listed[unused]["Size"] > 0

        # Both were used just now: the default --min-age (24 h) keeps them.
        fresh = {r["Base"]: r["Result"] for r in novactl_json(inventory, "image-cache-prune", "--host", h1)}
        assert fresh[unused].startswith("kept: used ") and fresh[used] == "kept: in use by 1 instance(s)"

        # Two days old (as if unused since): the unused one goes, the guest's stays.
        lab.exec(h1, ["touch", "-d", "2 days ago", f"{BASES}/{used}", f"{BASES}/{unused}"])
        planned = {r["Base"]: r["Result"] for r in novactl_json(inventory, "image-cache-prune", "--host", h1, "--dry-run")}
        assert (planned[used], planned[unused]) == ("kept: in use by 1 instance(s)", "would remove")

        # Never during a transfer: while someone holds the image's lock, the base stays.
        lock = f"/var/lib/novactl/locks/image-{unused}.lock"
        # The holder is one process (a subshell exec'd into sleep, the lock on its fd 9), killed when done.
        hold = '(exec 9>>"$1"; flock 9; exec sleep 120) >/dev/null 2>&1 </dev/null & echo $!'
        holder = lab.exec(h1, ["sh", "-c", 'mkdir -p "${1%/*}" && ' + hold, "sh", lock]).stdout.strip()
        try:
            deadline = time.monotonic() + 10
            while lab.exec(h1, ["flock", "-n", lock, "true"], check=False).returncode == 0:  # until the holder has it
                assert time.monotonic() < deadline, "the lock holder never took the lock"
                time.sleep(0.05)
            locked = {r["Base"]: r["Result"] for r in novactl_json(inventory, "image-cache-prune", "--host", h1)}
            assert locked[unused] == "kept: a transfer of this image holds its lock"
        finally:
            lab.exec(h1, ["kill", holder], check=False)
        lab.exec(h1, ["flock", "-w", "15", lock, "true"])

        done = novactl(inventory, "image-cache-prune", "--host", h1)
        assert done.returncode == 0, done.stderr
        assert "Freed " in done.stdout and "on 1 host(s)." in done.stdout
        left = lab.exec(h1, ["ls", BASES]).stdout.split()
        assert used in left and unused not in left
        assert lab.virsh(h1, "domstate", domain).strip() == "running"
        info = lab.exec(h1, ["qemu-img", "info", "-U", f"/var/lib/novactl/instances/{uuid}/disk"]).stdout
        assert f"backing file: {BASES}/{used}" in info
        assert novactl_json(inventory, "show", "keep")["status"] == "ACTIVE"

        # An image not cached on the named host is bad input.
        bad = novactl(inventory, "image-cache-prune", "--host", h2, "--image", "spare")
        assert bad.returncode == 2 and bad.stderr.startswith(f"ERROR: image spare is not cached on {h2}")
    finally:
        novactl(inventory, "delete", "keep")
