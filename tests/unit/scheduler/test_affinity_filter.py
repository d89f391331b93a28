"""ServerGroupAffinityFilter, with Nova's unit-test cases."""

from novactl.scheduler.filters.affinity_filter import ServerGroupAffinityFilter

from .conftest import config, group, host, spec


def test_passes():
    filt = ServerGroupAffinityFilter(config())
    h = host("host1")
    assert filt.host_passes(h, spec())
    assert filt.host_passes(h, spec(instance_group=group("anti-affinity", hosts=["host2"])))
    assert filt.host_passes(h, spec(instance_group=group("affinity", hosts=["host1"])))
    assert filt.host_passes(h, spec(instance_group=group("affinity")))  # first member may go anywhere


def test_fails():
    filt = ServerGroupAffinityFilter(config())
    request = spec(instance_group=group("affinity", hosts=["host2"]))
    assert not filt.host_passes(host("host1"), request)
    assert filt.reason(host("host1"), request) == "server group 'g1' (affinity) has its members on host2"


def test_soft_policy_is_not_enforced():
    assert ServerGroupAffinityFilter(config()).host_passes(host("host1"), spec(instance_group=group("soft-affinity", hosts=["host2"])))
