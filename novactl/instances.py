"""Instances across the cluster: Nova's status model and name/ID resolution (read from the hosts)."""

from __future__ import annotations

from novactl.errors import NotFound, UsageError
from novactl.hoststate import PAUSED, POWER_STATE_NAMES, RUNNING, SHUTDOWN, SUSPENDED, InstanceInfo
from novactl.poller import Cluster

# vm_state -> Status, as nova/api/openstack/common.py's _STATE_MAP (default task_state entries).
STATUS_BY_VM_STATE = {
    "active": "ACTIVE",
    "building": "BUILD",
    "stopped": "SHUTOFF",
    "paused": "PAUSED",
    "suspended": "SUSPENDED",
    "resized": "VERIFY_RESIZE",
    "error": "ERROR",
    "deleted": "DELETED",
}
STATUS_BY_TASK_STATE = {
    "resize_prep": "RESIZE",
    "resize_migrating": "RESIZE",
    "resize_migrated": "RESIZE",
    "resize_finish": "RESIZE",
    "resize_reverting": "REVERT_RESIZE",
    "resize_confirming": "VERIFY_RESIZE",
    "migrating": "MIGRATING",
    "rebooting": "REBOOT",
    "rebooting_hard": "HARD_REBOOT",
    "deleting": "ACTIVE",
}


def vm_state(instance: InstanceInfo) -> str:
    """The stored vm_state, corrected by what libvirt says the guest is doing (libvirt wins for power)."""
    if instance.vm_state in ("active", "stopped", "paused", "suspended"):
        by_power = {RUNNING: "active", SHUTDOWN: "stopped", PAUSED: "paused", SUSPENDED: "suspended"}
        if instance.metadata.get("managed_save") == "1":
            return "suspended"
        return by_power.get(instance.power_state, instance.vm_state)
    return instance.vm_state


def status(instance: InstanceInfo, host_up: bool = True) -> str:
    if not host_up:
        return "UNKNOWN"
    if instance.task_state in STATUS_BY_TASK_STATE and instance.vm_state != "error":
        return STATUS_BY_TASK_STATE[instance.task_state]
    return STATUS_BY_VM_STATE.get(vm_state(instance), vm_state(instance).upper())


def power_state_name(instance: InstanceInfo) -> str:
    return POWER_STATE_NAMES.get(instance.power_state, "NOSTATE")


def resolve(cluster: Cluster, name_or_id: str) -> InstanceInfo:
    """An instance by uuid (or unique prefix of 8+), display name or domain name; ambiguity is an error."""
    candidates = cluster.instances
    exact = [i for i in candidates if name_or_id in (i.uuid, i.instance_name)]
    if not exact:
        exact = [i for i in candidates if i.name == name_or_id]
    if not exact and len(name_or_id) >= 8:
        exact = [i for i in candidates if i.uuid.startswith(name_or_id)]
    if len(exact) > 1:
        listing = ", ".join(f"{i.uuid} on {i.host}" for i in exact)
        raise UsageError(f"more than one instance is named {name_or_id!r}: {listing}; use an ID")
    if not exact:
        down = [s.host for s in cluster.states.values() if not s.up]
        hint = f" (hosts down, not searched: {', '.join(down)})" if down else ""
        raise NotFound(f"no instance {name_or_id!r}{hint}")
    return exact[0]
