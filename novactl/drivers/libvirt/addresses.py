"""A guest's IPv4 addresses as its host learns them: libvirt's DHCP leases, else the host's ARP table.

For networks without a fixed IP (no cidr): a libvirt-managed network's dnsmasq knows the lease of
each MAC; on a plain bridge the host's neighbour table may know the guest once they have talked. What
libvirt reports was written by the guest (its DHCP request, its ARP replies), so every address is
checked like user input and only MACs of this instance are believed.
"""

from __future__ import annotations

import ipaddress
import logging

import libvirt

from novactl.drivers.libvirt import guest
from novactl.drivers.libvirt.host import Host
from novactl.hoststate import InstanceInfo

LOG = logging.getLogger("novactl.virt.libvirt.addresses")
SOURCES = (
    ("lease", libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE),
    ("arp", libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP),
)


def learned(host: Host, instance: InstanceInfo) -> dict[str, list[str]]:
    """{network name: [IPv4 address, ...]} of a running guest; {} when it is not running or nothing is known.

    Callers ask only for guests the poll found running; a guest stopped since then has no interface
    addresses (libvirt refuses), so no isActive round trip is spent per guest to tell.
    """
    domain = guest.find(host, instance.uuid)
    if domain is None:
        return {}
    networks = {mac.lower(): network for network, macs in instance.networks.items() for mac in macs}
    for source, flag in SOURCES:
        try:
            interfaces = domain.interfaceAddresses(flag, 0)
        except libvirt.libvirtError as exc:  # e.g. no lease source for a bridge interface
            LOG.debug("[instance: %s] no %s addresses on %s: %s", instance.uuid, source, host.name, exc.get_error_message())
            continue
        found = from_interfaces(interfaces, networks)
        if found:
            LOG.debug("[instance: %s] addresses from %s on %s: %s", instance.uuid, source, host.name, found)
            return found
    return {}


def from_interfaces(interfaces: object, networks: dict[str, str]) -> dict[str, list[str]]:
    """The IPv4 unicast addresses of `interfaceAddresses`' answer whose MAC is in `networks` (MAC -> network)."""
    found: dict[str, list[str]] = {}
    if not isinstance(interfaces, dict):
        return found
    for interface in interfaces.values():
        if not isinstance(interface, dict):
            continue
        network = networks.get(str(interface.get("hwaddr") or "").lower())
        addresses = interface.get("addrs")
        if network is None or not isinstance(addresses, list):
            continue
        for entry in addresses:
            address = _unicast_ipv4(entry.get("addr") if isinstance(entry, dict) else None)
            if address and address not in found.get(network, []):
                found.setdefault(network, []).append(address)
    return found


def _unicast_ipv4(text: object) -> str | None:
    if not isinstance(text, str) or len(text) > 15:
        return None
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return None
    if address.is_unspecified or address.is_multicast or address.is_loopback or address.is_reserved:  # 240/4 holds broadcast
        return None
    return str(address)
