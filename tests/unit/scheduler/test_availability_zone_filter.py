"""AvailabilityZoneFilter, with Nova's unit-test cases."""

from novactl.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter

from .conftest import config, host, spec


def test_same_zone():
    assert AvailabilityZoneFilter(config()).host_passes(host(zone="nova"), spec(availability_zone="nova"))


def test_different_zone():
    filt = AvailabilityZoneFilter(config())
    assert not filt.host_passes(host(zone="nova"), spec(availability_zone="bad"))
    assert filt.reason(host(zone="nova"), spec(availability_zone="bad")) == "in availability zone 'nova', requested 'bad'"


def test_no_zone_requested():
    filt = AvailabilityZoneFilter(config())
    assert not filt.applies(spec())
    assert filt.host_passes(host(zone="az9"), spec())
