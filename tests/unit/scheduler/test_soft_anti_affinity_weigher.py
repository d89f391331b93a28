"""ServerGroupSoftAntiAffinityWeigher: fewer members of a soft-anti-affinity group on the host wins."""

from novactl.scheduler.scheduler import Scheduler

from .conftest import config, group, host, instance, spec


def weigh(policy, **cfg):
    hosts = [
        host("a", instances=[instance("a", uuid="m1"), instance("a", uuid="m2")]),
        host("b", instances=[instance("b", uuid="m3")]),
        host("c"),
    ]
    scheduler = Scheduler(config(weighers=["ServerGroupSoftAntiAffinityWeigher"], **cfg))
    return scheduler.weigh_hosts(hosts, spec(instance_group=group(policy, members=["m1", "m2", "m3"])))


def test_negated_member_count():
    w = weigh("soft-anti-affinity")
    assert w.raw["ServerGroupSoftAntiAffinityWeigher"] == [-2, -1, 0]
    assert w.totals == [0.0, 0.5, 1.0]


def test_multiplier_name():
    assert weigh("soft-anti-affinity", soft_anti_affinity_weight_multiplier=2.0).totals == [0.0, 1.0, 2.0]


def test_only_for_soft_anti_affinity():
    assert weigh("anti-affinity").totals == [0.0, 0.0, 0.0]
