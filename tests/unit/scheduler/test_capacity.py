"""capacity(): per-host counts, the limiting resource, group policies, and agreement with select."""

import copy

from novactl.models import DEFAULT_FILTERS
from novactl.scheduler import pci
from novactl.scheduler.capacity import capacity
from novactl.scheduler.scheduler import Scheduler

from .conftest import config, flavor, group, host, spec

FILTERS = [*DEFAULT_FILTERS, "CoreFilter", "PciPassthroughFilter"]


def scheduler(**cfg):
    return Scheduler(config(filters=FILTERS, **cfg))


def by_host(report):
    return {h.host: (h.count, h.limited_by) for h in report.hosts}


def test_limiting_resources_and_outright_rejection():
    hosts = [
        host("ram", memory_mb=4096, ram_allocation_ratio=1.0),  # 4 × 1024 MB
        host("disk", memory_mb=65536, local_gb=2),  # 2 × 1 GB
        host("cpu", memory_mb=65536, vcpus=1, cpu_allocation_ratio=3.0),  # 3 × 1 vCPU
        host("off", disabled=True),
    ]
    report = capacity(scheduler(), hosts, spec(flavor(ram=1024, disk=1, vcpus=1)))
    assert by_host(report) == {"ram": (4, "ram"), "disk": (2, "disk"), "cpu": (3, "vcpu"), "off": (0, "ComputeFilter")}
    assert report.total == 9
    assert hosts[0].memory_mb_used == 0  # nothing passed in is changed


def test_reservations_count():
    report = capacity(scheduler(), [host("a", memory_mb=4096, ram_allocation_ratio=1.0, reserved_memory_mb=1024)], spec(flavor(ram=1024)))
    assert report.total == 3


def test_anti_affinity_one_per_host_without_a_member():
    hosts = [host("a"), host("b"), host("c")]
    report = capacity(scheduler(), hosts, spec(instance_group=group("anti-affinity", hosts=["b"])))
    assert by_host(report) == {
        "a": (1, "ServerGroupAntiAffinityFilter"),
        "b": (0, "ServerGroupAntiAffinityFilter"),
        "c": (1, "ServerGroupAntiAffinityFilter"),
    }
    assert report.total == 2


def test_affinity_without_member_follows_first_pick():
    hosts = [host("small", memory_mb=2048, ram_allocation_ratio=1.0), host("big", memory_mb=8192, ram_allocation_ratio=1.0)]
    report = capacity(scheduler(), hosts, spec(flavor(ram=1024), instance_group=group("affinity")))
    assert report.total == 8 and "big" in report.note


def test_pci_devices_limit():
    aliases = {"gpu": {"vendor_id": "10de"}}
    devices = [{"vendor_id": "10de", "product_id": "1", "address": f"0000:0{i}:00.0"} for i in range(3)]
    request = spec(flavor(extra_specs={pci.EXTRA_SPEC: "gpu:1"}))
    report = capacity(scheduler(pci_alias=aliases), [host("a", pci_devices=devices, memory_mb=65536)], request)
    assert by_host(report) == {"a": (3, "PciPassthroughFilter")}


def test_ignore_and_force_hosts():
    report = capacity(scheduler(), [host("a"), host("b")], spec(ignore_hosts=["a"]))
    assert by_host(report)["a"] == (0, "ignore_hosts")
    forced = capacity(scheduler(), [host("a"), host("b")], spec(force_hosts=["a"]))
    assert forced.total is None and by_host(forced)["b"] == (0, "force_hosts")


def test_unbounded_without_capacity_filters():
    report = capacity(Scheduler(config(filters=["ComputeFilter"])), [host("a")], spec())
    assert report.total is None and report.hosts[0].count is None


def test_agrees_with_successive_selects():
    hosts = [host("a", memory_mb=4096), host("b", memory_mb=2048, vcpus=1), host("c", local_gb=3)]
    request = spec(flavor(ram=1024, disk=1, vcpus=2))
    sched = scheduler()
    expected = capacity(sched, hosts, request).total
    placed, work, work_spec = 0, copy.deepcopy(hosts), copy.deepcopy(request)
    while sched.select(work, work_spec).chosen:
        placed += 1
    assert placed == expected == 9


def test_to_dict():
    data = capacity(scheduler(), [host("a", memory_mb=1024, ram_allocation_ratio=1.0)], spec(flavor(ram=512))).to_dict()
    assert data == {
        "flavor": data["flavor"],
        "total": 2,
        "note": None,
        "hosts": [
            {
                "host": "a",
                "count": 2,
                "limited_by": "ram",
                "reason": "needs 512 MB, usable 0 MB (total 1024 MB × 1 − used 1024 MB)",
                # before any placement: 1024 MB × 1.0, 4 vCPUs × 16.0, 40 GB × 1.0, nothing used
                "allocatable_ram_mb": 1024,
                "free_ram_mb": 1024,
                "allocatable_vcpus": 64,
                "free_vcpus": 64,
                "allocatable_disk_gb": 40,
                "free_disk_gb": 40,
            }
        ],
    }


def test_a_down_hosts_headroom_is_unknown():
    (entry,) = capacity(scheduler(), [host("a", up=False, down_reason="gone")], spec(flavor(ram=512))).hosts
    assert set(entry.headroom.values()) == {None}
