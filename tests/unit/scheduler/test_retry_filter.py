"""RetryFilter, with Nova's unit-test cases."""

from novactl.scheduler.filters.retry_filter import RetryFilter

from .conftest import config, host, spec


def test_disabled_without_retry_hosts():
    filt = RetryFilter(config())
    assert not filt.applies(spec())
    assert filt.host_passes(host("host1"), spec())


def test_pass_when_not_tried():
    assert RetryFilter(config()).host_passes(host("host1"), spec(retry_hosts=["host2", "host3"]))


def test_fail_when_tried():
    filt = RetryFilter(config())
    request = spec(retry_hosts=["host1"])
    assert filt.applies(request)
    assert not filt.host_passes(host("host1"), request)
    assert "host1" in filt.reason(host("host1"), request)
