"""DiskFilter, with Nova's unit-test cases (requested = (root + ephemeral) × 1024 + swap MB)."""

import pytest

from novactl.scheduler.filters.disk_filter import DiskFilter

from .conftest import config, flavor, host, spec


@pytest.fixture
def filt():
    return DiskFilter(config())


def _host(free_gb, total_gb, ratio, **kwargs):
    return host(local_gb=total_gb, reserved_disk_mb=(total_gb - free_gb) * 1024, disk_allocation_ratio=ratio, **kwargs)


def test_passes(filt):
    assert filt.host_passes(_host(11, 13, 1.0), spec(flavor(disk=1, ephemeral=1, swap=512)))


def test_fails(filt):
    assert not filt.host_passes(_host(11, 13, 1.0), spec(flavor(disk=10, ephemeral=1, swap=1024)))


def test_oversubscribe(filt):
    h = _host(1, 12, 10.0)
    assert filt.host_passes(h, spec(flavor(disk=3, ephemeral=3, swap=1024)))
    assert h.limits["disk_gb"] == 12 * 10.0


def test_oversubscribe_single_instance_fails(filt):
    assert not filt.host_passes(_host(11, 12, 10.0), spec(flavor(disk=10, ephemeral=2, swap=1024)))


def test_oversubscribe_fail(filt):
    assert not filt.host_passes(_host(11, 12, 10.0), spec(flavor(disk=100, ephemeral=19, swap=1024)))


def test_disk_available_least_counts_as_used(filt):
    h = _host(11, 13, 1.0, disk_available_least=2)
    request = spec(flavor(disk=3))
    assert not filt.host_passes(h, request)
    assert "disk_available_least 2 GB" in filt.reason(h, request)


def test_reason_shows_the_parts(filt):
    h = _host(1, 10, 1.0)
    why = filt.reason(h, spec(flavor(disk=2, ephemeral=1, swap=512)))
    assert why == "needs 3584 MB (root 2 GB + ephemeral 1 GB + swap 512 MB), usable 1024 MB (total 10240 MB × 1 − used 9216 MB)"
