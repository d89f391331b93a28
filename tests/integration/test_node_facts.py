"""The node facts cache on real lab hosts (drivers/libvirt/facts.py): a cached poll shows exactly what a
fresh one shows, and what libvirt says; a daemon restart, a changed key or a corrupt file refetches."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.cli import novactl, novactl_ok
from tests.lab import Lab

CACHE = "/var/lib/novactl/node_facts.cache"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000")  # updated_at: the poll's time
# A record's mtime is set 1.05 s before its facts were read (facts.WRITE_SCRIPT): a watched file changed
# within that second before a refetch is newer than the new record too, and one more poll refetches.
SETTLE = 1.2


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path) -> Path:
    return lab.write_inventory(tmp_path / "inventory.yaml")


def sources(inventory: Path, *args: str) -> tuple[str, dict[str, str]]:
    """stdout of `novactl --debug ARGS`, and per host where its node facts came from ("cache" or libvirt's why)."""
    done = novactl(inventory, "--debug", *args)
    assert done.returncode == 0, done.stderr
    found = {}
    for host, source in re.findall(r"Node facts of (\S+) from (.*)", done.stderr):
        found[host] = "cache" if source == CACHE else source.removeprefix("libvirt: ")
    return TIMESTAMP.sub("<now>", done.stdout), found


def record(lab: Lab, host) -> dict:
    return json.loads(lab.exec(host, ["cat", CACHE]).stdout.split("\n", 1)[0])


def test_a_cached_poll_shows_what_a_fresh_one_and_libvirt_show(lab: Lab, inventory: Path) -> None:
    time.sleep(SETTLE)  # the lab may have just written the hosts' /etc/hosts
    for args in (["hypervisor-list", "-f", "json"], ["hypervisor-list"], ["hypervisor-show", lab.hosts[0].name, "-f", "json"]):
        for host in lab.hosts:
            lab.exec(host, ["rm", "-f", CACHE])
        cold, seen = sources(inventory, *args)
        assert set(seen.values()) == {"no valid cached record"}, seen
        warm, seen = sources(inventory, *args)
        assert set(seen.values()) == {"cache"}, seen
        assert warm == cold  # byte for byte
    host = lab.hosts[0]
    shown = json.loads(novactl_ok(inventory, "hypervisor-show", host.name, "-f", "json"))
    caps = ET.fromstring(lab.virsh(host, "capabilities"))
    cpu = caps.find("host/cpu")
    assert shown["cpu_info"]["model"] == cpu.findtext("model")
    assert shown["cpu_info"]["vendor"] == cpu.findtext("vendor")
    assert shown["cpu_info"]["features"] == sorted(f.get("name") for f in cpu.findall("feature"))
    running = re.search(r"Running hypervisor: QEMU (\d+)\.(\d+)\.(\d+)", lab.virsh(host, "version"))
    assert shown["hypervisor_version"] == int(running[1]) * 1_000_000 + int(running[2]) * 1000 + int(running[3])
    assert shown["hypervisor_hostname"] == lab.virsh(host, "hostname").strip() == host.name
    nodeinfo = dict(line.split(":", 1) for line in lab.virsh(host, "nodeinfo").splitlines() if ":" in line)
    assert shown["vcpus"] == int(nodeinfo["CPU(s)"]) and shown["memory_mb"] == int(nodeinfo["Memory size"].split()[0]) // 1024
    cached = record(lab, host)
    guests = {(a.get("name"), d.get("type"), "hvm") for a in caps.iterfind("guest/arch") for d in a.iterfind("domain")}
    assert {tuple(entry) for entry in cached["node"]["supported_instances"]} == guests
    emulators = {e.text for e in caps.iter("emulator")}
    assert set(cached["watch"]) == {"/dev", "/etc/hosts", *emulators, *(e.rsplit("/", 1)[0] for e in emulators)}
    assert cached["key"][5] == lab.libvirtd_pid(host)


def test_a_libvirtd_restart_refetches(lab: Lab, inventory: Path) -> None:
    host = lab.hosts[1]
    sources(inventory, "hypervisor-list")  # cached now, whatever it was before
    before = lab.libvirtd_pid(host)
    lab.restart_libvirtd(host)
    after = lab.libvirtd_pid(host)
    assert after != before
    _out, seen = sources(inventory, "hypervisor-list")
    assert seen[host.name] == "changed: libvirtd"
    assert {seen[h.name] for h in lab.hosts if h is not host} == {"cache"}
    assert record(lab, host)["key"][5] == after
    assert sources(inventory, "hypervisor-list")[1][host.name] == "cache"


def test_a_changed_hostname_or_hosts_file_refetches(lab: Lab, inventory: Path) -> None:
    host = lab.hosts[2]
    sources(inventory, "hypervisor-list")
    lab.exec(host, ["hostname", "renamed"])
    try:
        out, seen = sources(inventory, "hypervisor-show", host.name, "-f", "json")
        assert seen[host.name] == "changed: hostname"
        assert json.loads(out)["hypervisor_hostname"] == "renamed"
    finally:
        lab.exec(host, ["hostname", host.name])
    out, seen = sources(inventory, "hypervisor-show", host.name, "-f", "json")
    assert seen[host.name] == "changed: hostname" and json.loads(out)["hypervisor_hostname"] == host.name
    lab.exec(host, ["touch", "/etc/hosts"])  # the host's own /etc/hosts (bind-mounted): its resolver's canonical name
    time.sleep(SETTLE)
    assert sources(inventory, "hypervisor-list")[1][host.name] == "newer than the record: /etc/hosts"
    assert sources(inventory, "hypervisor-list")[1][host.name] == "cache"


@pytest.mark.parametrize(
    "garbage",
    ["not json", '{"version": 1, "key": [], "node": {"memory_mb": 1e999}}', "{" * 70000],
    ids=["text", "bad-fields", "70-kB"],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(lab: Lab, inventory: Path, garbage: str) -> None:
    host = lab.hosts[0]
    good_out, _seen = sources(inventory, "hypervisor-show", host.name, "-f", "json")
    lab.exec(host, ["sh", "-c", 'printf %s "$1" > "$2"', "sh", garbage, CACHE])
    out, seen = sources(inventory, "hypervisor-show", host.name, "-f", "json")
    assert seen[host.name] == "no valid cached record"
    assert out == good_out
    assert record(lab, host)["version"] == 1
    assert sources(inventory, "hypervisor-show", host.name, "-f", "json") == (good_out, {host.name: "cache"})
