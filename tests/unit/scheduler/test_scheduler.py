"""The FilterScheduler loop: picking, ties, subset, multi-create, min_count, groups, forcing."""

import logging
import random

import pytest

from novactl.errors import UsageError
from novactl.models import DEFAULT_FILTERS
from novactl.scheduler.scheduler import Scheduler

from .conftest import config, flavor, group, host, spec

ALL_FILTERS = [*DEFAULT_FILTERS, "CoreFilter"]


def scheduler(**cfg):
    cfg.setdefault("filters", ALL_FILTERS)
    return Scheduler(config(**cfg))


def test_unknown_filter_or_weigher_names_it_and_the_known_ones():
    with pytest.raises(UsageError, match=r"'NoSuchFilter'.*known: RetryFilter"):
        Scheduler(config(filters=["RamFilter", "NoSuchFilter"]))
    with pytest.raises(UsageError, match=r"'Nope'.*known: RAMWeigher"):
        Scheduler(config(weighers=["Nope"]))


def test_picks_most_free_ram_and_consumes():
    hosts = [host("a", memory_mb=2048), host("b", memory_mb=8192)]
    result = scheduler().select(hosts, spec(flavor(ram=1024, vcpus=2, disk=5)))
    assert result.selections == ["b"] and result.chosen == "b"
    assert (hosts[1].memory_mb_used, hosts[1].vcpus_used, hosts[1].local_gb_used) == (1024, 2, 5)
    assert hosts[0].memory_mb_used == 0
    assert result.limits == {"memory_mb": 8192 * 1.5, "disk_gb": 40.0, "vcpu": 64.0}


def test_ties_break_by_host_name():
    hosts = [host("c"), host("a"), host("b")]
    result = scheduler().select(hosts, spec())
    assert result.chosen == "a"
    assert [row.host for row in result.weighed] == ["a", "b", "c"]


def test_weighed_is_best_first_then_name():
    hosts = [host("b", memory_mb=2048), host("z", memory_mb=8192), host("a", memory_mb=2048)]
    result = scheduler(weighers=["RAMWeigher"]).select(hosts, spec())
    assert [(row.host, row.weight) for row in result.weighed] == [("z", 1.0), ("a", 0.25), ("b", 0.25)]


class FirstOf:
    """An rng that records the subset it was offered."""

    def __init__(self, index=0):
        self.index, self.offered = index, []

    def choice(self, seq):
        self.offered.append([h.host for h in seq])
        return seq[self.index]


def test_subset_is_the_best_n_in_deterministic_order():
    hosts = [host(n, memory_mb=m) for n, m in (("a", 1024), ("b", 4096), ("c", 8192), ("d", 4096))]
    rng = FirstOf(index=2)
    result = scheduler(weighers=["RAMWeigher"], host_subset_size=3).select(hosts, spec(), rng=rng)
    assert rng.offered == [["c", "b", "d"]]
    assert result.chosen == "d"


def test_subset_larger_than_hosts_offers_all():
    rng = FirstOf()
    scheduler(host_subset_size=10).select([host("a"), host("b")], spec(), rng=rng)
    assert sorted(rng.offered[0]) == ["a", "b"]


def test_seeded_rng_is_reproducible():
    def run():
        hosts = [host(f"h{i}") for i in range(6)]
        return scheduler(host_subset_size=4).select(hosts, spec(num_instances=5), rng=random.Random(7)).selections

    assert run() == run()


def test_multi_create_consumes_between_instances():
    hosts = [host("a", memory_mb=4096, ram_allocation_ratio=1.0), host("b", memory_mb=3072, ram_allocation_ratio=1.0)]
    result = scheduler(weighers=["RAMWeigher"]).select(hosts, spec(flavor(ram=1024), num_instances=4))
    # a(4096) → a(3072 left, ties b: name) → b(3072) → a(2048 vs b 2048: name)
    assert result.selections == ["a", "a", "b", "a"]
    assert len(result.passes) == 4 and len(result.selection_limits) == 4


def test_min_count_not_reached_places_nothing():
    hosts = [host("a", memory_mb=2048, ram_allocation_ratio=1.0)]
    result = scheduler().select(hosts, spec(flavor(ram=1024), num_instances=3), min_count=3)
    assert result.selections == [] and result.chosen is None and not result.ok
    assert result.fitted == 2
    assert hosts[0].memory_mb_used == 0 and not hosts[0].instances
    assert "2 of 3 instance(s) fit, at least 3 required" in result.no_valid_host().args[0]


def test_partial_placement_at_or_above_min_count():
    hosts = [host("a", memory_mb=2048, ram_allocation_ratio=1.0)]
    result = scheduler().select(hosts, spec(flavor(ram=1024), num_instances=3), min_count=2)
    assert result.selections == ["a", "a"] and result.ok
    assert "RamFilter removed the last host(s) for instance 3" in result.failure


def test_min_count_must_be_sane():
    with pytest.raises(UsageError):
        scheduler().select([host()], spec(num_instances=2), min_count=3)


def test_anti_affinity_group_hosts_grow_during_multi_create():
    g = group("anti-affinity")
    hosts = [host("a"), host("b"), host("c")]
    result = scheduler().select(hosts, spec(num_instances=3, instance_group=g))
    assert sorted(result.selections) == ["a", "b", "c"]
    assert g.hosts == result.selections
    assert len(g.members) == 3 and all(m in result.instance_uuids for m in g.members)


def test_anti_affinity_runs_out_of_hosts():
    g = group("anti-affinity", hosts=["a"])
    result = scheduler().select([host("a"), host("b")], spec(num_instances=2, instance_group=g), min_count=2)
    assert not result.ok and g.hosts == ["a"] and g.members == []
    assert "ServerGroupAntiAffinityFilter" in result.no_valid_host().args[0]


def test_affinity_follows_the_first_pick():
    g = group("affinity")
    hosts = [host("a", memory_mb=8192), host("b", memory_mb=16384)]
    result = scheduler().select(hosts, spec(flavor(ram=4096), num_instances=3, instance_group=g))
    assert result.selections == ["b", "b", "b"]


def test_soft_anti_affinity_sees_earlier_placements_of_the_request():
    g = group("soft-anti-affinity")
    hosts = [host("a", memory_mb=8192), host("b", memory_mb=4096)]
    cfg = {"weighers": ["RAMWeigher", "ServerGroupSoftAntiAffinityWeigher"], "ram_weight_multiplier": -0.1}
    result = scheduler(**cfg).select(hosts, spec(flavor(ram=512), num_instances=2, instance_group=g))
    assert sorted(result.selections) == ["a", "b"]


def test_stops_at_first_filter_leaving_no_host():
    hosts = [host("a", memory_mb=512), host("b", memory_mb=1024)]
    result = scheduler().select(hosts, spec(flavor(ram=4096)))
    assert [s.name for s in result.filters] == ["RetryFilter", "AvailabilityZoneFilter", "RamFilter"]
    assert result.selections == [] and result.weighed == []


def test_once_per_request_filters_skip_later_instances():
    result = scheduler().select([host("a"), host("b")], spec(num_instances=2))
    first = [s.name for s in result.passes[0]]
    later = [s.name for s in result.passes[1]]
    assert "ComputeFilter" in first and "ComputeFilter" not in later
    assert "RamFilter" in later


def test_force_hosts_bypasses_filters():
    hosts = [host("a", memory_mb=512), host("B", memory_mb=512, disabled=True)]
    result = scheduler().select(hosts, spec(flavor(ram=4096), force_hosts=["b"]))
    assert result.chosen == "B" and result.forced
    assert result.filters[0].name == "force_hosts" and "a" in result.filters[0].rejected


def test_force_hosts_matching_nothing():
    result = scheduler().select([host("a")], spec(force_hosts=["zz"]))
    assert result.chosen is None
    assert "force_hosts" in result.no_valid_host().args[0]


def test_ignore_hosts():
    result = scheduler().select([host("a", memory_mb=8192), host("b")], spec(ignore_hosts=["A"]))
    assert result.chosen == "b"
    assert result.filters[0].rejected == {"a": "ignored for this request"}


def test_log_lines(caplog):
    caplog.set_level(logging.DEBUG, logger="novactl.scheduler")
    scheduler(weighers=["RAMWeigher"]).select([host("a", memory_mb=8192), host("b")], spec())
    text = caplog.text
    assert "Filter RamFilter returned 2 host(s)" in text
    assert "Weighed [WeighedHost [host: a, weight: 1.0], WeighedHost [host: b, weight: 0.5]]" in text
    assert "Selected host: a" in text


def test_log_when_nothing_fits(caplog):
    caplog.set_level(logging.DEBUG, logger="novactl.scheduler")
    scheduler().select([host("a", memory_mb=512)] * 1, spec(flavor(ram=4096), instance_uuid="abc", retry_hosts=["x"]))
    assert (
        "Filtering removed all hosts for the request with instance ID 'abc'. Filter results: "
        "['RetryFilter: (start: 1, end: 1)', 'AvailabilityZoneFilter: (start: 1, end: 1)', 'RamFilter: (start: 1, end: 0)']"
    ) in caplog.text


def test_core_imports_neither_click_nor_rich():
    import subprocess
    import sys

    code = "import sys, novactl.scheduler; print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
