"""Scheduler benchmark: filter + weigh time per request over 10 … 10,000 fake hosts.

Hosts are built as the fake driver builds them (ComputeNode + instances through build_host_state),
a few instances each. Filters: Nova's defaults + CoreFilter. Each request places one instance
(select() end to end, result included); the figure is the median of several runs.

    python bench/scheduler.py [--runs 9] [--sizes 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from novactl.hoststate import RUNNING, ComputeNode, HostState, InstanceInfo, build_host_state
from novactl.models import DEFAULT_FILTERS, DEFAULT_WEIGHERS, Flavor, SchedulerConfig
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.scheduler import Scheduler

SIZES = [(512, 1, 1), (2048, 20, 1), (4096, 40, 2), (8192, 80, 4)]  # ram MB, disk GB, vcpus
FLAVORS = [Flavor(str(i), f"m1.f{i}", ram, disk, vcpus) for i, (ram, disk, vcpus) in enumerate(SIZES)]
REQUEST = Flavor("req", "m1.medium", 4096, 40, 2)


def build_hosts(count: int, seed: int = 0) -> list[HostState]:
    rnd = random.Random(seed)
    hosts = []
    for i in range(count):
        name = f"compute{i:05d}"
        node = ComputeNode(
            hypervisor_hostname=name,
            memory_mb=rnd.choice([32768, 65536, 131072]),
            vcpus=rnd.choice([16, 32, 48]),
            local_gb=rnd.choice([500, 1000, 2000]),
            cpu_info={"arch": "x86_64"},
            supported_instances=[["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]],
        )
        instances = [
            InstanceInfo(f"{name}-{j}", f"vm{j}", name, rnd.choice(FLAVORS), power_state=RUNNING) for j in range(rnd.randint(1, 6))
        ]
        hosts.append(build_host_state(name, rnd.choice(["nova", "az2"]), node, instances, 512, 0, disabled=rnd.random() < 0.02))
    return hosts


def time_request(scheduler: Scheduler, hosts: list[HostState], runs: int) -> float:
    """Median ms of select() for one instance. Placements are kept between runs, as successive
    requests would see them (one host changes a little per run)."""
    times = []
    for _ in range(runs):
        spec = RequestSpec(flavor=REQUEST)
        start = time.perf_counter()
        result = scheduler.select(hosts, spec)
        times.append((time.perf_counter() - start) * 1000)
        assert result.chosen is not None
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    args = parser.parse_args()
    configs = {
        "RAMWeigher": SchedulerConfig(filters=[*DEFAULT_FILTERS, "CoreFilter"], weighers=["RAMWeigher"]),
        "default weighers": SchedulerConfig(filters=[*DEFAULT_FILTERS, "CoreFilter"], weighers=list(DEFAULT_WEIGHERS)),
    }
    print(f"{'hosts':>8} | " + " | ".join(f"{name:>18}" for name in configs) + " | per host (RAMWeigher)")
    print("-" * 72)
    for size in (int(s) for s in args.sizes.split(",")):
        hosts = build_hosts(size)
        figures = [time_request(Scheduler(config), hosts, args.runs) for config in configs.values()]
        cells = " | ".join(f"{ms:15.2f} ms" for ms in figures)
        print(f"{size:>8} | {cells} | {figures[0] * 1000 / size:8.2f} µs")


if __name__ == "__main__":
    main()
