"""Nova's own FilterScheduler path on novactl's input, for bench/scheduler.py's side-by-side ratio.

Runs what Nova's scheduler manager runs per instance (`_get_sorted_hosts`): the host manager's
filter handler over Nova HostStates, the weight handler, the pick among host_subset_size, then
`consume_from_request` on the chosen host. Nova comes from PyPI (`pip install -e '.[bench]'`).

Nova has since dropped five of the Queens filters novactl runs (RetryFilter, AvailabilityZoneFilter,
RamFilter, DiskFilter, CoreFilter: placement took their work). They run here as Nova host filters
written to Queens' host_passes logic (its checks, its limits writes), so both sides filter alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time

from scheduler import CONFIG, NOVA_MISSING, build_hosts, make_request

try:
    import nova.conf
except ImportError:
    if __name__ == "__main__":
        sys.exit(NOVA_MISSING)
    raise
from nova import objects
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager, weights
from nova.scheduler.filters import utils as filter_utils
from nova.scheduler.filters.affinity_filter import ServerGroupAffinityFilter, ServerGroupAntiAffinityFilter
from nova.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter
from nova.scheduler.filters.compute_filter import ComputeFilter
from nova.scheduler.filters.image_props_filter import ImagePropertiesFilter
from nova.scheduler.weights.affinity import ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher
from nova.scheduler.weights.cpu import CPUWeigher
from nova.scheduler.weights.disk import DiskWeigher
from nova.scheduler.weights.ram import RAMWeigher
from oslo_log import log as logging

from novactl.hoststate import HostState
from novactl.scheduler.request import RequestSpec

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


class RetryFilter(nova_filters.BaseHostFilter):
    """Queens: skip hosts (host, node) already tried for this request."""

    def host_passes(self, host_state, spec_obj):
        retry = spec_obj.retry
        if not retry:
            return True
        host = [host_state.host, host_state.nodename]
        hosts = [[cn.host, cn.hypervisor_hostname] for cn in retry.hosts]
        return host not in hosts


class AvailabilityZoneFilter(nova_filters.BaseHostFilter):
    """Queens: the zone from the host's aggregates' metadata, else the default zone."""

    run_filter_once_per_request = True

    def host_passes(self, host_state, spec_obj):
        zone = spec_obj.availability_zone
        if not zone:
            return True
        metadata = filter_utils.aggregate_metadata_get_by_host(host_state, key="availability_zone")
        if "availability_zone" in metadata:
            return zone in metadata["availability_zone"]
        return zone == CONF.default_availability_zone


class RamFilter(nova_filters.BaseHostFilter):
    """Queens: usable RAM under the allocation ratio; records the memory_mb limit."""

    def host_passes(self, host_state, spec_obj):
        requested = spec_obj.memory_mb
        total = host_state.total_usable_ram_mb
        if not total >= requested:
            return False
        limit = total * host_state.ram_allocation_ratio
        usable = limit - (total - host_state.free_ram_mb)
        if not usable >= requested:
            return False
        host_state.limits["memory_mb"] = limit
        return True


class DiskFilter(nova_filters.BaseHostFilter):
    """Queens: usable disk under the allocation ratio; records the disk_gb limit."""

    def host_passes(self, host_state, spec_obj):
        requested = 1024 * (spec_obj.root_gb + spec_obj.ephemeral_gb) + spec_obj.swap
        total_mb = host_state.total_usable_disk_gb * 1024
        if total_mb < requested:
            return False
        limit_mb = total_mb * host_state.disk_allocation_ratio
        if not limit_mb - (total_mb - host_state.free_disk_mb) >= requested:
            return False
        host_state.limits["disk_gb"] = limit_mb / 1024
        return True


class CoreFilter(nova_filters.BaseHostFilter):
    """Queens: vCPUs under the allocation ratio; records the vcpu limit."""

    def host_passes(self, host_state, spec_obj):
        if not host_state.vcpus_total:
            return True
        wanted = spec_obj.vcpus
        limit = host_state.vcpus_total * host_state.cpu_allocation_ratio
        if limit > 0:
            host_state.limits["vcpu"] = limit
            if wanted > host_state.vcpus_total:
                return False
        return limit - host_state.vcpus_used >= wanted


FILTERS = {
    cls.__name__: cls
    for cls in (
        RetryFilter,
        AvailabilityZoneFilter,
        RamFilter,
        DiskFilter,
        CoreFilter,
        ComputeFilter,
        ComputeCapabilitiesFilter,
        ImagePropertiesFilter,
        ServerGroupAntiAffinityFilter,
        ServerGroupAffinityFilter,
    )
}
WEIGHERS = {
    cls.__name__: cls for cls in (RAMWeigher, DiskWeigher, CPUWeigher, ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher)
}
_configured = False


def configure() -> None:
    """Nova's configuration with its defaults (no file), logging at WARNING as a production scheduler."""
    global _configured
    if not _configured:
        objects.register_all()
        logging.register_options(CONF)
        CONF([], project="nova")
        # The hosts' heartbeat is stamped once when they are built: on a slow run they must not go down.
        CONF.set_override("service_down_time", 24 * 3600)
        logging.setup(CONF, "nova")
        _configured = True


class NovaScheduler:
    def __init__(self, filter_names: list[str], weigher_names: list[str]):
        configure()
        self.filters = [FILTERS[name]() for name in filter_names]
        self.weighers = [WEIGHERS[name]() for name in weigher_names]
        self.filter_handler = nova_filters.HostFilterHandler()
        self.weight_handler = weights.HostWeightHandler()

    def select(self, hosts: list[host_manager.HostState], spec_obj: objects.RequestSpec) -> host_manager.HostState | None:
        """One instance, as the scheduler manager's _get_sorted_hosts + _consume_selected_host."""
        filtered = self.filter_handler.get_filtered_objects(self.filters, hosts, spec_obj, 0)
        if not filtered:
            return None
        weighed = [w.obj for w in self.weight_handler.get_weighed_objects(self.weighers, filtered, spec_obj)]
        subset = weighed[: CONF.filter_scheduler.host_subset_size]
        chosen = random.choice(subset)
        weighed.remove(chosen)
        chosen.consume_from_request(spec_obj)
        return chosen


def host_states(hosts: list[HostState]) -> list[host_manager.HostState]:
    """Nova HostStates holding what novactl's HostStates hold (cpu_info as the compute node's JSON text)."""
    now = dt.datetime.now(dt.UTC)
    cell = "00000000-0000-0000-0000-000000000001"
    states = []
    for h in hosts:
        state = host_manager.HostState(h.host, h.host, cell)
        state.total_usable_ram_mb = h.memory_mb
        state.free_ram_mb = h.memory_mb - h.memory_mb_used
        state.total_usable_disk_gb = h.local_gb
        state.disk_mb_used = h.local_gb_used * 1024
        state.free_disk_mb = h.free_disk_mb
        state.vcpus_total = h.vcpus
        state.vcpus_used = h.vcpus_used
        state.hypervisor_type = h.hypervisor_type
        state.hypervisor_version = h.hypervisor_version
        state.hypervisor_hostname = h.host
        state.cpu_info = json.dumps(h.cpu_info)
        state.supported_instances = [tuple(s) for s in h.supported_instances]
        state.stats = dict(h.capabilities)
        state.instances = dict.fromkeys(h.instances)
        state.ram_allocation_ratio = h.ram_allocation_ratio
        state.cpu_allocation_ratio = h.cpu_allocation_ratio
        state.disk_allocation_ratio = h.disk_allocation_ratio
        state.aggregates = [objects.Aggregate(id=1, name=h.zone, hosts=[h.host], metadata={"availability_zone": h.zone})]
        state.service = {"disabled": h.disabled, "disabled_reason": h.disabled_reason, "created_at": now, "last_seen_up": now}
        state.updated = now
        states.append(state)
    return states


def request_spec(spec: RequestSpec) -> objects.RequestSpec:
    """Nova's RequestSpec for novactl's (flavor, image, zone, group, retry hosts)."""
    flavor = spec.flavor
    nova_flavor = objects.Flavor(
        flavorid=flavor.id,
        name=flavor.name,
        memory_mb=flavor.ram,
        root_gb=flavor.disk,
        ephemeral_gb=flavor.ephemeral,
        swap=flavor.swap,
        vcpus=flavor.vcpus,
        extra_specs=dict(flavor.extra_specs),
    )
    image = objects.ImageMeta.from_dict({"properties": dict(spec.image.properties) if spec.image else {}})
    fields = {
        "flavor": nova_flavor,
        "image": image,
        "num_instances": 1,
        "availability_zone": spec.availability_zone,
        "scheduler_hints": {},
        "ignore_hosts": None,
        "force_hosts": None,
        "force_nodes": None,
        "instance_uuid": "11111111-2222-3333-4444-555555555555",
        "numa_topology": None,
        "pci_requests": None,
        "retry": None,
        "instance_group": None,
    }
    if spec.retry_hosts:
        tried = [objects.ComputeNode(host=name, hypervisor_hostname=name) for name in spec.retry_hosts]
        fields["retry"] = objects.SchedulerRetries(num_attempts=len(tried) + 1, hosts=objects.ComputeNodeList(objects=tried))
    group = spec.instance_group
    if group is not None:
        fields["instance_group"] = objects.InstanceGroup(
            policy=group.policy, policies=[group.policy], members=list(group.members), hosts=list(group.hosts), rules={}
        )
    return objects.RequestSpec(**fields)


def main() -> None:
    """Print the median ms of one request over --size hosts (what bench/scheduler.py reads)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--request", choices=["flavor", "full"], default="flavor")
    args = parser.parse_args()
    hosts = build_hosts(args.size, full=args.request == "full")
    scheduler = NovaScheduler(list(CONFIG.filters), list(CONFIG.weighers))
    states = host_states(hosts)
    times = []
    for _ in range(args.runs):
        spec_obj = request_spec(make_request(hosts, args.request == "full"))
        start = time.process_time()
        chosen = scheduler.select(states, spec_obj)
        times.append((time.process_time() - start) * 1000)
        assert chosen is not None
    print(f"{statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
