"""ComputeCapabilitiesFilter, with Nova's unit-test cases (stats = host_state.capabilities)."""

import json

import pytest

from novactl.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter

from .conftest import config, flavor, host, spec

CPU_INFO = json.dumps(
    {
        "vendor": "Intel",
        "model": "core2duo",
        "arch": "i686",
        "features": ["lahf_lm", "rdtscp"],
        "topology": {"cores": 1, "threads": 1, "sockets": 1},
    }
)


def passes(extra_specs, **host_fields):
    h = host(**host_fields)
    return ComputeCapabilitiesFilter(config()).host_passes(h, spec(flavor(extra_specs=extra_specs)))


def test_passes_without_extra_specs():
    assert not ComputeCapabilitiesFilter(config()).applies(spec())
    assert passes({})


def test_fails_without_capabilities():
    assert not passes({"capabilities:cpu_info:vendor": "Intel"}, cpu_info=" { } ")


def test_cpu_info_as_json_text():
    assert passes({"capabilities:cpu_info:vendor": "Intel"}, cpu_info=CPU_INFO)


def test_cpu_info_as_dict():
    assert passes({"capabilities:cpu_info:arch": "x86_64"})
    assert not passes({"capabilities:cpu_info:arch": "aarch64"})
    assert passes({"capabilities:cpu_info:features": "<all-in> vmx aes"})


# Nova's test text, spacing and all (test_compute_filter_pass_cpu_info_with_backward_compatibility).
NOVA_CPU_INFO = """ { "vendor": "Intel", "model": "core2duo",
        "arch": "i686","features": ["lahf_lm", "rdtscp"], "topology":
        {"cores": 1, "threads":1, "sockets": 1}} """


def test_cpu_info_backward_compatibility():
    assert passes({"cpu_info": CPU_INFO}, cpu_info=CPU_INFO)
    assert not passes({"cpu_info": ""}, cpu_info=CPU_INFO)


def test_nova_cpu_info_backward_compatibility_on_cpu_info_as_text():
    # Nova's compute node kept cpu_info as this JSON text: whole-string equality.
    assert passes({"cpu_info": NOVA_CPU_INFO}, cpu_info=NOVA_CPU_INFO)
    assert not passes({"cpu_info": ""}, cpu_info=NOVA_CPU_INFO)


def test_nova_cpu_info_backward_compatibility_on_cpu_info_as_polled():
    # novactl's poll gives cpu_info as a dict; the same JSON document, however spaced, still matches.
    polled = json.loads(NOVA_CPU_INFO)
    assert passes({"cpu_info": NOVA_CPU_INFO}, cpu_info=polled)
    assert passes({"cpu_info": CPU_INFO}, cpu_info=polled)
    assert passes({"capabilities:cpu_info": CPU_INFO}, cpu_info=polled)
    assert not passes({"cpu_info": ""}, cpu_info=polled)
    assert not passes({"cpu_info": NOVA_CPU_INFO.replace("core2duo", "athlon")}, cpu_info=polled)
    assert not passes({"cpu_info": "{not json"}, cpu_info=polled)
    assert passes({"capabilities:cpu_info:topology": '{"sockets": 1, "cores": 1, "threads": 1}'}, cpu_info=polled)


def test_batch_and_single_host_agree():
    # passes_all (parsed once, verdicts remembered per value) against host_passes, host by host.
    hosts = [
        host("a", cpu_info={"arch": "x86_64", "vendor": "Intel", "features": ["aes", "vmx"]}, capabilities={"ssd": "true"}),
        host("b", cpu_info={"arch": "aarch64", "vendor": "ARM", "features": []}, capabilities={"ssd": "false"}),
        host("c", cpu_info=CPU_INFO, capabilities={"ssd": True}),
        host("d", cpu_info={"arch": "x86_64", "vendor": "AMD", "features": ["aes"]}),
    ]
    requests = [
        {"capabilities:cpu_info:vendor": "<or> Intel <or> AMD", "ssd": "true"},
        {"capabilities:cpu_info:features": "<all-in> aes", "capabilities:hypervisor_version": ">= 0"},
        {"capabilities:cpu_info:arch": "i686", "capabilities:cpu_info:topology:cores": "1"},
        {"cpu_info": CPU_INFO, "hw:cpu_policy": "dedicated"},
    ]
    filt = ComputeCapabilitiesFilter(config())
    for extra_specs in requests:
        request = spec(flavor(extra_specs=extra_specs))
        assert filt.passes_all(hosts, request) == [filt.host_passes(h, request) for h in hosts], extra_specs


def test_cpu_info_text_not_json():
    assert not passes({"capabilities:cpu_info:vendor": "Intel"}, cpu_info="cpu_info")


def test_simple_stats():
    assert passes({"opt1": "1", "opt2": "2", "trust:trusted_host": "true"}, capabilities={"opt1": 1, "opt2": 2})
    assert not passes({"opt1": "1", "opt2": "222", "trust:trusted_host": "true"}, capabilities={"opt1": 1, "opt2": 2})


def test_scoped_stats():
    assert passes({"capabilities:opt1": "1", "trust:trusted_host": "true"}, capabilities={"opt1": 1, "opt2": 2})


def test_key_same_as_scope():
    assert passes({"capabilities": "1"}, capabilities={"capabilities": 1})


def test_self_defined_specs_ignored():
    assert passes({"XXYY": "1"}, capabilities={"opt1": 1})


def test_wrong_scope_ignored():
    assert passes({"wrong_scope:opt1": "1", "trust:trusted_host": "true"}, capabilities={"opt1": 1})


def test_multi_level_with_scope():
    caps = {"opt1": {"a": 1, "b": {"aa": 2}}, "opt2": 2}
    assert passes({"opt1:a": "1", "capabilities:opt1:b:aa": "2", "trust:trusted_host": "true"}, capabilities=caps)
    assert not passes({"capabilities:opt1:b:aa": "3"}, capabilities=caps)


@pytest.mark.parametrize(
    ("especs", "expected"),
    [
        ({"free_ram_mb": ">= 300"}, True),
        ({"free_ram_mb": "<= 300"}, False),
        ({"vcpus_used": "<= 20"}, True),
        ({"vcpus_used": ">= 20"}, False),
        ({"free_disk_mb": "0"}, False),
        ({"free_disk_mb": str(40 * 1024)}, True),
    ],
)
def test_host_attributes_backward_compatibility(especs, expected):
    assert passes(especs) is expected


def test_reason_names_key_and_values():
    filt = ComputeCapabilitiesFilter(config())
    request = spec(flavor(extra_specs={"capabilities:cpu_info:arch": "aarch64"}))
    assert filt.reason(host(), request) == "extra spec 'capabilities:cpu_info:arch' = 'aarch64' does not match host value 'x86_64'"
    missing = spec(flavor(extra_specs={"capabilities:cpu_info:vendor": "AMD"}))
    assert "reports no 'cpu_info:vendor'" in filt.reason(host(cpu_info={}), missing)
