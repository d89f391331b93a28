"""Scheduler benchmark: filter + weigh + pick per request over 10 … 10,000 fake hosts, against Nova.

Hosts are built as the fake driver builds them (ComputeNode + instances through build_host_state),
a few instances each. Filters: Nova's defaults + CoreFilter; weighers: the defaults. Each request
places one instance (select() end to end, result included); the figure is the median of several
runs. The Nova column runs Nova's own FilterScheduler path on the same hosts and request
(bench/nova_filter_scheduler.py), when Nova is installed.

--request flavor asks for a flavor only; --request full gives every filter work: an availability
zone, a retry list, an anti-affinity group, capabilities extra specs and image properties.

    python bench/scheduler.py [--runs 9] [--sizes 10,100,1000,10000] [--request flavor|full]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from novactl.hoststate import RUNNING, ComputeNode, HostState, InstanceInfo, build_host_state
from novactl.models import DEFAULT_FILTERS, DEFAULT_WEIGHERS, Flavor, Image, SchedulerConfig
from novactl.scheduler.request import InstanceGroup, RequestSpec
from novactl.scheduler.scheduler import Scheduler

SIZES = [(512, 1, 1), (2048, 20, 1), (4096, 40, 2), (8192, 80, 4)]  # ram MB, disk GB, vcpus
FLAVORS = [Flavor(str(i), f"m1.f{i}", ram, disk, vcpus) for i, (ram, disk, vcpus) in enumerate(SIZES)]
REQUEST = Flavor("req", "m1.medium", 4096, 40, 2)
EXTRA_SPECS = {
    "capabilities:cpu_info:arch": "x86_64",
    "capabilities:cpu_info:vendor": "<or> Intel <or> AMD",
    "capabilities:cpu_info:features": "<all-in> aes",
    "capabilities:hypervisor_version": ">= 4002000",
    "ssd": "true",
    "hw:cpu_policy": "shared",  # another filter's scope: ComputeCapabilitiesFilter skips it
}
FULL_FLAVOR = Flavor("req-full", "m1.medium.ssd", 4096, 40, 2, extra_specs=EXTRA_SPECS)
CONFIG = SchedulerConfig(filters=[*DEFAULT_FILTERS, "CoreFilter"], weighers=list(DEFAULT_WEIGHERS))
NOVA_MISSING = 3  # nova_filter_scheduler.py's exit status when Nova cannot be imported
IMAGE_PROPERTIES = {"hw_architecture": "x86_64", "img_hv_type": "kvm", "hw_vm_mode": "hvm", "img_hv_requested_version": ">=4.0"}


def build_hosts(count: int, seed: int = 0, full: bool = False) -> list[HostState]:
    """Fake hosts; with full=True one in ten is an aarch64 host and the CPUs differ in vendor/features."""
    rnd = random.Random(seed)
    hosts = []
    for i in range(count):
        name = f"compute{i:05d}"
        arch = "aarch64" if full and rnd.random() < 0.1 else "x86_64"
        vendor = rnd.choice(["Intel", "AMD"]) if full else "Intel"
        features = sorted(rnd.sample(["aes", "avx", "avx2", "sse4.2", "vmx", "svm"], 4)) if full else []
        node = ComputeNode(
            hypervisor_hostname=name,
            memory_mb=rnd.choice([32768, 65536, 131072]),
            vcpus=rnd.choice([16, 32, 48]),
            local_gb=rnd.choice([500, 1000, 2000]),
            hypervisor_type="QEMU",
            hypervisor_version=rnd.choice([4002000, 6002000, 8002000]),
            cpu_info={"arch": arch, "vendor": vendor, "model": "host", "features": features},
            supported_instances=[[arch, "qemu", "hvm"], [arch, "kvm", "hvm"]],
        )
        instances = [
            InstanceInfo(f"{name}-{j}", f"vm{j}", name, rnd.choice(FLAVORS), power_state=RUNNING) for j in range(rnd.randint(1, 6))
        ]
        stats = {"ssd": rnd.choice(["true", "false"])} if full else {}
        zone = rnd.choice(["nova", "az2"])
        hosts.append(build_host_state(name, zone, node, instances, 512, 0, disabled=rnd.random() < 0.02, capabilities=stats))
    return hosts


def full_request(hosts: list[HostState], seed: int = 1) -> RequestSpec:
    """A request every filter works on: AZ, retry list, anti-affinity group, extra specs, image properties."""
    rnd = random.Random(seed)
    names = [h.host for h in hosts]
    member_hosts = rnd.sample(names, max(1, len(names) // 100))
    group = InstanceGroup("web", "anti-affinity", [f"{host}-0" for host in member_hosts], member_hosts)
    image = Image("img", "cirros", "/dev/null", properties=IMAGE_PROPERTIES)
    return RequestSpec(
        flavor=FULL_FLAVOR,
        image=image,
        availability_zone="nova",
        instance_group=group,
        retry_hosts=rnd.sample(names, min(3, len(names))),
    )


def make_request(hosts: list[HostState], full: bool) -> RequestSpec:
    return full_request(hosts) if full else RequestSpec(flavor=REQUEST)


def time_request(scheduler: Scheduler, hosts: list[HostState], make_spec: Callable[[], RequestSpec], runs: int) -> float:
    """Median ms of select() for one instance. Placements are kept between runs, as successive
    requests would see them (one host changes a little per run)."""
    times = []
    for _ in range(runs):
        spec = make_spec()
        start = time.process_time()
        result = scheduler.select(hosts, spec)
        times.append((time.process_time() - start) * 1000)
        assert result.chosen is not None
    return statistics.median(times)


def time_nova(python: str, size: int, request: str, runs: int) -> float | None:
    """The same through Nova's own path, in a process of its own (None: Nova is not installed there)."""
    script = Path(__file__).with_name("nova_filter_scheduler.py")
    argv = [python, str(script), "--size", str(size), "--request", request, "--runs", str(runs)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if done.returncode == NOVA_MISSING:
        return None
    if done.returncode != 0:
        raise SystemExit(f"Nova's side failed (exit status {done.returncode}):\n{done.stdout}{done.stderr}")
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--request", choices=["flavor", "full"], default="flavor", help="full: every filter has work (see full_request)")
    parser.add_argument("--nova-python", default=sys.executable, help="an interpreter that has Nova installed (default: this one)")
    args = parser.parse_args()
    config = CONFIG
    full = args.request == "full"
    print(f"request: {args.request}; filters: {', '.join(config.filters)}; weighers: {', '.join(config.weighers)}")
    print(f"{'hosts':>8} | {'novactl':>11} | {'Nova':>11} | {'Nova/novactl':>12} | per host (novactl)")
    print("-" * 72)
    missing = False
    for size in (int(s) for s in args.sizes.split(",")):
        hosts = build_hosts(size, full=full)
        ours = time_request(Scheduler(config), hosts, lambda h=hosts: make_request(h, full), args.runs)
        theirs = time_nova(args.nova_python, size, args.request, args.runs)
        missing = missing or theirs is None
        nova_cell = f"{theirs:8.2f} ms" if theirs is not None else f"{'-':>11}"
        ratio = f"{theirs / ours:11.1f}x" if theirs is not None else f"{'-':>12}"
        print(f"{size:>8} | {ours:8.2f} ms | {nova_cell} | {ratio} | {ours * 1000 / size:8.2f} µs")
    if missing:
        print("Nova is not installed here: pip install -e '.[bench]' for its column")


if __name__ == "__main__":
    main()
