"""The contract every host driver keeps (modelled on Nova's nova/virt/driver.py).

A driver speaks for one host. `poll()` is the read side every command starts from; the write side
(claims, spawn, power verbs) grows on the same class. Drivers raise `novactl.errors.HostError`
(or a subclass) naming the host; they never print.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field

from novactl.errors import UsageError
from novactl.hoststate import ComputeNode, InstanceInfo
from novactl.models import HostConfig, Image, Inventory, Network, ServerGroupDef


@dataclass
class HostReport:
    """Everything one poll of a host learns, gathered in as few round trips as the driver can."""

    node: ComputeNode
    instances: list[InstanceInfo]
    disabled: bool = False
    disabled_reason: str | None = None
    cached_images: set[str] = field(default_factory=set)  # image ids whose base is in _base
    server_groups: list[dict] = field(default_factory=list)  # group records stored on the host


@dataclass
class SpawnRequest:
    """What a host needs to build one instance (the instance's identity is decided by the caller)."""

    instance: InstanceInfo
    image: Image
    image_source: str  # the image file on the machine running novactl
    network: Network
    progress: Callable[[int], None] | None = None  # bytes sent, for a progress bar


class ComputeDriver(abc.ABC):
    def __init__(self, host: HostConfig, inventory: Inventory):
        self.host = host
        self.inventory = inventory

    @abc.abstractmethod
    def poll(self) -> HostReport:
        """Return the host's hardware facts, its guests (with their flavors) and its service flags.

        Totals are the hypervisor's (what `virsh nodeinfo` says); usage is left to the caller, which
        accounts it from the guests' flavors as Nova's resource tracker does. Raises HostError when the
        host cannot be reached within its connect timeout.
        """

    @abc.abstractmethod
    def set_service_status(self, disabled: bool, reason: str | None) -> None:
        """Persist nova-compute's enabled/disabled flag where every operator's poll will see it."""

    @abc.abstractmethod
    def save_server_group(self, record: dict) -> None:
        """Store a server group record ({name, id, policy, updated_at, deleted}) on the host."""

    def claim(self, instance: InstanceInfo, limits: dict[str, float]) -> None:
        """Under the host lock, re-read real usage and claim the instance's flavor against `limits`.

        Raises novactl.claims.ClaimFailed when it no longer fits. The claim counts in every poll until
        the instance's domain exists (or the claim expires), so racing boots see it.
        """
        raise UsageError(f"{self.host.name}: the {self.host.driver} driver cannot build instances (try --dry-run)")

    def drop_claim(self, instance_uuid: str) -> None:
        """Forget a claim (after spawn defined the domain, or on rollback)."""

    def spawn(self, request: SpawnRequest) -> InstanceInfo:
        """Build and start the instance (image cache, disks, network, domain); running on return.

        On failure everything made for this instance on the host is undone before the error is raised.
        """
        raise UsageError(f"{self.host.name}: the {self.host.driver} driver cannot build instances (try --dry-run)")

    def destroy(self, instance: InstanceInfo) -> None:
        """Remove the instance's domain, disks, directory and tap; the cached base image stays."""
        raise UsageError(f"{self.host.name}: the {self.host.driver} driver cannot delete instances")

    def close(self) -> None:
        """Release the host's connection; idempotent."""


def group_record(group: ServerGroupDef, updated_at: str, deleted: bool = False) -> dict:
    return {"name": group.name, "id": group.id, "policy": group.policy, "updated_at": updated_at, "deleted": deleted}
