"""DiskWeigher: free_disk_mb (disk_available_least included)."""

from novactl.scheduler.scheduler import Scheduler

from .conftest import config, host, spec


def weigh(hosts, **cfg):
    return Scheduler(config(weighers=["DiskWeigher"], **cfg)).weigh_hosts(hosts, spec())


def test_spreads_by_default():
    w = weigh([host("a", local_gb=10), host("b", local_gb=20), host("c", local_gb=40)])
    assert w.raw["DiskWeigher"] == [10240, 20480, 40960]
    assert w.totals == [0.25, 0.5, 1.0]


def test_disk_available_least_lowers_free_disk():
    w = weigh([host("a", local_gb=40, disk_available_least=5), host("b", local_gb=20)])
    assert w.raw["DiskWeigher"] == [5120, 20480]


def test_negative_multiplier_packs():
    w = weigh([host("a", local_gb=10), host("b", local_gb=20)], disk_weight_multiplier=-1.0)
    assert w.hosts[w.ranked()[0]] == "a"
