"""Fixed IPs: one allocating host per network, leases under its lock (ARCHITECTURE.md, "Fixed IPs").

Boot allocates before it claims (every instance of a request at once), binds each lease once the
instance's domain exists, and releases the leases of builds that failed; delete releases; `cleanup`
reclaims leases nobody holds. The driver of the network's allocating host does the locking and the
files (drivers/libvirt/leases.py); the address then lives in the instance's metadata, which moves
carry, and in its config drive.
"""

from __future__ import annotations

import logging

from novactl import ipam
from novactl.drivers.base import Leftover
from novactl.errors import HostError, NovactlError
from novactl.hoststate import InstanceInfo
from novactl.models import Inventory, Network
from novactl.poller import Cluster, survey

LOG = logging.getLogger("novactl.network.ipam")


def allocating_host(inventory: Inventory, network: Network) -> str:
    """The one host that allocates `network`'s addresses: its `ipam_host`, else the inventory's first
    host. Every operator's novactl computes the same host from the same inventory."""
    return network.ipam_host or inventory.hosts[0].name


def allocate(cluster: Cluster, network: Network | None, instances: list[InstanceInfo]) -> None:
    """A fixed IP for each instance on a network with a cidr (`instance.fixed_ips`), leased on the
    allocating host; all or none. HostError (exit 1) when that host is down: a second allocator
    elsewhere could hand out the same address. ipam.NoMoreAddresses when the pool runs short."""
    if network is None or network.cidr is None:
        return
    name = allocating_host(cluster.inventory, network)
    state = cluster.state(name)
    if not state.up:
        raise HostError(
            name,
            f"is down ({state.down_reason}) and allocates the fixed IPs of network {network.name}: "
            "nothing can boot onto that network until it answers",
        )
    in_use = {instance.fixed_ips[network.name] for instance in cluster.instances if network.name in instance.fixed_ips}
    driver = cluster.drivers[name]
    addresses = driver.allocate_fixed_ips(network.name, ipam.subnet(network), instances, in_use, lambda: survey(cluster, ask_down=True))
    for instance, address in zip(instances, addresses, strict=True):
        instance.fixed_ips = {network.name: address}
        LOG.info("[instance: %s] Allocated fixed IP %s on network %s (leased on %s)", instance.uuid, address, network.name, name)


def bind(cluster: Cluster, instance: InstanceInfo) -> None:
    """The instance's domain exists and carries its addresses: its leases stop expiring. Best effort:
    a lease left pending is still held by the domain (leases.py), so a failure here is only logged;
    but ipam.LeaseTaken (the lease was reclaimed meanwhile, the address maybe handed out again) is raised."""
    for network, address in instance.fixed_ips.items():
        _on_allocating_host(cluster, network, "bind", lambda driver, n=network, a=address: driver.bind_fixed_ip(n, a, instance.uuid))


def release(cluster: Cluster, instance: InstanceInfo) -> None:
    """The instance is gone (deleted, or its build failed): its leases go. When the allocating host
    cannot be reached the lease stays, to be reclaimed once a survey sees every host (logged)."""
    for network, address in instance.fixed_ips.items():
        _on_allocating_host(cluster, network, "release", lambda driver, n=network, a=address: driver.release_fixed_ip(n, a, instance.uuid))


def reclaim(cluster: Cluster, dry_run: bool) -> list[tuple[str, Leftover]]:
    """`cleanup`: on each network's allocating host, the leases no domain or live build holds."""
    rows = []
    for network in cluster.inventory.networks:
        name = allocating_host(cluster.inventory, network)
        if network.cidr is None or not cluster.state(name).up:
            continue
        try:
            found = cluster.drivers[name].reclaim_fixed_ips(network.name, lambda: survey(cluster, ask_down=True), dry_run)
        except HostError as exc:
            found = [Leftover("fixed IP leases", network.name, f"not reclaimed: {exc.reason}")]
        rows += [(name, leftover) for leftover in found]
    return rows


def _on_allocating_host(cluster: Cluster, network_name: str, what: str, call) -> None:
    inventory = cluster.inventory
    try:
        network = inventory.network(network_name)
        name = allocating_host(inventory, network)
        call(cluster.drivers[name])
    except ipam.LeaseTaken:
        raise
    except (NovactlError, KeyError) as exc:  # a network since removed from the inventory: KeyError/NotFound
        LOG.warning("Could not %s the fixed IP lease on network %s: %s", what, network_name, exc)
