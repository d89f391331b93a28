"""The libvirt driver: a real KVM host over SSH (paramiko) and libvirt, or this machine directly."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging

import libvirt

from novactl.drivers.base import ComputeDriver, HostReport
from novactl.drivers.libvirt import metadata
from novactl.drivers.libvirt.facts import POWER_STATE, compute_node
from novactl.errors import HostError
from novactl.hoststate import InstanceInfo
from novactl.remote import Connection, connect

LOG = logging.getLogger(__name__)

SECTION = "--novactl-section--"
# One round trip gathers every file-system fact a poll needs. The script is a constant; the paths
# travel as positional arguments ($1..$4), never spliced into the shell text.
POLL_SCRIPT = f"""
p=$1; while [ ! -e "$p" ]; do p=$(dirname "$p"); done
stat -f -c '%S %b %a' "$p"
echo {SECTION}
cat "$2" 2>/dev/null
echo {SECTION}
ls -1 "$3" 2>/dev/null
echo {SECTION}
for f in "$4"/*.json; do [ -f "$f" ] && cat "$f" && echo; done
exit 0
"""


def base_name(image_id: str) -> str:
    """The cache file name of an image in _base, as Nova's imagecache names it."""
    return hashlib.sha1(image_id.encode()).hexdigest()


class LibvirtDriver(ComputeDriver):
    _connection: Connection | None = None
    _libvirt: libvirt.virConnect | None = None

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

    @property
    def service_file(self) -> str:
        return f"{self.host.state_path}/service.json"

    @property
    def groups_dir(self) -> str:
        return f"{self.host.state_path}/server_groups"

    def poll(self) -> HostReport:
        out = self.connection.run(
            ["sh", "-c", POLL_SCRIPT, "sh", self.host.instances_path, self.service_file, self.host.base_path, self.groups_dir]
        ).stdout
        fs_line, service_text, base_listing, group_lines = (part.strip() for part in out.split(SECTION + "\n"))
        block, blocks, _avail = (int(v) for v in fs_line.split())
        try:
            node = compute_node(self.libvirt, self.host.address, block * blocks)
            instances, extra_mb, extra_vcpus = self._instances()
        except libvirt.libvirtError as exc:
            raise HostError(self.host.name, f"libvirt: {exc.get_error_message()}") from None
        node.extra_memory_mb_used = extra_mb
        node.extra_vcpus_used = extra_vcpus
        service = json.loads(service_text) if service_text else {}
        cached = set(base_listing.split())
        return HostReport(
            node=node,
            instances=instances,
            disabled=bool(service.get("disabled", False)),
            disabled_reason=service.get("disabled_reason"),
            cached_images={image.id for image in self.inventory.images if base_name(image.id) in cached},
            server_groups=[json.loads(line) for line in group_lines.splitlines() if line.strip()],
        )

    def _instances(self) -> tuple[list[InstanceInfo], int, int]:
        """novactl's guests from their metadata; other running domains only as memory and vCPUs."""
        instances, extra_mb, extra_vcpus = [], 0, 0
        for domain in self.libvirt.listAllDomains(0):
            state, max_kib, _mem, nr_vcpus, _cpu_time = domain.info()
            try:
                xml = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.NAMESPACE)
            except libvirt.libvirtError:
                if domain.isActive():
                    extra_mb += max_kib // 1024
                    extra_vcpus += nr_vcpus
                continue
            instance = metadata.from_xml(xml, self.host.name, domain.UUIDString(), domain.name())
            instance.power_state = POWER_STATE.get(state, 0)
            instances.append(instance)
        return instances, extra_mb, extra_vcpus

    def set_service_status(self, disabled: bool, reason: str | None) -> None:
        record = {"disabled": disabled, "disabled_reason": reason}
        self.connection.write_file(self.service_file, json.dumps(record).encode())

    def save_server_group(self, record: dict) -> None:
        self.connection.write_file(f"{self.groups_dir}/{record['name']}.json", json.dumps(record).encode())

    def close(self) -> None:
        if self._libvirt is not None:
            with contextlib.suppress(libvirt.libvirtError):
                self._libvirt.close()
            self._libvirt = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
