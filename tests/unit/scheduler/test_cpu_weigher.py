"""CPUWeigher: vcpus × cpu_allocation_ratio − vcpus_used."""

from novactl.scheduler.scheduler import Scheduler

from .conftest import config, flavor, host, instance, spec


def weigh(hosts, **cfg):
    return Scheduler(config(weighers=["CPUWeigher"], **cfg)).weigh_hosts(hosts, spec())


def test_free_vcpus_under_ratio():
    busy = host("a", vcpus=4, cpu_allocation_ratio=2.0, instances=[instance("a", flavor(vcpus=2))])
    w = weigh([busy, host("b", vcpus=4, cpu_allocation_ratio=4.0)])
    assert w.raw["CPUWeigher"] == [6.0, 16.0]
    assert w.totals == [6.0 / 16.0, 1.0]


def test_negative_multiplier_packs():
    w = weigh([host("a", vcpus=4), host("b", vcpus=8)], cpu_weight_multiplier=-1.0)
    assert w.hosts[w.ranked()[0]] == "a"
