"""SchedulingResult: to_dict() shape and the no-valid-host explanation."""

import json

from novactl.errors import NoValidHost
from novactl.models import DEFAULT_FILTERS
from novactl.scheduler.result import no_valid_host_message
from novactl.scheduler.scheduler import Scheduler

from .conftest import config, flavor, host, spec


def test_to_dict_shape():
    hosts = [host("a", memory_mb=8192), host("b", disabled=True, disabled_reason="maint")]
    result = Scheduler(config(weighers=["RAMWeigher", "DiskWeigher"])).select(hosts, spec(flavor(ram=1024)))
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {"chosen", "selections", "filters", "weighed", "limits", "forced", "warnings"}
    assert data["chosen"] == "a" and data["selections"] == ["a"]
    assert [f["name"] for f in data["filters"]] == DEFAULT_FILTERS
    compute = next(f for f in data["filters"] if f["name"] == "ComputeFilter")
    assert compute == {"name": "ComputeFilter", "passed": ["a"], "rejected": {"b": "compute service disabled (reason: maint)"}}
    assert data["weighed"] == [
        {
            "host": "a",
            "weight": 0.0,
            "weighers": {"RAMWeigher": {"raw": 8192, "normalized": 0.0}, "DiskWeigher": {"raw": 40960, "normalized": 0.0}},
        }
    ]
    assert data["limits"] == {"memory_mb": 12288.0, "disk_gb": 40.0}


def test_message_names_filters_hosts_and_reasons():
    hosts = [host("a", memory_mb=2048, reserved_memory_mb=1024), host("b", disabled=True, disabled_reason="maint")]
    result = Scheduler(config()).select(hosts, spec(flavor(ram=4096)))
    message = no_valid_host_message(result)
    assert message.startswith("No valid host was found.")
    assert "RamFilter removed 1 host(s) — a: needs 4096 MB, host has only 2048 MB of RAM" in message
    assert "ComputeFilter removed 1 host(s) — b: compute service disabled (reason: maint)" in message
    error = result.no_valid_host()
    assert isinstance(error, NoValidHost) and str(error) == message


def test_message_without_hosts():
    result = Scheduler(config()).select([], spec())
    assert no_valid_host_message(result) == "No valid host was found. There are no hosts to consider for the request."


def test_reasons_are_formatted_only_when_read(monkeypatch):
    from novactl.scheduler.filters.ram_filter import RamFilter

    calls = []
    real = RamFilter.reason
    monkeypatch.setattr(RamFilter, "reason", lambda self, h, s: calls.append(h.host) or real(self, h, s))
    hosts = [host("a", memory_mb=8192), host("b", memory_mb=1024), host("c", memory_mb=512)]
    result = Scheduler(config()).select(hosts, spec(flavor(ram=2048)))
    assert result.chosen == "a" and calls == []
    ram = next(step for step in result.filters if step.name == "RamFilter")
    assert len(ram.rejected) == 2 and list(ram.passed) == ["a"] and calls == []
    assert sorted(ram.rejected) == ["b", "c"] and sorted(calls) == ["b", "c"]
    assert ram.rejected["b"] == "needs 2048 MB, host has only 1024 MB of RAM (no overcommit against itself)"
    assert sorted(calls) == ["b", "c"]  # formatted once


def test_reasons_describe_the_host_as_the_filter_saw_it_after_a_rollback():
    # Instance 1 fills host a; RamFilter rejects a for instance 2; min_count 2 is not reached and
    # the placement is undone. The reason still gives the RAM used when a was rejected.
    hosts = [host("a", memory_mb=2048, ram_allocation_ratio=1.0)]
    result = Scheduler(config()).select(hosts, spec(flavor(ram=1536), num_instances=2), min_count=2)
    assert not result.ok and hosts[0].memory_mb_used == 0
    rejected = next(step for step in result.passes[1] if step.name == "RamFilter").rejected
    assert rejected == {"a": "needs 1536 MB, usable 512 MB (total 2048 MB × 1 − used 1536 MB)"}
    assert "RamFilter removed 1 host(s) — a: needs 1536 MB, usable 512 MB" in no_valid_host_message(result)
