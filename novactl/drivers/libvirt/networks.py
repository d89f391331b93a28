"""libvirt-managed networks (a network's `libvirt_network`): NAT with dnsmasq's DHCP, as libvirt's own
`default` network, defined by novactl on a host that lacks it.

A missing network gets the first 192.168.N.0/24 (N from 122, libvirt's default) that overlaps no
other libvirt network and no route of the host, its .1 on the bridge and DHCP for .2-.254; with a
`cidr` (fixed IPs) it gets that subnet and its gateway, and no DHCP range. It is started and marked
autostart, and stays when the last guest goes, as libvirt's default network does.
"""

from __future__ import annotations

import ipaddress
import logging
import xml.etree.ElementTree as ET

import libvirt

from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError
from novactl.models import Network

LOG = logging.getLogger("novactl.virt.libvirt.networks")
FIRST_SUBNET = 122  # 192.168.122.0/24, as libvirt's default network


@host_errors
def ensure(host: Host, network: Network) -> None:
    """The network defined, active and autostarted on the host."""
    name = network.libvirt_network
    assert name
    conn = host.libvirt
    try:
        net = conn.networkLookupByName(name)
    except libvirt.libvirtError:
        net = _define(host, network)
    if not net.isActive():
        try:
            net.create()
        except libvirt.libvirtError:
            if not net.isActive():  # another boot may have started it meanwhile
                raise
    if not net.autostart():
        net.setAutostart(1)


def _define(host: Host, network: Network) -> libvirt.virNetwork:
    subnet, gateway, dhcp = _addressing(host, network)
    xml = network_xml(network, subnet, gateway, dhcp)
    try:
        net = host.libvirt.networkDefineXML(xml)
    except libvirt.libvirtError:
        return host.libvirt.networkLookupByName(network.libvirt_network)  # defined by a racing boot; else this raises
    LOG.info("Defined libvirt network %s (%s, NAT, DHCP %s) on %s", network.libvirt_network, subnet, "on" if dhcp else "off", host.name)
    return net


def network_xml(network: Network, subnet: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address, dhcp: bool) -> str:
    root = ET.Element("network")
    ET.SubElement(root, "name").text = network.libvirt_network
    ET.SubElement(root, "forward", mode="nat")
    if network.bridge:
        ET.SubElement(root, "bridge", name=network.bridge, stp="on", delay="0")
    if network.mtu:
        ET.SubElement(root, "mtu", size=str(network.mtu))
    ip = ET.SubElement(root, "ip", address=str(gateway), netmask=str(subnet.netmask))
    if dhcp:
        hosts = [a for a in subnet.hosts() if a != gateway]
        ET.SubElement(ET.SubElement(ip, "dhcp"), "range", start=str(hosts[0]), end=str(hosts[-1]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _addressing(host: Host, network: Network) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Address, bool]:
    """(subnet, the host's address on it, whether dnsmasq hands out addresses)."""
    if network.cidr:
        subnet = ipaddress.IPv4Network(network.cidr)
        gateway = ipaddress.IPv4Address(network.gateway_ip) if network.gateway_ip else next(subnet.hosts())
        return subnet, gateway, False
    taken = _libvirt_subnets(host) + _routed_subnets(host)
    for third in range(FIRST_SUBNET, 255):
        subnet = ipaddress.IPv4Network(f"192.168.{third}.0/24")
        if not any(subnet.overlaps(other) for other in taken):
            return subnet, next(subnet.hosts()), True
    raise HostError(host.name, f"no free 192.168.N.0/24 for libvirt network {network.libvirt_network}: give the network a cidr")


def _libvirt_subnets(host: Host) -> list[ipaddress.IPv4Network]:
    found = []
    for net in host.libvirt.listAllNetworks(0):
        for ip in ET.fromstring(net.XMLDesc(0)).iter("ip"):
            try:
                prefix = ip.get("prefix") or ip.get("netmask")
                found.append(ipaddress.IPv4Network(f"{ip.get('address')}/{prefix}", strict=False))
            except ValueError:  # IPv6, or nothing we can read: it cannot clash with an IPv4 /24
                continue
    return found


def _routed_subnets(host: Host) -> list[ipaddress.IPv4Network]:
    """The destinations of the host's IPv4 routes (its own subnets among them); not the default route."""
    found = []
    for line in host.connection.run(["ip", "-4", "-o", "route", "show", "table", "all"], check=False).stdout.splitlines():
        words = line.split()
        target = words[1] if words and words[0] in ("local", "broadcast", "unicast") and len(words) > 1 else (words[0] if words else "")
        try:
            found.append(ipaddress.IPv4Network(target, strict=False))
        except ValueError:  # "default", or anything unexpected
            continue
    return [n for n in found if n.prefixlen > 0 and not n.is_loopback]
