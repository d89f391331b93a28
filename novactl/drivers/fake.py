"""The fake driver: a host whose facts come from the inventory's `facts:` key.

A product feature, not a test double: what-if planning ("would this fit if I added two such hosts?"),
reproducible scheduler bug reports, and the home of the scheduler's unit tests. Field names are the
libvirt driver's (Nova's compute-node names). When `memory_mb_used` (or `vcpus_used`,
`local_gb_used`) is given it is taken as the host's whole usage, reservation included; otherwise usage
is accounted from `instances:` as for a real host.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from novactl import ipam
from novactl.drivers.base import CachedImage, ClusterView, ComputeDriver, HostReport, ImageCacheListing, Survey
from novactl.drivers.libvirt.paths import base_name
from novactl.errors import HostError, UsageError
from novactl.hoststate import RUNNING, ComputeNode, InstanceInfo
from novactl.ipam import Subnet
from novactl.models import HostConfig, Inventory

_NAMESPACE = uuid.UUID("6f1c1b7e-8f0a-4d8e-9a55-0b8c1f0e2d31")  # stable uuids for fake instances


class FakeDriver(ComputeDriver):
    def __init__(self, host: HostConfig, inventory: Inventory):
        super().__init__(host, inventory)
        # Fixed-IP leases this process allocated here, per network: address -> instance uuid. A fake
        # host keeps nothing between commands; the instances' `fixed_ips` facts hold the rest.
        self._leases: dict[str, dict[str, str]] = {}

    def poll(self) -> HostReport:
        facts = self.host.facts
        if not facts.get("up", True):
            raise HostError(self.host.name, facts.get("down_reason", "fake host marked down"))
        instances = [self._instance(raw) for raw in facts.get("instances", [])]
        reserved = self.inventory.scheduler
        node = ComputeNode(
            hypervisor_hostname=self.host.name,
            memory_mb=facts.get("memory_mb", 0),
            vcpus=facts.get("vcpus", 0),
            local_gb=facts.get("local_gb", 0),
            hypervisor_type=facts.get("hypervisor_type", "QEMU"),
            hypervisor_version=facts.get("hypervisor_version", 0),
            cpu_info=facts.get("cpu_info", {"arch": "x86_64"}),
            host_ip=self.host.address,
            supported_instances=facts.get("supported_instances", [["x86_64", "qemu", "hvm"], ["x86_64", "kvm", "hvm"]]),
            pci_devices=facts.get("pci_devices", []),
            disk_available_least=facts.get("disk_available_least"),
        )
        # Stated usage wins: it stands for guests the inventory does not list.
        if "memory_mb_used" in facts:
            node.extra_memory_mb_used = facts["memory_mb_used"] - reserved.reserved_host_memory_mb - sum(i.flavor.ram for i in instances)
        if "vcpus_used" in facts:
            node.extra_vcpus_used = facts["vcpus_used"] - sum(i.flavor.vcpus for i in instances)
        if "local_gb_used" in facts:
            node.extra_local_gb_used = (
                facts["local_gb_used"] - reserved.reserved_host_disk_mb // 1024 - sum(i.flavor.disk + i.flavor.ephemeral for i in instances)
            )
        return HostReport(
            node=node,
            instances=instances,
            disabled=facts.get("disabled", False),
            disabled_reason=facts.get("disabled_reason"),
            cached_images=set(facts.get("cached_images", [])),
        )

    def survey(self) -> Survey:
        """Nothing is kept on a fake host; one marked down does not answer, as in the poll."""
        if not self.host.facts.get("up", True):
            raise HostError(self.host.name, self.host.facts.get("down_reason", "fake host marked down"))
        return Survey()

    def _instance(self, raw: dict) -> InstanceInfo:
        return InstanceInfo(
            uuid=raw.get("uuid") or str(uuid.uuid5(_NAMESPACE, f"{self.host.name}/{raw['name']}")),
            name=raw["name"],
            host=self.host.name,
            flavor=self.inventory.flavor(raw["flavor"]),
            image_id=raw.get("image", ""),
            group=raw.get("group"),
            zone=self.host.zone,
            power_state=RUNNING,
            vm_state=raw.get("vm_state", "active"),
            networks={network: [""] for network in raw.get("fixed_ips", {})},
            fixed_ips=dict(raw.get("fixed_ips", {})),
        )

    def image_cache(self) -> ImageCacheListing:
        """`cached_images` as bases, used by `instances`; size and last use unknown (the facts do not say)."""
        report = self.poll()
        bases = []
        for image_id in sorted(report.cached_images):
            users = sorted(i.uuid for i in report.instances if i.image_id == image_id)
            bases.append(CachedImage(base_name(image_id), None, None, users))
        return ImageCacheListing(bases, int(time.time()))

    def allocate_fixed_ips(
        self, network: str, subnet: Subnet, instances: list[InstanceInfo], in_use: set[str], survey: Callable[[], ClusterView]
    ) -> list[str]:
        leases = self._leases.setdefault(network, {})
        picked = ipam.lowest_free(subnet, in_use | set(leases), len(instances))
        if len(picked) < len(instances):
            raise ipam.NoMoreAddresses(network, len(instances), len(picked))
        leases.update(zip(picked, (instance.uuid for instance in instances), strict=True))
        return picked

    def bind_fixed_ip(self, network: str, address: str, instance_uuid: str) -> None:
        pass  # an in-memory lease never expires

    def release_fixed_ip(self, network: str, address: str, instance_uuid: str) -> None:
        if self._leases.get(network, {}).get(address) == instance_uuid:
            del self._leases[network][address]

    def set_service_status(self, disabled: bool, reason: str | None) -> None:
        raise UsageError(f"{self.host.name} is a fake host: set facts.disabled in the inventory instead")

    def save_server_group(self, record: dict) -> None:
        pass  # fake hosts keep no state; groups of a fake cluster are defined in the inventory
