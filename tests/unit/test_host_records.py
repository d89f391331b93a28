"""novactl.host_records: what is read back from a host is checked before it reaches a path, a command
or the terminal, and a malformed record is skipped without taking the host down (issue 8, part 5)."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from functools import partial
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.drivers.libvirt import metadata, poll
from novactl.host_records import (
    NODE_FACTS_MAX_BYTES,
    BadRecord,
    CachedNode,
    cached_node,
    cached_node_text,
    check_instance,
    group_records,
    json_lines,
    live_claim,
    read_instance,
    service_flags,
)
from novactl.hoststate import ComputeNode
from tests.unit.drivers.test_golden_xml import full_instance, minimal_instance

GROUP = {"name": "web", "id": "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e", "policy": "anti-affinity", "updated_at": "2026", "deleted": False}


def claim(**changes) -> dict:
    return {**metadata.to_record(full_instance(), time.time() + 600), **changes}


def test_what_novactl_writes_passes():
    for instance in (full_instance(), minimal_instance()):
        assert check_instance(instance) is instance
        record = json.loads(json.dumps(metadata.to_record(instance, 1.0)))
        assert read_instance(partial(metadata.from_record, record, "h"), "claim", "h") is not None
        build = partial(metadata.from_xml, metadata.to_plain_xml(instance), "h", instance.uuid, "instance-0b1f8d6e")
        assert read_instance(build, "metadata", "h") is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"uuid": "../victim"},
        {"uuid": "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e/../../etc"},
        {"name": "web\x1b]0;owned\x07"},
        {"name": "a" * 300},
        {"image_id": "../../root/.ssh/id_ed25519"},
        {"group": "$(reboot)"},
        {"zone": "a b"},
        {"instance_name": "x; rm -rf /"},
        {"vm_state": "active\n"},
        {"task_state": 7},
        {"power_state": 99},
        {"networks": {"lan": ["52:54:00:12:34:56; id"]}},
        {"metadata": {"old_host": ["not", "text"]}},
        {"flavor": {"id": "1", "name": "m1", "ram": 10**400, "disk": 1, "vcpus": 1}},
        {"flavor": {"id": "1", "name": "m1", "ram": -1, "disk": 1, "vcpus": 1}},
        {"flavor": {"id": "1", "name": "m1", "ram": 1, "disk": 1, "vcpus": True}},
        {"flavor": {"id": "1", "name": "m1", "ram": 1, "disk": 1, "vcpus": 1, "rxtx_factor": 1e308}},
        {"flavor": {"id": "1", "name": "m1", "ram": 1, "disk": 1, "vcpus": 1, "extra": "key"}},
        {"flavor": "m1.tiny"},
        {"unknown_field": 1, "flavor": None},
    ],
)
def test_a_claim_novactl_would_not_have_written_is_skipped(changes, caplog):
    caplog.set_level(logging.INFO, "novactl")
    record = claim(**changes)
    assert read_instance(lambda: metadata.from_record(record, "h"), "claim", "h") is None
    assert "Skipping a malformed claim on h" in caplog.text
    assert "\x1b" not in caplog.text


@pytest.mark.parametrize(
    "xml",
    [
        '<instance><flavor id="1" name="m" ram="' + "9" * 5000 + '" disk="1" vcpus="1" /></instance>',
        '<instance><flavor id="1" name="m" ram="²" disk="1" vcpus="1" /></instance>',
        "<instance><name>a\x1b[2J</name></instance>",
        "<instance>",
        '<instance><flavor ram="1" disk="1" vcpus="1" /><image id="../x" /></instance>',
    ],
)
def test_domain_metadata_novactl_would_not_have_written_is_skipped(xml):
    build = lambda: metadata.from_xml(xml, "h", "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e", "instance-1")  # noqa: E731
    assert read_instance(build, "metadata", "h") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (False, None)),
        ('{"disabled": true, "disabled_reason": "maintenance"}', (True, "maintenance")),
        ('{"disabled": "yes"}', (False, None)),
        ('{"disabled": true, "disabled_reason": "\\u001b[2J"}', (False, None)),
        ('{"disabled": true, "disabled_reason": NaN}', (False, None)),
        ("[1, 2]", (False, None)),
        ("{truncated", (False, None)),
        ("[" * 100_000, (False, None)),
    ],
)
def test_service_flags(text, expected):
    assert service_flags(text, "h") == expected


def test_json_lines_skips_lines_that_are_not_objects():
    text = '{"a": 1}\n\nnot json\n[1]\n{"b": 1e999}\n{"c": ' + "1" * 5000 + '}\n{"d": 2}\n'
    assert json_lines(text, "claim", "h") == [{"a": 1}, {"d": 2}]


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "../../etc/cron.d/x"},
        {"name": 5},
        {"id": "not-a-uuid"},
        {"policy": "chaos"},
        {"updated_at": 3},
        {"updated_at": "\x1b[2J"},
        {"deleted": "no"},
    ],
)
def test_group_records_novactl_would_not_have_written_are_skipped(changes):
    assert group_records([{**GROUP, **changes}, GROUP], "h") == [GROUP]


@pytest.mark.parametrize(("expires", "live"), [(1e6, True), (-60, False), ("9" * 20, False), (True, False), (None, False)])
def test_live_claim_compares_only_numbers(expires, live):
    now = time.time()
    record = {"expires": now + expires if isinstance(expires, float | int) and not isinstance(expires, bool) else expires}
    assert live_claim(record, now) is live


def test_check_instance_names_what_is_wrong():
    with pytest.raises(BadRecord, match=r"uuid '\.\./victim' is not valid"):
        check_instance(dataclasses.replace(full_instance(), uuid="../victim"))


# -- through a poll: a bad claim or bad metadata costs only itself ------------------------------------------


class _Domain:
    def __init__(self, instance, xml: str | None, active: bool = True):
        self.instance, self.xml, self.active = instance, xml, active

    def info(self):
        return [1, self.instance.flavor.ram * 1024, 0, self.instance.flavor.vcpus, 0]

    def metadata(self, *_args):
        if self.xml is None:
            import libvirt

            raise libvirt.libvirtError("no metadata")
        return self.xml

    def UUIDString(self):
        return self.instance.uuid

    def name(self):
        return "instance-0b1f8d6e"

    def isActive(self):
        return self.active


def test_list_instances_skips_bad_claims_and_counts_bad_metadata_as_foreign_usage():
    good = full_instance()
    bad = dataclasses.replace(minimal_instance(), uuid="5e2c8b1a-9999-4b7e-8c1d-3f2e4a5b6c7d")
    bad_xml = metadata.to_plain_xml(bad).replace("<name>vm</name>", "<name>vm\x1b[2J</name>")
    domains = [_Domain(good, metadata.to_plain_xml(good)), _Domain(bad, bad_xml)]
    node = ComputeNode(hypervisor_hostname="h", memory_mb=8192, vcpus=8, local_gb=100)
    host = SimpleNamespace(name="h", polled_node=lambda: node, libvirt=SimpleNamespace(listAllDomains=lambda _flags: domains))
    building = dataclasses.replace(minimal_instance(), uuid="11111111-2222-3333-4444-555555555555", vm_state="building")
    claims = [claim(uuid="../victim"), metadata.to_record(building, time.time() + 600), {"expires": "soon"}]
    instances = poll.list_instances(host, claims, set())  # no builder locks: these claims predate them
    assert [i.uuid for i in instances] == [good.uuid, building.uuid]
    assert (node.extra_memory_mb_used, node.extra_vcpus_used) == (bad.flavor.ram, bad.flavor.vcpus)


def test_guest_data_fields_are_checked_too() -> None:
    from dataclasses import replace

    from novactl.host_records import BadRecord, check_instance
    from novactl.hoststate import InstanceInfo
    from novactl.models import Flavor

    good = InstanceInfo(
        uuid="8d589108-215d-4489-8653-8d8af8183056",
        name="vm",
        host="h1",
        flavor=Flavor(id="1", name="m1.tiny", ram=512, disk=1, vcpus=1),
        user_metadata={"role": "web"},
        key_name="ops",
        config_drive=True,
    )
    assert check_instance(good) is good
    for bad in ({"key_name": "../k"}, {"config_drive": "yes"}, {"user_metadata": {"k": "v" * 256}}, {"user_metadata": {"k": 1}}):
        with pytest.raises(BadRecord):
            check_instance(replace(good, **bad))


@pytest.mark.parametrize("address", ["10.0.0.256", "010.0.0.5", "10.0.0.5\x1b[2J", "fd00::5", 5])
def test_a_fixed_ip_read_back_must_be_a_dotted_quad(address) -> None:
    from novactl.host_records import BadRecord, check_instance

    instance = dataclasses.replace(full_instance(), fixed_ips={"private": address})
    with pytest.raises(BadRecord, match="fixed IPs"):
        check_instance(instance)
    assert check_instance(dataclasses.replace(full_instance(), fixed_ips={"private": "10.0.0.5"}))


# -- the node facts cache (drivers/libvirt/facts.py) ---------------------------------------------------------

_words = st.text(alphabet="abcxyz019_.+-", min_size=1, max_size=12)
_texts = st.text(st.characters(codec="utf-8", categories=("L", "N", "P"), include_characters=" "), max_size=40)  # printable
cached_nodes = st.builds(
    CachedNode,
    key=st.lists(st.text(st.characters(codec="utf-8", categories=("L", "N", "P")), max_size=40), max_size=8).map(tuple),
    uptime=st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
    watch=st.lists(st.from_regex(r"/[a-z0-9_+-][a-z0-9._+-]{0,7}(/[a-z0-9_+-]{1,8}){0,3}", fullmatch=True), max_size=6).map(tuple),
    node=st.builds(
        ComputeNode,
        hypervisor_hostname=st.from_regex(r"[a-z0-9][a-z0-9.-]{0,30}", fullmatch=True),
        memory_mb=st.integers(0, 2**40),
        vcpus=st.integers(0, 2**20),
        local_gb=st.just(0),
        hypervisor_type=_words,
        hypervisor_version=st.integers(0, 10**12),
        cpu_info=st.fixed_dictionaries(
            {
                "arch": _words,
                "model": _texts,
                "vendor": _texts,
                "topology": st.fixed_dictionaries({k: st.integers(0, 2**20) for k in ("sockets", "cores", "threads")}),
                "features": st.lists(_words, max_size=20),
            }
        ),
        supported_instances=st.lists(st.lists(_words, min_size=3, max_size=3), max_size=6),
    ),
)


@given(cached_nodes)
def test_a_node_facts_record_novactl_writes_reads_back_as_itself(cached):
    assert cached_node(cached_node_text(cached), "h") == cached


@given(st.text(max_size=300))
def test_any_node_facts_text_is_a_record_or_a_miss_never_an_error(text):
    result = cached_node(text, "h")
    assert result is None or isinstance(result, CachedNode)


@settings(max_examples=300)
@given(cached_nodes, st.data())
def test_a_node_facts_record_changed_anywhere_still_reads_as_a_record_or_a_miss(cached, data):
    """Mutate one JSON value anywhere in a valid record (type, size, depth): never an error, and what reads
    back passes the same checks as what novactl writes."""
    line, _, rest = cached_node_text(cached).partition("\n")
    record = json.loads(line)
    hostile = data.draw(st.sampled_from([None, True, -1, 1.5, 10**400, "", "\x1b[2J", "a" * 5000, [], {}, [[[[]]]], ["x", "y"]]))
    target, trail = record, []
    while isinstance(target, dict | list) and target and data.draw(st.booleans()):
        step = data.draw(st.sampled_from(sorted(target) if isinstance(target, dict) else range(len(target))))
        trail.append(step)
        if not isinstance(target[step], dict | list) or not target[step]:
            break
        target = target[step]
    if trail:
        parent = record
        for step in trail[:-1]:
            parent = parent[step]
        parent[trail[-1]] = hostile
    else:
        record = hostile
    result = cached_node(json.dumps(record) + "\n" + rest, "h")
    if result is not None:
        assert cached_node(cached_node_text(result), "h") == result


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}\n",
        '{"version": 1, "key": [], "uptime": 1.0, "watch": [], "node": {}}\n',
        '{"version": 1, "key": [], "uptime": NaN, "watch": [], "node": {}}\n',
        "[" * 100_000,
    ],
)
def test_node_facts_records_novactl_would_not_write_are_misses(text):
    assert cached_node(text, "h") is None


def test_node_facts_record_size_is_capped():
    cached = CachedNode(key=("boot",), uptime=1.0, watch=("/dev",), node=ComputeNode("h", 1, 1, 0, cpu_info=BASE_CPU))
    text = cached_node_text(cached)
    assert cached_node(text, "h") == cached
    assert cached_node(text + "\n" * (NODE_FACTS_MAX_BYTES - len(text) + 1), "h") is None


def test_the_watched_paths_the_shell_tested_must_be_the_records():
    cached = CachedNode(key=(), uptime=1.0, watch=("/dev", "/etc/hosts"), node=ComputeNode("h", 1, 1, 0, cpu_info=BASE_CPU))
    line = cached_node_text(cached).split("\n")[0]
    assert cached_node(line + "\n/dev\n", "h") is None  # /etc/hosts would not have been tested
    assert cached_node(line + "\n/dev\n/etc/hosts", "h") == cached  # the shell's $(...) drops the last newline


BASE_CPU = {"arch": "x86_64", "model": "", "vendor": "", "topology": {"sockets": 1, "cores": 1, "threads": 1}, "features": []}
