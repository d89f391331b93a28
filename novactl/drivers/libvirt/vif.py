"""An instance's network interface on a linux bridge (Nova's vif.py, bridge flavour).

libvirt creates the tap when the domain starts and removes it with the domain; novactl only makes
sure the bridge exists, and names the tap after the instance.
"""

from __future__ import annotations

import logging

from novactl.drivers.libvirt import networks
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError
from novactl.models import Network

LOG = logging.getLogger("novactl.virt.libvirt.vif")


def tap_name(instance_uuid: str) -> str:
    return f"tap{instance_uuid[:11]}"  # Nova names taps after the port id; 14 characters fit IFNAMSIZ


def plug(host: Host, network: Network) -> bool:
    """Make the network ready on the host (its libvirt network, else its bridge); True when this
    call created a bridge, which the caller removes again if its build fails."""
    if network.libvirt_network:
        networks.ensure(host, network)
        return False
    return ensure_bridge(host, network.bridge, network.physical_interface)


def ensure_bridge(host: Host, bridge: str, physical_interface: str | None) -> bool:
    """Make the linux bridge exist and be up; True when this call created it."""
    conn = host.connection
    if conn.run(["ip", "link", "set", "dev", bridge, "up"], check=False).ok:  # exists (now up): one round trip
        return False
    created = conn.run(["ip", "link", "add", "name", bridge, "type", "bridge"], check=False)
    if not created.ok and "File exists" not in created.stderr:  # another boot made it meanwhile: fine
        raise HostError(host.name, f"cannot create bridge {bridge}: {created.stderr.strip()}")
    LOG.info("Created linux bridge %s on %s", bridge, host.name)
    if physical_interface:
        conn.run(["ip", "link", "set", "dev", physical_interface, "master", bridge])
    # The alias marks it as novactl's: `cleanup` removes only marked bridges that nothing uses.
    conn.run(["ip", "link", "set", "dev", bridge, "alias", "novactl", "up"])
    return created.ok


def remove_bridge_if_unused(host: Host, bridge: str) -> None:
    ports = host.connection.run(["ls", "-A", f"/sys/class/net/{bridge}/brif"], check=False).stdout.split()
    if not ports:
        host.connection.run(["ip", "link", "del", "dev", bridge], check=False)
