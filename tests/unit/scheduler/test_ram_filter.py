"""RamFilter, with Nova's unit-test cases."""

import pytest

from novactl.scheduler.filters.ram_filter import RamFilter

from .conftest import config, flavor, host, spec


@pytest.fixture
def filt():
    return RamFilter(config())


def test_fails_on_memory(filt):
    h = host(memory_mb=1024, ram_allocation_ratio=1.0, reserved_memory_mb=1)  # free 1023
    assert not filt.host_passes(h, spec(flavor(ram=1024)))


def test_passes(filt):
    h = host(memory_mb=1024, ram_allocation_ratio=1.0)
    assert filt.host_passes(h, spec(flavor(ram=1024)))
    assert h.limits["memory_mb"] == 1024


def test_oversubscribe(filt):
    h = host(memory_mb=2048, ram_allocation_ratio=2.0, reserved_memory_mb=2048 + 1024)  # free -1024
    assert filt.host_passes(h, spec(flavor(ram=1024)))
    assert h.limits["memory_mb"] == 2048 * 2.0


def test_oversubscribe_single_instance_fails(filt):
    h = host(memory_mb=512, ram_allocation_ratio=2.0)
    assert not filt.host_passes(h, spec(flavor(ram=1024)))
    assert "no overcommit against itself" in filt.reason(h, spec(flavor(ram=1024)))
    assert "memory_mb" not in h.limits


def test_reason_gives_the_numbers(filt):
    h = host(memory_mb=16384, ram_allocation_ratio=1.5, reserved_memory_mb=21142)
    assert not filt.host_passes(h, spec(flavor(ram=4096)))
    assert filt.reason(h, spec(flavor(ram=4096))) == "needs 4096 MB, usable 3434 MB (total 16384 MB × 1.5 − used 21142 MB)"


def test_batch_path_agrees_and_leaves_limits_alone(filt):
    hosts = [host(memory_mb=m) for m in (512, 1024, 4096)]
    assert filt.passes_all(hosts, spec(flavor(ram=1024))) == [False, True, True]
    assert all(not h.limits for h in hosts)
