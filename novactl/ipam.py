"""Neutron's subnet fields on a network, checked: the groundwork of fixed IPs.

Pure: no host. `subnet_problem` is what the inventory refuses at load (exit 2); `Subnet` holds the
checked values with Neutron's defaults (gateway: the first host address; allocation pool: every host
address but the gateway). The allocation itself, under one lock for the whole cluster, is designed in
ARCHITECTURE.md ("Fixed IPs") and not built yet.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass

from novactl.models import Network


@dataclass(frozen=True)
class Subnet:
    network: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None
    pools: tuple[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address], ...]
    dns_nameservers: tuple[str, ...]
    mtu: int | None


def subnet_problem(network: dict) -> str | None:
    """What is wrong with a network's subnet fields as the inventory gives them, or None."""
    try:
        subnet(network)
    except ValueError as exc:
        return str(exc)
    return None


def subnet(network: dict | Network) -> Subnet:
    """The checked subnet of a network (raw inventory dict or model); ValueError says what is wrong."""
    get = network.get if isinstance(network, dict) else lambda key, default=None: getattr(network, key, default)
    cidr = get("cidr")
    if cidr is None:
        raise ValueError("no cidr")
    try:
        net = ipaddress.IPv4Network(cidr)  # strict: host bits set is a typo worth refusing
    except ValueError as exc:
        raise ValueError(f"cidr {cidr!r} is not an IPv4 network: {exc}") from None
    if net.num_addresses < 4:
        raise ValueError(f"cidr {cidr} is too small for a gateway and guests (at most /30)")
    gateway = _address(get("gateway_ip") or str(net.network_address + 1), "gateway_ip")  # Neutron's default: first host
    if gateway is not None and (gateway not in net or gateway in (net.network_address, net.broadcast_address)):
        raise ValueError(f"gateway_ip {gateway} is not a host address of {net}")
    pools = []
    raw_pools = get("allocation_pools") or [{"start": str(net.network_address + 1), "end": str(net.broadcast_address - 1)}]
    for raw in raw_pools:
        start, end = _address(raw["start"], "allocation_pools start"), _address(raw["end"], "allocation_pools end")
        for point in (start, end):
            if point not in net or point in (net.network_address, net.broadcast_address):
                raise ValueError(f"allocation pool {start}-{end} is not inside {net}'s host addresses")
        if start > end:
            raise ValueError(f"allocation pool {start}-{end} ends before it starts")
        pools.append((start, end))
    pools.sort()
    for (_, first_end), (second_start, _) in itertools.pairwise(pools):
        if second_start <= first_end:
            raise ValueError(f"allocation pools overlap at {second_start}")
    if gateway is not None and get("allocation_pools") and any(start <= gateway <= end for start, end in pools):
        raise ValueError(f"gateway_ip {gateway} is inside an allocation pool")
    if not get("allocation_pools") and gateway is not None:
        pools = _without(pools, gateway)  # Neutron's default pool leaves the gateway out
    dns = tuple(str(_address(server, "dns_nameservers")) for server in get("dns_nameservers") or ())
    return Subnet(net, gateway, tuple(pools), dns, get("mtu"))


def _address(text: object, what: str) -> ipaddress.IPv4Address | None:
    if text is None:
        return None
    try:
        return ipaddress.IPv4Address(str(text))
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an IPv4 address") from None


def _without(pools: list, address: ipaddress.IPv4Address) -> list:
    result = []
    for start, end in pools:
        if start <= address <= end:
            if start < address:
                result.append((start, address - 1))
            if address < end:
                result.append((address + 1, end))
        else:
            result.append((start, end))
    return result
