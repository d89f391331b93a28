"""ServerGroupSoftAffinityWeigher: more members of a soft-affinity group on the host wins."""

from novactl.scheduler.scheduler import Scheduler

from .conftest import config, group, host, instance, spec


def hosts():
    return [
        host("a", instances=[instance("a", uuid="m1"), instance("a", uuid="m2")]),
        host("b", instances=[instance("b", uuid="m3")]),
        host("c", instances=[instance("c", uuid="other")]),
    ]


def weigh(policy, **cfg):
    scheduler = Scheduler(config(weighers=["ServerGroupSoftAffinityWeigher"], **cfg))
    return scheduler.weigh_hosts(hosts(), spec(instance_group=group(policy, members=["m1", "m2", "m3"])))


def test_counts_members():
    w = weigh("soft-affinity")
    assert w.raw["ServerGroupSoftAffinityWeigher"] == [2, 1, 0]
    assert w.totals == [1.0, 0.5, 0.0]


def test_multiplier_name():
    assert weigh("soft-affinity", soft_affinity_weight_multiplier=3.0).totals == [3.0, 1.5, 0.0]


def test_only_for_soft_affinity():
    assert weigh("affinity").totals == [0.0, 0.0, 0.0]
    assert weigh("soft-anti-affinity").totals == [0.0, 0.0, 0.0]
