"""Neutron's subnet fields on a network, checked, and the pure part of fixed-IP allocation.

Pure: no host. `subnet_problem` is what the inventory refuses at load (exit 2); `Subnet` holds the
checked values with Neutron's defaults (gateway: the first host address; allocation pool: every host
address but the gateway); `lowest_free` picks an address as Neutron's IPAM does. The allocation
under one lock for the whole cluster is fixed_ips.py (ARCHITECTURE.md, "Fixed IPs").
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from novactl.errors import EXIT_FAILED, NovactlError
from novactl.models import Network


@dataclass(frozen=True)
class Subnet:
    network: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None
    pools: tuple[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address], ...]
    dns_nameservers: tuple[str, ...]
    mtu: int | None

    @property
    def netmask(self) -> str:
        return str(self.network.netmask)

    def addresses(self) -> Iterator[ipaddress.IPv4Address]:
        """Every pool address, lowest first (pools are sorted and disjoint)."""
        for start, end in self.pools:
            yield from (ipaddress.IPv4Address(n) for n in range(int(start), int(end) + 1))

    def size(self) -> int:
        return sum(int(end) - int(start) + 1 for start, end in self.pools)

    def contains(self, address: str) -> bool:
        """Whether `address` (text, perhaps read from a host) is one of the pool's addresses."""
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            return False
        return any(start <= ip <= end for start, end in self.pools)


def lowest_free(subnet: Subnet, used: Iterable[str], count: int = 1) -> list[str]:
    """The `count` lowest pool addresses not in `used` (fewer when the pool runs out), as Neutron's
    IPAM hands them out; never the network, broadcast or gateway address (the pools exclude them)."""
    taken = set(used)
    free = (str(ip) for ip in subnet.addresses() if str(ip) not in taken)
    return list(itertools.islice(free, count))


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


class LeaseTaken(NovactlError):
    """The instance's pending lease is gone or names another instance when its domain is defined: it was
    reclaimed while the builder lock behind it was lost (the remote shell holding it ended), and the
    address may be in use twice. The build fails and is undone (exit 1); no host was at fault, so
    nothing reschedules with that address."""

    exit_code = EXIT_FAILED

    def __init__(self, network: str, address: str, holder: str | None):
        now = f"leased to instance {holder}" if holder else "no longer leased"
        lost = "this boot's lease was reclaimed while its builder lock was lost"
        super().__init__(f"fixed IP {address} on network {network} is {now}: {lost}")


class NoMoreAddresses(NovactlError):
    """Neutron's IpAddressGenerationFailure: the pool has no free address (exit 1: the boot failed,
    as it does in Nova when the port cannot be made; no host was at fault, so nothing reschedules)."""

    exit_code = EXIT_FAILED

    def __init__(self, network: str, wanted: int, free: int):
        more = f" ({wanted} wanted, {free} free)" if wanted > 1 else ""
        super().__init__(f"No more IP addresses available on network {network}{more}.")


PENDING, BOUND = "pending", "bound"


@dataclass(frozen=True)
class Lease:
    """One allocated address, as `ipam/<network>/<address>.json` on the network's allocating host."""

    address: str
    instance: str  # the instance's uuid
    host: str  # where it was being built (informational: moves do not update it)
    state: str  # PENDING until the instance's domain is defined, then BOUND
    builder: str | None  # the allocating process's builder token on the allocating host
    expires: float | None  # a pending lease's backstop (the claim TTL); None once bound

    def record(self) -> dict:
        return {
            "address": self.address,
            "instance": self.instance,
            "host": self.host,
            "state": self.state,
            "builder": self.builder,
            "expires": self.expires,
        }


def reclaimable(lease: Lease, live_builders: set[str], holders: set[str], now: float) -> bool:
    """Whether nobody can be using the lease's address any more. `holders` are the instance uuids of
    every domain, live claim and instance directory on every host, surveyed after the lease was read,
    under the IPAM lock.

    Kept: an instance some host holds (its metadata carries the address); a lease whose builder lives
    (a boot between lease and define); a pending lease with no builder until it expires.
    """
    if lease.instance in holders or (lease.builder is not None and lease.builder in live_builders):
        return False
    return not (lease.builder is None and lease.state == PENDING and (lease.expires or 0) > now)
