"""Subnet fields checked at load (exit 2, FILE:LINE), Neutron's defaults, the lowest free address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from novactl import ipam
from novactl.errors import InventoryError
from novactl.inventory import load_inventory

HOSTS = "hosts: [{name: h1, driver: fake}]\n"


def test_neutron_defaults_gateway_first_host_pool_the_rest() -> None:
    subnet = ipam.subnet({"cidr": "10.0.0.0/29"})
    assert str(subnet.gateway) == "10.0.0.1"
    assert [(str(a), str(b)) for a, b in subnet.pools] == [("10.0.0.2", "10.0.0.6")]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ("cidr: 10.0.0.1/24", "has host bits set"),
        ("cidr: 10.0.0.0/33", "not an IPv4 network"),
        ("cidr: fd00::/64", "not an IPv4 network"),
        ("cidr: 10.0.0.0/24, gateway_ip: 10.0.1.1", "gateway_ip 10.0.1.1 is not a host address of 10.0.0.0/24"),
        ("cidr: 10.0.0.0/24, allocation_pools: [{start: 10.0.0.10, end: 10.0.1.5}]", "not inside 10.0.0.0/24"),
        ("cidr: 10.0.0.0/24, allocation_pools: [{start: 10.0.0.10, end: 10.0.0.5}]", "ends before it starts"),
        ("cidr: 10.0.0.0/24, allocation_pools: [{start: 10.0.0.1, end: 10.0.0.5}]", "gateway_ip 10.0.0.1 is inside an allocation pool"),
        (
            "cidr: 10.0.0.0/24, allocation_pools: [{start: 10.0.0.10, end: 10.0.0.20}, {start: 10.0.0.20, end: 10.0.0.30}]",
            "allocation pools overlap at 10.0.0.20",
        ),
        ("cidr: 10.0.0.0/24, dns_nameservers: [dns.example]", "dns_nameservers 'dns.example' is not an IPv4 address"),
        ("gateway_ip: 10.0.0.1", "subnet fields need a cidr"),
    ],
)
def test_bad_subnets_are_refused_at_load_with_their_line(tmp_path, fields: str, words: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(HOSTS + "networks:\n  - {name: lan, bridge: br-lan, " + fields + "}\n")
    with pytest.raises(InventoryError, match=r"inventory.yaml:3:\d+: network 'lan': ") as caught:
        load_inventory(str(path))
    assert words in str(caught.value)


def test_a_good_subnet_loads(tmp_path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        HOSTS + "networks:\n  - name: lan\n    bridge: br-lan\n    cidr: 192.168.50.0/24\n    gateway_ip: 192.168.50.254\n"
        "    dns_nameservers: [192.168.50.254]\n    allocation_pools: [{start: 192.168.50.100, end: 192.168.50.109}]\n    mtu: 1450\n"
    )
    network = load_inventory(str(path)).network("lan")
    subnet = ipam.subnet(network)
    assert [(str(a), str(b)) for a, b in subnet.pools] == [("192.168.50.100", "192.168.50.109")]
    assert (str(subnet.gateway), subnet.dns_nameservers, subnet.mtu) == ("192.168.50.254", ("192.168.50.254",), 1450)


@given(st.integers(min_value=8, max_value=30), st.integers(min_value=0, max_value=2**24))
def test_default_pools_hold_every_host_address_but_the_gateway(prefix: int, offset: int) -> None:
    subnet = ipam.subnet({"cidr": f"10.0.0.0/{prefix}"})
    address = subnet.network.network_address + offset % subnet.network.num_addresses
    in_pool = any(start <= address <= end for start, end in subnet.pools)
    special = address in (subnet.network.network_address, subnet.network.broadcast_address, subnet.gateway)
    assert in_pool != special
