"""Properties over random clusters and requests (hypothesis)."""

import copy
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.models import DEFAULT_FILTERS
from novactl.scheduler.capacity import capacity
from novactl.scheduler.request import InstanceGroup
from novactl.scheduler.scheduler import Scheduler

from .conftest import config, flavor, host, instance, spec

FILTERS = [*DEFAULT_FILTERS, "CoreFilter", "SameHostFilter", "DifferentHostFilter"]


@st.composite
def clusters(draw):
    hosts = []
    for i in range(draw(st.integers(1, 6))):
        name = f"h{i}"
        instances = [
            instance(
                name,
                flavor(ram=draw(st.sampled_from([256, 1024, 2048])), disk=draw(st.integers(0, 5)), vcpus=draw(st.integers(1, 4))),
                uuid=f"{name}-{j}",
            )
            for j in range(draw(st.integers(0, 3)))
        ]
        hosts.append(
            host(
                name,
                memory_mb=draw(st.sampled_from([1024, 2048, 4096, 8192])),
                vcpus=draw(st.integers(0, 8)),
                local_gb=draw(st.integers(1, 30)),
                zone=draw(st.sampled_from(["nova", "az2"])),
                instances=instances,
                reserved_memory_mb=draw(st.sampled_from([0, 512])),
                disabled=draw(st.booleans()),
                ram_allocation_ratio=draw(st.sampled_from([1.0, 1.5])),
                cpu_allocation_ratio=draw(st.sampled_from([1.0, 4.0])),
                disk_allocation_ratio=draw(st.sampled_from([1.0, 2.0])),
            )
        )
    return hosts


@st.composite
def requests(draw, hosts, policies=(None, "affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")):
    policy = draw(st.sampled_from(policies))
    group = None
    if policy:
        group = InstanceGroup("g", policy, hosts=draw(st.lists(st.sampled_from([h.host for h in hosts]), max_size=2)))
    return spec(
        flavor(
            ram=draw(st.sampled_from([256, 512, 1024, 3072])),
            disk=draw(st.integers(0, 6)),
            vcpus=draw(st.integers(1, 3)),
            swap=draw(st.sampled_from([0, 512])),
        ),
        num_instances=draw(st.integers(1, 5)),
        availability_zone=draw(st.sampled_from([None, "nova"])),
        instance_group=group,
        retry_hosts=draw(st.lists(st.sampled_from([h.host for h in hosts]), max_size=1)),
    )


@st.composite
def scenarios(draw, **kwargs):
    hosts = draw(clusters())
    return hosts, draw(requests(hosts, **kwargs)), draw(st.integers(1, 3))


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_chosen_host_passes_every_enabled_filter(scenario, rng):
    hosts, request, subset = scenario
    scheduler = Scheduler(config(filters=FILTERS, host_subset_size=subset))
    before = {h.host: copy.deepcopy(h) for h in hosts}
    single = copy.deepcopy(request)
    single.num_instances = 1
    result = scheduler.select(hosts, single, rng=rng)
    passing = sorted(name for name, state in before.items() if all(f.host_passes(state, request) for f in scheduler.filters))
    # Either way something is checked: no choice only when no host passes, else a passing host.
    if result.chosen is None:
        assert passing == []
    else:
        assert result.chosen in passing


@settings(max_examples=150, deadline=None)
@given(scenarios(policies=("anti-affinity",)), st.randoms(use_true_random=False))
def test_anti_affinity_never_doubles_up(scenario, rng):
    hosts, request, subset = scenario
    existing = list(request.instance_group.hosts)
    result = Scheduler(config(filters=FILTERS, host_subset_size=subset)).select(hosts, request, rng=rng)
    assert len(set(result.selections)) == len(result.selections)
    assert not set(result.selections) & set(existing)


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(0, 2**32))
def test_capacity_equals_successive_placements(scenario, seed):
    hosts, request, subset = scenario
    scheduler = Scheduler(config(filters=FILTERS, host_subset_size=subset))
    request.num_instances = 1
    report = capacity(scheduler, hosts, request, rng=random.Random(seed))
    placed, rng = 0, random.Random(seed)
    while scheduler.select(hosts, request, rng=rng).chosen is not None:
        placed += 1
        assert placed <= 10_000
    assert placed == report.total
