"""CoreFilter, with Nova's unit-test cases."""

import pytest

from novactl.scheduler.filters.core_filter import CoreFilter

from .conftest import config, flavor, host, instance, spec


@pytest.fixture
def filt():
    return CoreFilter(config())


def _host(total, used, ratio):
    return host(vcpus=total, cpu_allocation_ratio=ratio, instances=[instance("host1", flavor(vcpus=1)) for _ in range(used)])


def test_passes(filt):
    h = _host(4, 7, 2)
    assert filt.host_passes(h, spec(flavor(vcpus=1)))
    assert h.limits["vcpu"] == 8


def test_fails_safe_without_vcpus(filt):
    h = _host(0, 0, 16)
    assert filt.host_passes(h, spec(flavor(vcpus=1)))
    assert "vcpu" not in h.limits


def test_fails(filt):
    h = _host(4, 8, 2)
    assert not filt.host_passes(h, spec(flavor(vcpus=1)))
    assert h.limits["vcpu"] == 8  # recorded even on rejection, as Nova did
    assert filt.reason(h, spec(flavor(vcpus=1))) == "needs 1 vCPU, usable 0 (total 4 × 2 − used 8)"


def test_single_instance_overcommit_fails(filt):
    h = _host(1, 0, 2)
    assert not filt.host_passes(h, spec(flavor(vcpus=2)))
    assert "only 1 physical vCPU" in filt.reason(h, spec(flavor(vcpus=2)))
