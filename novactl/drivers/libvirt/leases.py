"""Fixed-IP leases on a network's allocating host: `<state_path>/ipam/<network>/<address>.json`.

Every allocation on a network, from any operator's novactl, runs under one flock on one host
(`locks/ipam-<network>.lock`): read every lease, pick the lowest free pool address, write its lease,
unlock. Two racing boots serialise there and the second sees the first's lease, so no address is
handed out twice. A lease names its builder (builders.py): while that process lives, the lease is
never reclaimed; once it is dead, the lease goes only if a survey of every host, taken under the
lock after the leases were read, finds no domain, live claim or directory of its instance
(ipam.reclaimable).
A lease file that does not parse still holds its address (its name says which), until removed by hand.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable

from novactl import host_records, ipam
from novactl.drivers.base import ClusterView, Leftover
from novactl.drivers.libvirt import builders, paths
from novactl.drivers.libvirt.claims import CLAIM_TTL
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.drivers.libvirt.poll import SECTION
from novactl.hoststate import InstanceInfo
from novactl.ipam import Lease, Subnet

LEASES_SCRIPT = f"""ls -1 "$1" 2>/dev/null
echo {SECTION}
for f in "$1"/*.json; do [ -f "$f" ] && cat "$f" && echo; done
echo {SECTION}
L=$2; {builders.LIVE_BUILDERS}
exit 0
"""
LOCK_TIMEOUT = 120  # seconds: each holder keeps the lock for a few round trips; many may queue


@host_errors
def allocate(
    host: Host, network: str, subnet: Subnet, instances: list[InstanceInfo], in_use: set[str], survey: Callable[[], ClusterView]
) -> list[str]:
    config, conn = host.config, host.connection
    if host.builder is None:
        with conn.lock(paths.host_lock(config), timeout=LOCK_TIMEOUT):  # builder locks are taken under the host lock
            builders.hold(host)
    with conn.lock_then_run(paths.ipam_lock(config, network), _read_argv(host, network), timeout=LOCK_TIMEOUT) as done:
        taken, leases, live = _parse(host, subnet, done.stdout)  # lock and read: one round trip
        picked = ipam.lowest_free(subnet, taken | in_use, len(instances))
        if len(picked) < len(instances):
            freed = {row.name for row in _reclaim(host, network, leases, live, survey, dry_run=False)}
            picked = ipam.lowest_free(subnet, (taken - freed) | in_use, len(instances))
        if len(picked) < len(instances):
            raise ipam.NoMoreAddresses(network, len(instances), len(picked))
        for instance, address in zip(instances, picked, strict=False):
            lease = Lease(address, instance.uuid, instance.host or config.name, ipam.PENDING, host.builder, time.time() + CLAIM_TTL)
            conn.write_file(_lease_file(host, network, address), json.dumps(lease.record()).encode())
    return picked


@host_errors
def bind(host: Host, network: str, subnet: Subnet, address: str, instance_uuid: str) -> None:
    """The instance's domain exists: its lease is bound. ipam.LeaseTaken if the lease is no longer its own
    (reclaimed once its builder lock was lost: the address may have been handed out again)."""
    with host.connection.lock(paths.ipam_lock(host.config, network), timeout=LOCK_TIMEOUT):
        lease = _lease(host, network, subnet, address)
        if lease is None or lease.instance != instance_uuid:
            raise ipam.LeaseTaken(network, address, lease.instance if lease else None)
        bound = Lease(lease.address, lease.instance, lease.host, ipam.BOUND, lease.builder, None)
        host.connection.write_file(_lease_file(host, network, address), json.dumps(bound.record()).encode())


@host_errors
def release(host: Host, network: str, subnet: Subnet, address: str, instance_uuid: str) -> None:
    with host.connection.lock(paths.ipam_lock(host.config, network), timeout=LOCK_TIMEOUT):
        if _own_lease(host, network, subnet, address, instance_uuid) is not None:
            host.connection.run(["rm", "-f", "--", _lease_file(host, network, address)])


@host_errors
def reclaim(host: Host, network: str, subnet: Subnet, survey: Callable[[], ClusterView], dry_run: bool) -> list[Leftover]:
    with host.connection.lock_then_run(paths.ipam_lock(host.config, network), _read_argv(host, network), timeout=LOCK_TIMEOUT) as done:
        _taken, leases, live = _parse(host, subnet, done.stdout)
        return _reclaim(host, network, leases, live, survey, dry_run)


def _reclaim(
    host: Host, network: str, leases: list[Lease], live: set[str], survey: Callable[[], ClusterView], dry_run: bool
) -> list[Leftover]:
    """Under the IPAM lock: the leases nobody can be using, removed (survey first, after the read)."""
    if all(lease.builder in live for lease in leases):
        return []
    view = survey()
    if view.down:  # an instance on a host that did not answer keeps its address
        return []
    holders, now = set(view.domains) | view.live_claims | view.directories, time.time()
    gone = [lease for lease in leases if ipam.reclaimable(lease, live, holders, now)]
    if gone and not dry_run:
        host.connection.run(["rm", "-f", "--", *(_lease_file(host, network, lease.address) for lease in gone)])
    action = "would remove" if dry_run else "removed"
    return [Leftover("fixed IP lease", lease.address, f"{action} (network {network}, instance {lease.instance})") for lease in gone]


def _read_argv(host: Host, network: str) -> list[str]:
    return ["sh", "-c", LEASES_SCRIPT, "sh", paths.leases_dir(host.config, network), paths.locks_dir(host.config)]


def _parse(host: Host, subnet: Subnet, out: str) -> tuple[set[str], list[Lease], set[str]]:
    """LEASES_SCRIPT's output: (every address a lease file names, the valid leases, the live builder tokens)."""
    names, records, live = out.split(SECTION + "\n")
    taken = {name.removesuffix(".json") for name in names.split() if name.endswith(".json")}
    taken = {address for address in taken if _canonical(address) and subnet.contains(address)}
    leases = host_records.lease_records(host_records.json_lines(records, "fixed IP lease", host.name), subnet, host.name)
    return taken, leases, builders.parse_live(live)


def _own_lease(host: Host, network: str, subnet: Subnet, address: str, instance_uuid: str) -> Lease | None:
    """The lease of `address` if it is the instance's (read under the IPAM lock)."""
    lease = _lease(host, network, subnet, address)
    return lease if lease is not None and lease.instance == instance_uuid else None


def _lease(host: Host, network: str, subnet: Subnet, address: str) -> Lease | None:
    """The lease of `address` (read under the IPAM lock); None if there is none, or none that parses."""
    text = host.connection.read_file(_lease_file(host, network, address))
    if text is None:
        return None
    records = host_records.json_lines(text.decode(errors="replace"), "fixed IP lease", host.name)
    leases = host_records.lease_records(records, subnet, host.name)
    return leases[0] if leases and leases[0].address == address else None


def _lease_file(host: Host, network: str, address: str) -> str:
    return f"{paths.leases_dir(host.config, network)}/{ipaddress.IPv4Address(address)}.json"


def _canonical(address: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(address)) == address
    except ValueError:
        return False
