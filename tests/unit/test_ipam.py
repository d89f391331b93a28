"""Subnet fields checked at load (exit 2, FILE:LINE), Neutron's defaults, the lowest free address."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
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


# -- the allocator's pure part -------------------------------------------------------------------------


@st.composite
def subnets(draw) -> ipam.Subnet:
    """A /20 (its pool crosses third-octet boundaries) or a /24../30, with the default pool or one pool
    inside it. Not larger: the test lists the whole pool, and a /16's 65,534 addresses cost seconds."""
    prefix = draw(st.integers(min_value=20, max_value=30))
    if prefix <= 20:
        cidr = f"10.{draw(st.integers(0, 255))}.{16 * draw(st.integers(0, 15))}.0/20"
    else:
        cidr = f"10.0.{draw(st.integers(0, 255))}.0/{max(prefix, 24)}"
    net = ipaddress.IPv4Network(cidr)
    fields: dict = {"cidr": cidr}
    if draw(st.booleans()) and net.num_addresses >= 8:
        hosts = int(net.num_addresses) - 2
        a, b = sorted(draw(st.lists(st.integers(2, hosts), min_size=2, max_size=2)))
        fields["allocation_pools"] = [{"start": str(net.network_address + a), "end": str(net.network_address + b)}]
    return ipam.subnet(fields)


@settings(max_examples=200, deadline=None)
@given(subnets(), st.data())
def test_lowest_free_is_the_lowest_pool_address_nobody_uses_never_network_broadcast_or_gateway(subnet, data) -> None:
    pool = [str(ip) for ip in subnet.addresses()]
    used = set(data.draw(st.lists(st.sampled_from(pool), max_size=min(len(pool), 40))))
    count = data.draw(st.integers(1, 5))
    picked = ipam.lowest_free(subnet, used, count)
    expected = [ip for ip in pool if ip not in used][:count]
    assert picked == expected
    specials = {str(subnet.network.network_address), str(subnet.network.broadcast_address), str(subnet.gateway)}
    assert not specials & set(picked) and not used & set(picked)
    assert len(pool) == subnet.size() and all(subnet.contains(ip) for ip in picked)


def test_pool_arithmetic_two_pools_in_order() -> None:
    subnet = ipam.subnet(
        {
            "cidr": "10.0.0.0/24",
            "allocation_pools": [{"start": "10.0.0.50", "end": "10.0.0.51"}, {"start": "10.0.0.10", "end": "10.0.0.11"}],
        }
    )
    assert [str(ip) for ip in subnet.addresses()] == ["10.0.0.10", "10.0.0.11", "10.0.0.50", "10.0.0.51"]
    assert ipam.lowest_free(subnet, {"10.0.0.10", "10.0.0.50"}, 3) == ["10.0.0.11", "10.0.0.51"]
    assert ipam.lowest_free(subnet, {"10.0.0.10", "10.0.0.11", "10.0.0.50", "10.0.0.51"}) == []
    assert (subnet.netmask, subnet.contains("10.0.0.12"), subnet.contains("010.0.0.10"), subnet.contains("x")) == (
        "255.255.255.0",
        False,
        False,
        False,
    )


def test_reclaimable_only_when_nobody_can_hold_the_address() -> None:
    uuid = "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e"
    lease = ipam.Lease("10.0.0.2", uuid, "h1", ipam.PENDING, "0123456789abcdef", 2000.0)
    assert not ipam.reclaimable(lease, {"0123456789abcdef"}, set(), 1000.0)  # its boot still runs
    assert not ipam.reclaimable(lease, set(), {uuid}, 3000.0)  # a domain or live claim holds it
    assert ipam.reclaimable(lease, set(), set(), 1000.0)  # dead builder, no holder: a crash before define
    orphan = ipam.Lease("10.0.0.2", uuid, "h1", ipam.PENDING, None, 2000.0)
    assert not ipam.reclaimable(orphan, set(), set(), 1000.0) and ipam.reclaimable(orphan, set(), set(), 3000.0)


def test_an_ipam_host_that_is_not_in_the_inventory_is_refused_at_load(tmp_path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(HOSTS + "networks:\n  - {name: lan, bridge: br-lan, cidr: 10.0.0.0/24, ipam_host: h2}\n")
    with pytest.raises(InventoryError, match=r"inventory.yaml:3:\d+: ipam_host 'h2' is not a host of the inventory"):
        load_inventory(str(path))
