"""PciPassthroughFilter and the alias parsing behind it."""

import pytest

from novactl.errors import UsageError
from novactl.scheduler import pci
from novactl.scheduler.filters.pci_passthrough_filter import PciPassthroughFilter

from .conftest import config, flavor, host, spec

ALIASES = {"gpu": {"vendor_id": "10de", "product_id": "1db4"}, "nic": {"vendor_id": "8086", "product_id": "1520"}}


def dev(vendor="10de", product="1db4", address="0000:01:00.0", **extra):
    return {"vendor_id": vendor, "product_id": product, "address": address, **extra}


def request(alias_spec):
    return spec(flavor(extra_specs={pci.EXTRA_SPEC: alias_spec}))


@pytest.fixture
def filt():
    return PciPassthroughFilter(config(pci_alias=ALIASES))


def test_passes_without_pci_request(filt):
    assert not filt.applies(spec())
    assert filt.host_passes(host(), spec())


def test_passes_with_free_devices(filt):
    h = host(pci_devices=[dev(), dev(address="0000:02:00.0"), dev("8086", "1520")])
    assert filt.host_passes(h, request("gpu:2,nic:1"))


def test_used_devices_do_not_count(filt):
    h = host(pci_devices=[dev(), dev(address="0000:02:00.0", instance_uuid="busy")])
    assert not filt.host_passes(h, request("gpu:2"))
    assert filt.reason(h, request("gpu:2")) == "needs 2 × gpu (10de:1db4), 1 free"


def test_no_devices(filt):
    assert not filt.host_passes(host(), request("nic:1"))


def test_two_aliases_compete_for_the_same_devices():
    aliases = {"a": {"vendor_id": "10de"}, "b": {"vendor_id": "10de", "product_id": "1db4"}}
    filt = PciPassthroughFilter(config(pci_alias=aliases))
    h = host(pci_devices=[dev(), dev(address="0000:02:00.0")])
    assert filt.host_passes(h, request("a:1,b:1"))
    assert not filt.host_passes(h, request("a:2,b:1"))


@pytest.mark.parametrize("bad", ["gpu", "gpu:x", "gpu:0", "tpu:1"])
def test_malformed_or_undefined_alias_is_a_usage_error(filt, bad):
    with pytest.raises(UsageError):
        filt.applies(request(bad))


def test_claim_marks_devices_without_touching_the_node_list():
    devices = [dev(), dev(address="0000:02:00.0")]
    h = host(pci_devices=devices)
    pci.claim(h, pci.requests_for(flavor(extra_specs={pci.EXTRA_SPEC: "gpu:1"}), ALIASES), "vm-1")
    assert [d.get("instance_uuid") for d in h.pci_devices] == ["vm-1", None]
    assert "instance_uuid" not in devices[0]
