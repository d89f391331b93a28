"""DifferentHostFilter, with Nova's unit-test cases."""

from novactl.scheduler.filters.different_host_filter import DifferentHostFilter

from .conftest import config, host, instance, spec


def test_passes_without_them():
    h = host("host1", instances=[instance("host1", uuid="u9")])
    assert DifferentHostFilter(config()).host_passes(h, spec(scheduler_hints={"different_host": ["u1", "u2"]}))


def test_fails_with_one_of_them():
    filt = DifferentHostFilter(config())
    h = host("host1", instances=[instance("host1", uuid="u2")])
    request = spec(scheduler_hints={"different_host": ["u1", "u2"]})
    assert not filt.host_passes(h, request)
    assert filt.reason(h, request) == "runs different_host instance(s) u2"


def test_no_hint():
    filt = DifferentHostFilter(config())
    assert not filt.applies(spec())
    assert filt.host_passes(host("host1", instances=[instance("host1")]), spec())
