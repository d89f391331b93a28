"""The contract every host driver keeps (modelled on Nova's nova/virt/driver.py).

A driver speaks for one host. `poll()` is the read side every command starts from; the write side
(claims, spawn, power verbs) grows on the same class. Drivers raise `novactl.errors.HostError`
(or a subclass) naming the host; they never print.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from novactl.hoststate import ComputeNode, InstanceInfo
from novactl.models import HostConfig, Inventory, ServerGroupDef


@dataclass
class HostReport:
    """Everything one poll of a host learns, gathered in as few round trips as the driver can."""

    node: ComputeNode
    instances: list[InstanceInfo]
    disabled: bool = False
    disabled_reason: str | None = None
    cached_images: set[str] = field(default_factory=set)  # image ids whose base is in _base
    server_groups: list[dict] = field(default_factory=list)  # group records stored on the host


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

    def close(self) -> None:
        """Release the host's connection; idempotent."""


def group_record(group: ServerGroupDef, updated_at: str, deleted: bool = False) -> dict:
    return {"name": group.name, "id": group.id, "policy": group.policy, "updated_at": updated_at, "deleted": deleted}
