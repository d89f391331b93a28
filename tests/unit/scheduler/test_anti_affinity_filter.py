"""ServerGroupAntiAffinityFilter, with Nova's unit-test cases."""

from novactl.scheduler.filters.anti_affinity_filter import ServerGroupAntiAffinityFilter

from .conftest import config, group, host, instance, spec


def test_passes():
    filt = ServerGroupAntiAffinityFilter(config())
    h = host("host1")
    assert filt.host_passes(h, spec())
    assert filt.host_passes(h, spec(instance_group=group("affinity", hosts=["host1"])))
    assert filt.host_passes(h, spec(instance_group=group("anti-affinity")))
    assert filt.host_passes(h, spec(instance_group=group("anti-affinity", hosts=["host2"])))


def test_fails():
    filt = ServerGroupAntiAffinityFilter(config())
    request = spec(instance_group=group("anti-affinity", hosts=["host1"]))
    assert filt.applies(request)
    assert not filt.host_passes(host("host1"), request)
    assert filt.reason(host("host1"), request) == "server group 'g1' (anti-affinity) already has a member on this host"


def test_allows_a_moving_instance_to_stay():
    member = instance("host1", uuid="moving")
    request = spec(instance_group=group("anti-affinity", hosts=["host1", "host2"]), instance_uuid="moving")
    assert ServerGroupAntiAffinityFilter(config()).host_passes(host("host1", instances=[member]), request)


def test_soft_policy_is_not_enforced():
    request = spec(instance_group=group("soft-anti-affinity", hosts=["host1"]))
    assert ServerGroupAntiAffinityFilter(config()).host_passes(host("host1"), request)
