"""ComputeFilter: up and enabled only; the reason says which and why."""

from novactl.scheduler.filters.compute_filter import ComputeFilter

from .conftest import config, host, spec


def test_manual_disable():
    h = host(disabled=True, disabled_reason="maintenance")
    filt = ComputeFilter(config())
    assert not filt.host_passes(h, spec())
    assert "maintenance" in filt.reason(h, spec())


def test_up_and_enabled_passes():
    assert ComputeFilter(config()).host_passes(host(), spec())


def test_down_fails():
    h = host(up=False, down_reason="ssh: connection refused")
    filt = ComputeFilter(config())
    assert not filt.host_passes(h, spec())
    assert "connection refused" in filt.reason(h, spec())


def test_runs_once_per_request():
    filt = ComputeFilter(config())
    assert filt.run_for_index(0) and not filt.run_for_index(1)
