"""The libvirt driver: a real KVM host over SSH (paramiko) and libvirt, or this machine directly."""

from __future__ import annotations

import contextlib
import json
import logging
import time

import libvirt

from novactl.claims import check_claim
from novactl.drivers.base import ComputeDriver, HostReport, SpawnRequest
from novactl.drivers.libvirt import metadata, migrate, paths, power, spawn
from novactl.drivers.libvirt.facts import POWER_STATE, compute_node
from novactl.errors import HostError
from novactl.hoststate import ComputeNode, HostState, InstanceInfo, build_host_state
from novactl.models import Image, Network
from novactl.remote import Connection, connect

LOG = logging.getLogger("novactl.virt.libvirt.driver")

SECTION = "--novactl-section--"
# One round trip gathers every file-system fact a poll needs. The script is a constant; the paths
# travel as positional arguments ($1..$5), never spliced into the shell text.
POLL_SCRIPT = f"""
p=$1; while [ ! -e "$p" ]; do p=$(dirname "$p"); done
stat -f -c '%S %b %a' "$p"
echo {SECTION}
cat "$2" 2>/dev/null
echo {SECTION}
ls -1 "$3" 2>/dev/null
echo {SECTION}
for f in "$4"/*.json; do [ -f "$f" ] && cat "$f" && echo; done
echo {SECTION}
for f in "$5"/*.json; do [ -f "$f" ] && cat "$f" && echo; done
exit 0
"""
CLAIMS_SCRIPT = 'for f in "$1"/*.json; do [ -f "$f" ] && cat "$f" && echo; done; exit 0'
CLAIM_TTL = 900  # seconds a claim counts without its domain: longer than any boot, short enough to heal a crash


class LibvirtDriver(ComputeDriver):
    _connection: Connection | None = None
    _libvirt: libvirt.virConnect | None = None
    _node: ComputeNode | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = connect(self.host)
        return self._connection

    @property
    def libvirt(self) -> libvirt.virConnect:
        if self._libvirt is None:
            self._libvirt = self.connection.open_libvirt()
        return self._libvirt

    # -- read side --------------------------------------------------------------------------------

    def poll(self) -> HostReport:
        host = self.host
        try:
            conn = self.libvirt  # first: over SSH its start-up overlaps the remote shell's
        except libvirt.libvirtError as exc:
            raise HostError(host.name, f"libvirt: {exc.get_error_message()}") from None
        out = self.connection.run(
            [
                "sh",
                "-c",
                POLL_SCRIPT,
                "sh",
                host.instances_path,
                paths.service_file(host),
                host.base_path,
                paths.groups_dir(host),
                paths.claims_dir(host),
            ]
        ).stdout
        fs_line, service_text, base_listing, group_lines, claim_lines = (part.strip() for part in out.split(SECTION + "\n"))
        block, blocks, _avail = (int(v) for v in fs_line.split())
        try:
            self._node = compute_node(conn, host.address, block * blocks)
            instances = self._instances(_json_lines(claim_lines))
        except libvirt.libvirtError as exc:
            raise HostError(host.name, f"libvirt: {exc.get_error_message()}") from None
        service = json.loads(service_text) if service_text else {}
        cached = set(base_listing.split())
        return HostReport(
            node=self._node,
            instances=instances,
            disabled=bool(service.get("disabled", False)),
            disabled_reason=service.get("disabled_reason"),
            cached_images={image.id for image in self.inventory.images if paths.base_name(image.id) in cached},
            server_groups=_json_lines(group_lines),
        )

    def _instances(self, claims: list[dict]) -> list[InstanceInfo]:
        """novactl's guests from their metadata, plus live claims of boots in flight (as BUILD).

        Running domains novactl did not make count only as memory and vCPUs on the node.
        """
        assert self._node is not None
        self._node.extra_memory_mb_used = self._node.extra_vcpus_used = 0
        instances = []
        for domain in self.libvirt.listAllDomains(0):
            state, max_kib, _mem, nr_vcpus, _cpu_time = domain.info()
            try:
                xml = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.NAMESPACE)
            except libvirt.libvirtError:
                if domain.isActive():
                    self._node.extra_memory_mb_used += max_kib // 1024
                    self._node.extra_vcpus_used += nr_vcpus
                continue
            instance = metadata.from_xml(xml, self.host.name, domain.UUIDString(), domain.name())
            instance.power_state = POWER_STATE.get(state, 0)
            instances.append(instance)
        known = {i.uuid for i in instances}
        now = time.time()
        for record in claims:
            if record["uuid"] not in known and record.get("expires", 0) > now:
                instances.append(metadata.from_record(record, self.host.name))
        return instances

    # -- claims and spawn -------------------------------------------------------------------------

    def claim(self, instance: InstanceInfo, limits: dict[str, float]) -> None:
        """Under the host lock: re-read real usage, run Nova's claim test, record the claim."""
        assert self._node is not None, "poll() first"
        host = self.host
        with self.connection.lock(paths.host_lock(host), timeout=120):
            out = self.connection.run(["sh", "-c", CLAIMS_SCRIPT, "sh", paths.claims_dir(host)]).stdout
            instances = self._instances(_json_lines(out))
            sched = self.inventory.scheduler
            state: HostState = build_host_state(
                host.name, host.zone, self._node, instances, sched.reserved_host_memory_mb, sched.reserved_host_disk_mb
            )
            check_claim(state, instance.flavor, limits)
            record = metadata.to_record(instance, time.time() + CLAIM_TTL)
            self.connection.write_file(f"{paths.claims_dir(host)}/{instance.uuid}.json", json.dumps(record).encode())

    def drop_claim(self, instance_uuid: str) -> None:
        self.connection.run(["rm", "-f", "--", f"{paths.claims_dir(self.host)}/{instance_uuid}.json"], check=False)

    def spawn(self, request: SpawnRequest) -> InstanceInfo:
        assert self._node is not None, "poll() first"
        return spawn.spawn(self, request, self._node)

    def destroy(self, instance: InstanceInfo) -> None:
        spawn.destroy(self, instance.uuid)

    # -- service flag and groups ------------------------------------------------------------------

    def set_service_status(self, disabled: bool, reason: str | None) -> None:
        record = {"disabled": disabled, "disabled_reason": reason}
        self.connection.write_file(paths.service_file(self.host), json.dumps(record).encode())

    def save_server_group(self, record: dict) -> None:
        self.connection.write_file(f"{paths.groups_dir(self.host)}/{record['name']}.json", json.dumps(record).encode())

    def close(self) -> None:
        if self._libvirt is not None:
            with contextlib.suppress(libvirt.libvirtError):
                self._libvirt.close()
            self._libvirt = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- lifecycle (power.py, migrate.py) -----------------------------------------------------------

    def save_state(self, instance: InstanceInfo) -> None:
        power.save_state(self, instance)

    def power_off(self, instance: InstanceInfo, timeout: float) -> bool:
        return power.power_off(self, instance, timeout)

    def power_on(self, instance: InstanceInfo) -> None:
        power.power_on(self, instance)

    def reboot(self, instance: InstanceInfo, hard: bool, timeout: float) -> str:
        return power.reboot(self, instance, hard, timeout)

    def suspend(self, instance: InstanceInfo) -> None:
        power.suspend(self, instance)

    def resume(self, instance: InstanceInfo) -> None:
        power.resume(self, instance)

    def pause(self, instance: InstanceInfo) -> None:
        power.pause(self, instance)

    def unpause(self, instance: InstanceInfo) -> None:
        power.unpause(self, instance)

    def console_log(self, instance: InstanceInfo, length: int | None) -> str:
        return power.console_log(self, instance, length)

    def migrate_disk_and_power_off(self, instance: InstanceInfo, dest: ComputeDriver, timeout: float) -> None:
        migrate.migrate_disk_and_power_off(self, migrate.peer(dest), instance, timeout)

    def finish_migration(self, instance: InstanceInfo, image: Image, image_source: str, network: Network, power_on: bool) -> None:
        migrate.finish_migration(self, instance, image, image_source, network, power_on)

    def finish_revert_migration(self, instance: InstanceInfo, power_on: bool) -> None:
        migrate.finish_revert_migration(self, instance, power_on)

    def confirm_migration(self, instance_uuid: str) -> None:
        migrate.confirm_migration(self, instance_uuid)

    def live_migration(self, instance: InstanceInfo, dest: ComputeDriver, image: Image, image_source: str, network: Network) -> float:
        return migrate.live_migration(self, migrate.peer(dest), instance, image, image_source, network)

    def snapshot(self, instance: InstanceInfo, image_id: str, local_path: str) -> None:
        migrate.snapshot(self, instance, image_id, local_path)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
