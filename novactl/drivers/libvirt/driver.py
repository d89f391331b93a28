"""The libvirt driver: a real KVM host over SSH (paramiko) and libvirt, or this machine directly.

`LibvirtDriver` keeps ComputeDriver's contract by delegating each verb to the module named after its
concept (poll, claims, spawn, power, console, migrate, snapshot, leftovers), handing it the narrow `Host`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar

from novactl import ipam
from novactl.drivers.base import ClusterView, ComputeDriver, Console, HostReport, ImageCacheListing, Leftover, SpawnRequest, Survey
from novactl.drivers.libvirt import (
    addresses,
    claims,
    console,
    guest,
    imagecache,
    leases,
    leftovers,
    migrate,
    paths,
    poll,
    power,
    snapshot,
    spawn,
)
from novactl.drivers.libvirt.host import Host
from novactl.errors import UsageError
from novactl.hoststate import InstanceInfo
from novactl.ipam import Subnet
from novactl.models import HostConfig, Image, Inventory, Network


class LibvirtDriver(ComputeDriver):
    capabilities: ClassVar[dict[str, bool]] = {
        **ComputeDriver.capabilities,
        "has_imagecache": True,
        "builds_instances": True,
        "stores_server_groups": True,
        "supports_migrate": True,
        "supports_live_migration": True,
        "supports_snapshot": True,
    }

    def __init__(self, host: HostConfig, inventory: Inventory, libvirt_host: Host | None = None):
        super().__init__(host, inventory)
        self._host = libvirt_host or Host(host)

    # -- read side, claims, spawn ---------------------------------------------------------------

    def poll(self) -> HostReport:
        return poll.poll(self._host, self.inventory.images)

    def claim(self, instance: InstanceInfo, limits: dict[str, float]) -> None:
        claims.claim(self._host, self.inventory.scheduler, instance, limits)

    def drop_claim(self, instance_uuid: str) -> None:
        claims.drop(self._host, instance_uuid)

    def spawn(self, request: SpawnRequest) -> InstanceInfo:
        return spawn.spawn(self._host, request)

    def destroy(self, instance: InstanceInfo) -> None:
        spawn.destroy(self._host, instance.uuid)

    # -- service flag and groups ----------------------------------------------------------------

    def set_service_status(self, disabled: bool, reason: str | None) -> None:
        record = {"disabled": disabled, "disabled_reason": reason}
        self._host.connection.write_file(paths.service_file(self.host), json.dumps(record).encode())

    def save_server_group(self, record: dict) -> None:
        self._host.connection.write_file(f"{paths.groups_dir(self.host)}/{record['name']}.json", json.dumps(record).encode())

    def close(self) -> None:
        self._host.close()

    # -- crash recovery ---------------------------------------------------------------------------

    def survey(self) -> Survey:
        return leftovers.survey(self._host)

    def clean_up(self, recheck: Callable[[], ClusterView], view: ClusterView, dry_run: bool) -> list[Leftover]:
        bridges = {self.host.bridge, *(network.bridge for network in self.inventory.networks if not network.libvirt_network)}
        return leftovers.clean_up(self._host, recheck, view, bridges, dry_run)

    # -- fixed IPs (this host allocates for the networks naming it) ------------------------------

    def allocate_fixed_ips(
        self, network: str, subnet: Subnet, instances: list[InstanceInfo], in_use: set[str], survey: Callable[[], ClusterView]
    ) -> list[str]:
        return leases.allocate(self._host, network, subnet, instances, in_use, survey)

    def bind_fixed_ip(self, network: str, address: str, instance_uuid: str) -> None:
        leases.bind(self._host, network, self._subnet(network), address, instance_uuid)

    def release_fixed_ip(self, network: str, address: str, instance_uuid: str) -> None:
        leases.release(self._host, network, self._subnet(network), address, instance_uuid)

    def reclaim_fixed_ips(self, network: str, survey: Callable[[], ClusterView], dry_run: bool) -> list[Leftover]:
        return leases.reclaim(self._host, network, self._subnet(network), survey, dry_run)

    def _subnet(self, network: str) -> Subnet:
        return ipam.subnet(self.inventory.network(network))

    # -- lifecycle --------------------------------------------------------------------------------

    def save_state(self, instance: InstanceInfo) -> None:
        guest.save_state(self._host, instance)

    def power_off(self, instance: InstanceInfo, timeout: float) -> bool:
        return power.power_off(self._host, instance, timeout)

    def power_on(self, instance: InstanceInfo) -> None:
        power.power_on(self._host, instance)

    def reboot(self, instance: InstanceInfo, hard: bool, timeout: float) -> str:
        return power.reboot(self._host, instance, hard, timeout)

    def suspend(self, instance: InstanceInfo) -> None:
        power.suspend(self._host, instance)

    def resume(self, instance: InstanceInfo) -> None:
        power.resume(self._host, instance)

    def pause(self, instance: InstanceInfo) -> None:
        power.pause(self._host, instance)

    def unpause(self, instance: InstanceInfo) -> None:
        power.unpause(self._host, instance)

    def console_log(self, instance: InstanceInfo, length: int | None) -> str:
        return console.console_log(self._host, instance.uuid, length)

    def learned_addresses(self, instance: InstanceInfo) -> dict[str, list[str]]:
        return addresses.learned(self._host, instance)

    def connect_guest(self, address: str, port: int, timeout: float):
        return self._host.connection.open_tcp(address, port, timeout)

    def open_console(self, instance: InstanceInfo, force: bool) -> Console:
        return console.LibvirtConsole(self._host, instance.uuid, force)

    def migrate_disk_and_power_off(self, instance: InstanceInfo, dest: ComputeDriver, timeout: float) -> None:
        migrate.migrate_disk_and_power_off(self._host, _peer(dest), instance, timeout)

    def finish_migration(self, instance: InstanceInfo, image: Image, image_source: str, network: Network, power_on: bool) -> None:
        migrate.finish_migration(self._host, instance, image, image_source, network, power_on)

    def finish_revert_migration(self, instance: InstanceInfo, power_on: bool) -> None:
        migrate.finish_revert_migration(self._host, instance, power_on)

    def confirm_migration(self, instance_uuid: str) -> None:
        migrate.confirm_migration(self._host, instance_uuid)

    def live_migration(self, instance: InstanceInfo, dest: ComputeDriver, image: Image, image_source: str, network: Network) -> float:
        return migrate.live_migration(self._host, _peer(dest), instance, image, image_source, network)

    def snapshot(self, instance: InstanceInfo, image_id: str, local_path: str) -> None:
        snapshot.snapshot(self._host, instance, image_id, local_path)

    # -- image cache ------------------------------------------------------------------------------

    def image_cache(self) -> ImageCacheListing:
        return imagecache.scan(self._host.connection, self.host)

    def remove_cached_image(self, name: str, unused_since: int) -> str:
        return imagecache.remove(self._host.connection, self.host, name, unused_since)

    def cache_image(self, image: Image, image_source: str, progress: Callable[[int], None] | None = None) -> bool:
        conn = self._host.connection
        if imagecache.is_cached(conn, self.host, image):
            return False
        imagecache.ensure_base(conn, self.host, image, image_source, progress)
        return True


def _peer(dest: ComputeDriver) -> Host:
    """The other host of a move, which must be a libvirt host too."""
    if not isinstance(dest, LibvirtDriver):
        raise UsageError(f"{dest.host.name}: instances move only between libvirt hosts")
    return dest._host
