"""Issue 2 on the lab: polling real hosts over SSH + libvirt, read-only commands, service flags."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from novactl.inventory import load_inventory
from novactl.poller import poll_deadline
from tests.integration.cli import novactl, novactl_json, novactl_ok
from tests.lab import Lab


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path) -> Path:
    return lab.write_inventory(tmp_path / "inventory.yaml")


def test_service_list_shows_every_host_up(lab: Lab, inventory: Path) -> None:
    rows = novactl_json(inventory, "service-list")
    assert [(r["Host"], r["Binary"], r["Status"], r["State"]) for r in rows] == [
        (h.name, "nova-compute", "enabled", "up") for h in lab.hosts
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000", r["Updated_at"]) for r in rows)


def test_a_host_without_sshd_is_down_with_the_reason_and_the_others_up(lab: Lab, inventory: Path) -> None:
    dead = lab.hosts[1]
    # The poll's own bound for a host (poller.poll_deadline) plus a margin for a loaded machine: a hang fails
    # the test as a timeout; how fast the host is found down is no assertion here.
    bound = max(poll_deadline(host) for host in load_inventory(str(inventory)).hosts) + 60
    lab.stop_sshd(dead)
    try:
        done = novactl(inventory, "service-list", timeout=bound)
    finally:
        lab.start_sshd(dead)
    assert done.returncode == 0, done.stderr
    states = {line.split("|")[3].strip(): line.split("|")[6].strip() for line in done.stdout.splitlines() if "nova-compute" in line}
    assert states == {h.name: ("down" if h is dead else "up") for h in lab.hosts}
    # The reason, below the table, is the SSH connection's own error: the host was found down by the
    # connection's deadline, not abandoned at the poll's backstop ("no answer within N s").
    assert f"{dead.name} is down: {dead.address}:22:" in done.stdout
    assert "no answer within" not in done.stdout
    assert "Traceback" not in done.stderr


def test_hypervisor_show_matches_virsh_nodeinfo(lab: Lab, inventory: Path) -> None:
    host = lab.hosts[0]
    nodeinfo = dict(line.split(":", 1) for line in lab.virsh(host, "nodeinfo").splitlines() if ":" in line)
    shown = novactl_json(inventory, "hypervisor-show", host.name)
    assert shown["vcpus"] == int(nodeinfo["CPU(s)"])
    assert shown["memory_mb"] == int(nodeinfo["Memory size"].split()[0]) // 1024
    assert shown["hypervisor_hostname"] == host.name  # its own UTS namespace: libvirt's getHostname()
    assert shown["memory_mb_used"] == 512  # reserved_host_memory_mb; no guests
    assert shown["free_ram_mb"] == shown["memory_mb"] - 512
    assert shown["state"] == "up" and shown["status"] == "enabled"
    assert shown["hypervisor_type"] == "QEMU"


def test_debug_logs_nova_resource_view_per_host(lab: Lab, inventory: Path) -> None:
    done = novactl(inventory, "--debug", "hypervisor-list")
    assert done.returncode == 0
    for host in lab.hosts:
        assert re.search(
            rf"Final resource view: name={host.name} phys_ram=\d+MB used_ram=512MB phys_disk=\d+GB used_disk=0GB "
            r"total_vcpus=\d+ used_vcpus=0",
            done.stderr,
        )


def test_service_disable_is_seen_by_a_second_process_and_the_scheduler(lab: Lab, inventory: Path, tmp_path: Path) -> None:
    host = lab.hosts[2].name
    novactl_ok(inventory, "service-disable", host, "--reason", "disk swap")
    try:
        # Another operator: another process, another copy of the inventory.
        other = lab.write_inventory(tmp_path / "other.yaml")
        rows = {r["Host"]: r for r in novactl_json(other, "service-list")}
        assert (rows[host]["Status"], rows[host]["Disabled Reason"]) == ("disabled", "disk swap")
        assert lab.exec(host, ["cat", "/var/lib/novactl/service.json"]).stdout.strip() == (
            '{"disabled": true, "disabled_reason": "disk swap"}'
        )
        zones = novactl_ok(other, "availability-zone-list")
        assert "| | |- nova-compute | disabled :-)" in zones
    finally:
        novactl_ok(inventory, "service-enable", host)
    assert {r["Host"]: r["Status"] for r in novactl_json(inventory, "service-list")}[host] == "enabled"


def test_an_unknown_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    host = lab.hosts[0]
    wrong = tmp_path / "known_hosts"
    # The second host's key filed under the first host's address: a changed key.
    other_key = next(line for line in lab.known_hosts.read_text().splitlines() if line.startswith(lab.hosts[1].address))
    wrong.write_text(other_key.replace(lab.hosts[1].address, host.address, 1) + "\n")
    inventory = lab.write_inventory(
        tmp_path / "inventory.yaml",
        defaults={"ssh_user": "root", "ssh_key": str(lab.ssh_key), "known_hosts": str(wrong), "connect_timeout": 5},
        hosts=[{"name": host.name, "address": host.address}],
    )
    done = novactl(inventory, "service-list")
    assert "down" in done.stdout
    assert f"host key for {host.address} does not match {wrong}; refusing to connect" in done.stdout

    wrong.write_text("")  # no entry at all: an unknown host
    done = novactl(inventory, "service-list")
    assert f"{host.address} is not in {wrong}; refusing an unknown host key" in done.stdout


def test_unknown_host_name_is_bad_input(inventory: Path) -> None:
    done = novactl(inventory, "hypervisor-show", "nosuchhost")
    assert done.returncode == 2
    assert done.stderr.startswith("ERROR: unknown host 'nosuchhost'")
    assert len(done.stderr.splitlines()) == 1


def test_hostile_files_on_a_host_are_skipped_and_never_reach_a_path(lab: Lab, inventory: Path) -> None:
    """A claim naming "../victim", a broken service.json, a group record with a path for a name: each is
    skipped (issue 8, part 5); the host stays up, `delete` finds nothing to remove, the victim survives."""
    host, other = lab.hosts[0], lab.hosts[1]
    expires = time.time() + 600
    evil_claim = {
        "uuid": "../victim", "name": "evil", "host": host.name, "expires": expires,
        "flavor": {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
    }  # fmt: skip
    escape_claim = {**evil_claim, "uuid": "5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d", "name": "x\x1b]0;owned\x07"}
    files = {
        "/var/lib/novactl/claims/evil.json": json.dumps(evil_claim),
        "/var/lib/novactl/claims/escape.json": json.dumps(escape_claim),
        "/var/lib/novactl/server_groups/evil.json": json.dumps({"name": "../../claims/x", "policy": "affinity", "updated_at": "9"}),
    }
    lab.exec(host, ["mkdir", "-p", "/var/lib/novactl/victim", "/var/lib/novactl/claims", "/var/lib/novactl/server_groups"])
    lab.exec(other, ["sh", "-c", "printf '{\"disabled\": tru' > /var/lib/novactl/service.json"])
    for path, text in files.items():
        lab.exec(host, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", text, path])
    try:
        rows = novactl_json(inventory, "service-list")
        assert {(r["Host"], r["Status"], r["State"]) for r in rows} == {(h.name, "enabled", "up") for h in lab.hosts}
        assert novactl_json(inventory, "list") == []
        assert novactl_json(inventory, "server-group-list") == []
        done = novactl(inventory, "delete", "evil")
        assert done.returncode == 4, done.stderr
        assert lab.exec(host, ["test", "-d", "/var/lib/novactl/victim"], check=False).returncode == 0
        debug = novactl(inventory, "--debug", "list")
        assert f"Skipping a malformed claim on {host.name}: uuid '../victim' is not valid" in debug.stderr
        assert "\x1b" not in debug.stderr and "\x1b" not in debug.stdout
    finally:
        lab.exec(host, ["rm", "-rf", "/var/lib/novactl/victim", *files])
        lab.exec(other, ["rm", "-f", "/var/lib/novactl/service.json"])
