"""The node facts cache (drivers/libvirt/facts.py) on fake hosts: the poll script really runs, reading
this machine's /proc and the host's file under its temp root; libvirt is the test driver.

A hit must give exactly what libvirt gives; anything doubtful is a miss that refetches and rewrites.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from novactl.drivers.libvirt import facts, paths, poll
from novactl.host_records import cached_node


def cache_file(host) -> Path:
    return Path(host.path(paths.node_facts_file(host.config)))


def polled(driver, caplog) -> tuple[object, str]:
    """The node of one poll, and where its facts came from ("cache" or "libvirt: <why>")."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="novactl.virt.libvirt.facts"):
        node = driver.poll().node
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Node facts of")]
    return node, "cache" if " from /" in line else line.split(" from ", 1)[1]


def fresh(host):
    node, _watch = facts.fetch(host.open_libvirt())
    return node


def rewrite(path: Path, change) -> None:
    """Edit the record's JSON line, keep the watch lines, and keep the file's mtime (set back at writing)."""
    line, rest = path.read_text().split("\n", 1)
    record = json.loads(line)
    change(record)
    stat = path.stat()
    path.write_text(json.dumps(record) + "\n" + rest)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_the_first_poll_fetches_and_writes_the_next_reads_the_same_facts(make_hosts, caplog) -> None:
    [(host, driver)] = make_hosts()  # make_hosts polled once already
    path = cache_file(host)
    path.unlink()
    first, source = polled(driver, caplog)
    assert source == "libvirt: no valid cached record" and path.is_file()
    second, source = polled(driver, caplog)
    assert source == "cache"
    assert second == first
    assert (second.hypervisor_type, second.memory_mb, second.vcpus) == ("TEST", 8192, 4)
    assert second.cpu_info == fresh(host).cpu_info and list(second.cpu_info) == list(fresh(host).cpu_info)
    assert second.host_ip == host.config.address and second.local_gb == first.local_gb
    # Set back to before the calls: a change made while they ran is newer than the file.
    assert path.stat().st_mtime < time.time() - 1


def test_a_hit_makes_no_libvirt_call_for_the_facts(make_hosts, caplog, monkeypatch) -> None:
    [(_host, driver)] = make_hosts()
    monkeypatch.setattr(facts, "fetch", lambda conn: pytest.fail("fetched on a hit"))
    assert polled(driver, caplog)[1] == "cache"


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not json\n",
        b"\xff\xfe\n",
        b"[" * 5000 + b"\n",
        b'{"version": 1}\n',
        b"x" * 70000,
    ],
)
def test_a_corrupt_cache_is_a_miss_and_is_rewritten(make_hosts, caplog, garbage) -> None:
    [(host, driver)] = make_hosts()
    path = cache_file(host)
    good = path.read_text()
    path.write_bytes(garbage)
    node, source = polled(driver, caplog)
    assert source.startswith("libvirt: ") and dataclasses.replace(node, local_gb=0, host_ip="") == fresh(host)
    assert cached_node(path.read_text(), "h") is not None and path.read_text().split("\n", 1)[1] == good.split("\n", 1)[1]
    assert polled(driver, caplog)[1] == "cache"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r["key"].__setitem__(1, "oldname"), "changed: hostname"),
        (lambda r: r["key"].__setitem__(0, "an-earlier-boot"), "changed: boot"),
        (lambda r: r["key"].__setitem__(5, "4242"), "changed: libvirtd"),
        (lambda r: r["key"].__setitem__(7, "Node 0 MemTotal:  1 kB"), "changed: NUMA node 0 memory"),
        (lambda r: r["key"].append("Node 1 MemTotal:  1 kB"), "changed: NUMA nodes"),
        (lambda r: r.__setitem__("uptime", r["uptime"] - facts.MAX_AGE - 10), "record"),
        (lambda r: r.__setitem__("uptime", r["uptime"] + 100), "record"),
        (lambda r: r["node"].__setitem__("memory_mb", -1), "no valid cached record"),
        (lambda r: r["node"]["cpu_info"]["topology"].__setitem__("cores", True), "no valid cached record"),
        (lambda r: r["node"].__setitem__("supported_instances", [["x86_64", "kvm"]]), "no valid cached record"),
        (lambda r: r["node"]["cpu_info"]["features"].append("a\x1b]0;x"), "no valid cached record"),
        (lambda r: r["watch"].append("/usr/bin"), "no valid cached record"),  # not a path the shell tested
    ],
)
def test_a_changed_key_an_old_record_or_a_bad_field_is_a_miss(make_hosts, caplog, change, why) -> None:
    [(host, driver)] = make_hosts()
    rewrite(cache_file(host), change)
    node, source = polled(driver, caplog)
    assert source.startswith(f"libvirt: {why}")
    assert node.hypervisor_hostname == fresh(host).hypervisor_hostname and node.memory_mb == 8192
    assert polled(driver, caplog)[1] == "cache"  # rewritten


def test_a_watched_path_newer_than_the_record_is_a_miss(make_hosts, caplog, tmp_path) -> None:
    [(host, driver)] = make_hosts()
    path = cache_file(host)
    watched = tmp_path / "qemu-system-x86_64"
    watched.write_text("")
    record = json.loads(path.read_text().split("\n", 1)[0])
    record["watch"] = sorted([*record["watch"], str(watched)])
    path.write_text(json.dumps(record) + "\n" + "".join(f"{p}\n" for p in record["watch"]))
    os.utime(path, (time.time() - 60, time.time() - 60))
    assert polled(driver, caplog)[1] == f"libvirt: newer than the record: {watched}"


def test_the_watch_list_is_the_emulators_their_directories_and_the_fixed_paths(make_hosts) -> None:
    [(host, _driver)] = make_hosts()
    _node, watch = facts.fetch(host.open_libvirt())
    emulators = {e.text for e in ET.fromstring(host.open_libvirt().getCapabilities()).iter("emulator")}
    assert emulators and set(watch) == {*facts.FIXED_WATCH, *emulators, *(e.rsplit("/", 1)[0] for e in emulators)}
    assert [p for p in cache_file(host).read_text().split("\n")[1:] if p] == list(watch)


def test_a_session_uri_is_never_cached(make_hosts, caplog) -> None:
    [(host, driver)] = make_hosts(libvirt_uri="qemu:///session")
    assert not cache_file(host).exists()
    assert polled(driver, caplog)[1] == "libvirt: not cached for this URI or host"


def test_a_cache_that_cannot_be_written_costs_only_the_calls(make_hosts, caplog) -> None:
    [(host, driver)] = make_hosts()
    path = cache_file(host)
    path.unlink()
    path.mkdir()  # the file's name taken by a directory: mv cannot replace it
    node, source = polled(driver, caplog)
    assert source == "libvirt: no valid cached record" and node.memory_mb == 8192
    assert any("Could not cache the node facts" in r.getMessage() for r in caplog.records)
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]  # no temporary left behind


def test_a_host_file_forging_a_section_line_cannot_shift_the_key(make_hosts, caplog) -> None:
    """The key is read first and the record printed last: a service.json holding the poll's section line
    shifts only what follows it, so the record read is garbage (a miss), never a record under a wrong key."""
    [(host, driver)] = make_hosts()
    Path(host.path(paths.service_file(host.config))).write_text(f'{{"disabled": true}}\n{poll.SECTION}\n')
    node, source = polled(driver, caplog)
    assert source == "libvirt: no valid cached record" and dataclasses.replace(node, local_gb=0, host_ip="") == fresh(host)
    written = cached_node(cache_file(host).read_text(), "h")
    assert written is not None and written.key[1] == Path("/proc/sys/kernel/hostname").read_text().strip()
