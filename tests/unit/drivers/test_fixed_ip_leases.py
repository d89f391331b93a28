"""Fixed-IP leases on a scripted libvirt host (fakehost.py): the lease script, flock and files run for
real; racing allocators are threads with connections of their own, so their flocks exclude each other."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from novactl import ipam
from novactl.drivers.base import ClusterView
from novactl.drivers.libvirt import paths
from novactl.drivers.libvirt.driver import LibvirtDriver
from novactl.models import Network
from tests.unit.drivers.fakehost import FakeHost
from tests.unit.drivers.test_libvirt_driver import new_instance

LAN = Network(name="lan", bridge="br-test", cidr="10.0.0.0/24", allocation_pools=({"start": "10.0.0.10", "end": "10.0.0.13"},))
SUBNET = ipam.subnet(LAN)
DEAD = "f" * 16
EVERYONE = ClusterView()  # a survey in which every host answered and holds nothing


@pytest.fixture
def ipam_host(make_hosts) -> tuple[FakeHost, LibvirtDriver]:
    [(host, driver)] = make_hosts()
    driver.inventory = dataclasses.replace(driver.inventory, networks=[LAN])
    return host, driver


def leases(host: FakeHost) -> dict[str, dict]:
    directory = Path(host.path(paths.leases_dir(host.config, "lan")))
    return {p.name.removesuffix(".json"): json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def allocate(driver: LibvirtDriver, n: int = 1, in_use: set[str] | None = None, survey=lambda: EVERYONE) -> list[str]:
    instances = [new_instance("compute1", name=f"vm{i}") for i in range(n)]
    return driver.allocate_fixed_ips("lan", SUBNET, instances, in_use or set(), survey)


def test_lowest_free_address_leased_pending_then_bound_then_released(ipam_host) -> None:
    host, driver = ipam_host
    vm = new_instance("compute1")
    assert driver.allocate_fixed_ips("lan", SUBNET, [vm], {"10.0.0.10"}, lambda: EVERYONE) == ["10.0.0.11"]
    lease = leases(host)["10.0.0.11"]
    assert (lease["instance"], lease["state"], lease["builder"]) == (vm.uuid, "pending", driver._host.builder)
    assert lease["expires"] > time.time()
    assert allocate(driver, 2) == ["10.0.0.10", "10.0.0.12"]  # in_use came from a poll: not leased here
    driver.bind_fixed_ip("lan", "10.0.0.11", vm.uuid)
    assert (leases(host)["10.0.0.11"]["state"], leases(host)["10.0.0.11"]["expires"]) == ("bound", None)
    driver.release_fixed_ip("lan", "10.0.0.11", new_instance("compute1").uuid)  # not its lease: kept
    assert "10.0.0.11" in leases(host)
    driver.release_fixed_ip("lan", "10.0.0.11", vm.uuid)
    assert sorted(leases(host)) == ["10.0.0.10", "10.0.0.12"]


def test_an_exhausted_pool_fails_and_writes_nothing(ipam_host) -> None:
    host, driver = ipam_host
    allocate(driver, 3)
    with pytest.raises(ipam.NoMoreAddresses, match=r"No more IP addresses available on network lan \(2 wanted, 1 free\)"):
        allocate(driver, 2)
    assert sorted(leases(host)) == ["10.0.0.10", "10.0.0.11", "10.0.0.12"]


def test_racing_allocators_never_share_an_address(ipam_host, make_hosts) -> None:
    host, _driver = ipam_host
    racers = [host.driver(_driver.inventory) for _ in range(6)]  # six processes' connections to one host
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda d: _try(lambda: allocate(d)), racers))
    for racer in racers:
        racer.close()
    won = [o[0] for o in outcomes if isinstance(o, list)]
    assert sorted(won) == ["10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13"]
    assert sum(isinstance(o, ipam.NoMoreAddresses) for o in outcomes) == 2


def _try(call):
    try:
        return call()
    except ipam.NoMoreAddresses as exc:
        return exc


def write_lease(host: FakeHost, address: str, instance: str, builder: str | None, state: str = "pending") -> None:
    record = {
        "address": address,
        "instance": instance,
        "host": "compute1",
        "state": state,
        "builder": builder,
        "expires": time.time() + 600,
    }
    path = Path(host.path(paths.leases_dir(host.config, "lan"))) / f"{address}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_a_full_pool_reclaims_a_dead_builders_lease_only_when_every_host_answered_and_none_holds_it(ipam_host) -> None:
    host, driver = ipam_host
    held, crashed = new_instance("compute1", name="held"), new_instance("compute1", name="crashed")
    write_lease(host, "10.0.0.10", held.uuid, DEAD, "bound")  # its domain lives on some host
    write_lease(host, "10.0.0.11", crashed.uuid, DEAD)  # a boot killed between lease and define
    allocate(driver, 2)  # 12 and 13: no survey needed while the pool has room
    one_down = ClusterView(domains={held.uuid: "compute2"}, down=["compute3"])
    with pytest.raises(ipam.NoMoreAddresses):
        allocate(driver, survey=lambda: one_down)  # compute3 may run the crashed instance after all
    on_disk = ClusterView(domains={held.uuid: "compute2"}, directories={crashed.uuid})
    with pytest.raises(ipam.NoMoreAddresses):
        allocate(driver, survey=lambda: on_disk)  # its disks may be defined again (a revert between destroy and define)
    everyone = ClusterView(domains={held.uuid: "compute2"})
    assert allocate(driver, survey=lambda: everyone) == ["10.0.0.11"]
    assert leases(host)["10.0.0.10"]["instance"] == held.uuid


def test_a_malformed_lease_still_holds_its_address(ipam_host) -> None:
    host, driver = ipam_host
    directory = Path(host.path(paths.leases_dir(host.config, "lan")))
    directory.mkdir(parents=True)
    (directory / "10.0.0.10.json").write_text('{"address": "10.0.0.10", "instance": "$(reboot)"}')
    assert allocate(driver) == ["10.0.0.11"]


def test_cleanup_reclaims_orphan_leases_after_its_own_survey(ipam_host) -> None:
    host, driver = ipam_host
    gone, alive = new_instance("compute1", name="gone"), new_instance("compute1", name="alive")
    write_lease(host, "10.0.0.10", gone.uuid, DEAD, "bound")
    write_lease(host, "10.0.0.11", alive.uuid, DEAD, "bound")
    view = ClusterView(domains={alive.uuid: "compute1"})
    [row] = driver.reclaim_fixed_ips("lan", lambda: view, dry_run=True)
    assert (row.kind, row.name, row.action) == ("fixed IP lease", "10.0.0.10", f"would remove (network lan, instance {gone.uuid})")
    assert sorted(leases(host)) == ["10.0.0.10", "10.0.0.11"]
    [row] = driver.reclaim_fixed_ips("lan", lambda: view, dry_run=False)
    assert row.action.startswith("removed") and sorted(leases(host)) == ["10.0.0.11"]


def test_binding_a_lease_reclaimed_meanwhile_fails_and_leaves_the_new_holders_lease(ipam_host) -> None:
    """A pending lease whose builder lock was lost (its remote shell ended) may be reclaimed and its
    address handed out again before the boot binds it: bind then says so rather than doing nothing."""
    host, driver = ipam_host
    vm, other = new_instance("compute1", name="vm"), new_instance("compute1", name="other")
    [address] = driver.allocate_fixed_ips("lan", SUBNET, [vm], set(), lambda: EVERYONE)
    lease_file = Path(host.path(paths.leases_dir(host.config, "lan"))) / f"{address}.json"
    theirs = ipam.Lease(address, other.uuid, "compute1", ipam.PENDING, DEAD, time.time() + 60)
    lease_file.write_text(json.dumps(theirs.record()))  # reclaimed, then leased to `other`
    with pytest.raises(ipam.LeaseTaken, match=f"fixed IP {address} on network lan is leased to instance {other.uuid}"):
        driver.bind_fixed_ip("lan", address, vm.uuid)
    assert leases(host)[address]["instance"] == other.uuid
    lease_file.unlink()  # reclaimed, not yet handed out
    with pytest.raises(ipam.LeaseTaken, match=f"fixed IP {address} on network lan is no longer leased"):
        driver.bind_fixed_ip("lan", address, vm.uuid)
