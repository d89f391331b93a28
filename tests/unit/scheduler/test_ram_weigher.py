"""RAMWeigher through the scheduler's weighing: raw free RAM, scaled from 0, times the multiplier."""

from novactl.scheduler.scheduler import Scheduler

from .conftest import config, host, spec


def weigh(hosts, **cfg):
    return Scheduler(config(weighers=["RAMWeigher"], **cfg)).weigh_hosts(hosts, spec())


def test_spreads_by_default():
    w = weigh([host("a", memory_mb=512), host("b", memory_mb=1024), host("c", memory_mb=3072), host("d", memory_mb=8192)])
    assert w.raw["RAMWeigher"] == [512, 1024, 3072, 8192]
    assert w.totals == [0.0625, 0.125, 0.375, 1.0]
    assert w.hosts[w.ranked()[0]] == "d"


def test_multiplier_scales():
    w = weigh([host("a", memory_mb=4096), host("b", memory_mb=8192)], ram_weight_multiplier=2.0)
    assert w.totals == [1.0, 2.0]


def test_negative_multiplier_packs():
    w = weigh([host("a", memory_mb=4096), host("b", memory_mb=8192)], ram_weight_multiplier=-1.0)
    assert w.hosts[w.ranked()[0]] == "a"


def test_negative_free_ram_widens_the_range():
    w = weigh([host("a", memory_mb=1024, reserved_memory_mb=1536), host("b", memory_mb=1024)])
    assert w.raw["RAMWeigher"] == [-512, 1024]
    assert w.normalized["RAMWeigher"] == [0.0, 1.0]


def test_single_host_weighs_zero():
    w = weigh([host("a")])
    assert w.totals == [0.0] and w.raw["RAMWeigher"] == [4096]
