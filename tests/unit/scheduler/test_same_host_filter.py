"""SameHostFilter, with Nova's unit-test cases."""

from novactl.scheduler.filters.same_host_filter import SameHostFilter

from .conftest import config, host, instance, spec


def test_passes_with_one_of_the_instances():
    h = host("host1", instances=[instance("host1", uuid="u1")])
    assert SameHostFilter(config()).host_passes(h, spec(scheduler_hints={"same_host": ["u1", "u2"]}))


def test_fails_without_them():
    filt = SameHostFilter(config())
    h = host("host1", instances=[instance("host1", uuid="u9")])
    request = spec(scheduler_hints={"same_host": ["u1"]})
    assert not filt.host_passes(h, request)
    assert filt.reason(h, request) == "runs none of the same_host instances u1"


def test_no_hint():
    filt = SameHostFilter(config())
    assert not filt.applies(spec())
    assert filt.host_passes(host("host1"), spec())
