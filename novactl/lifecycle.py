"""Day-2 verbs on existing instances: power (stop, start, reboot, suspend, resume, pause, unpause),
console logs and image-create. Moves (resize, migrate, live migration, evacuate) are in moves.py.

Each verb polls, resolves names, checks the instance's vm_state as Nova's API does
(`check_instance_state`: a verb that does not apply is refused, exit 2, before any host is touched),
then asks the instance's host driver. Several instances may be named; one failing does not stop the
others, and the command then exits 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from novactl import fixed_ips
from novactl.drivers.base import ComputeDriver
from novactl.errors import HostError, NotFound, NovactlError, UsageError
from novactl.hoststate import InstanceInfo
from novactl.images import check_new_image_name, file_md5
from novactl.instances import resolve, vm_state
from novactl.inventory_edit import append_item
from novactl.models import Inventory
from novactl.poller import Cluster, poll

LOG = logging.getLogger("novactl.compute.api")

# The vm_states each verb accepts (nova/compute/api.py's @check_instance_state).
ALLOWED_STATES = {
    "stop": {"active", "error"},
    "start": {"stopped"},
    "reboot": {"active", "paused", "suspended", "stopped", "error"},  # soft: active only
    "suspend": {"active"},
    "resume": {"suspended"},
    "pause": {"active"},
    "unpause": {"paused"},
}


@dataclass
class Outcome:
    instance: InstanceInfo
    result: str  # what happened, or "ERROR: why"
    exit_code: int = 0  # the error's (errors.py) when this instance failed

    @property
    def failed(self) -> bool:
        return self.exit_code != 0


def find(cluster: Cluster, name_or_id: str) -> InstanceInfo:
    """resolve(), except that a name not found while hosts are down is a host failure naming them."""
    try:
        instance = resolve(cluster, name_or_id)
    except NotFound:
        down = [s for s in cluster.states.values() if not s.up]
        if not down:
            raise
        reasons = "; ".join(f"{s.host}: {s.down_reason}" for s in down)
        raise HostError(down[0].host, f"instance {name_or_id!r} not found on the hosts that answered; down: {reasons}") from None
    return instance


def check_state(verb: str, instance: InstanceInfo, allowed: set[str] | None = None) -> str:
    """The instance's vm_state, or UsageError when `verb` does not apply to it (Nova's 409)."""
    state = vm_state(instance)
    if instance.task_state:
        raise UsageError(f"cannot {verb} instance {instance.name} while it is in task_state {instance.task_state}")
    if state not in (allowed or ALLOWED_STATES[verb]):
        raise UsageError(f"cannot {verb} instance {instance.name} while it is in vm_state {state}")
    return state


def power(inventory: Inventory, names: list[str], verb: str, timeout: float = 60, hard: bool = False) -> list[Outcome]:
    """Run one power verb on every named instance (all resolved and checked first)."""
    actions: dict[str, Callable[[ComputeDriver, InstanceInfo], str]] = {
        "stop": lambda d, i: "stopped" if d.power_off(i, timeout) else f"stopped (destroyed after {timeout:g} s)",
        "start": lambda d, i: _done(d.power_on(i), "started"),
        "reboot": lambda d, i: f"{d.reboot(i, hard, timeout)} rebooted",
        "suspend": lambda d, i: _done(d.suspend(i), "suspended"),
        "resume": lambda d, i: _done(d.resume(i), "resumed"),
        "pause": lambda d, i: _done(d.pause(i), "paused"),
        "unpause": lambda d, i: _done(d.unpause(i), "unpaused"),
    }
    allowed = ALLOWED_STATES[verb] - ({"paused", "suspended", "stopped", "error"} if verb == "reboot" and not hard else set())
    outcomes = []
    with poll(inventory) as cluster:
        targets = [find(cluster, name) for name in names]
        for instance in targets:
            check_state(verb, instance, allowed)
        for instance in targets:
            driver = cluster.drivers[instance.host]
            outcome = _attempt(instance, lambda d=driver, i=instance: actions[verb](d, i))
            if outcome.failed and verb == "reboot":
                set_error(driver, instance, outcome.result)  # as Nova: a failed reboot leaves ERROR
            elif not outcome.failed and instance.vm_state == "error":
                _clear_error(driver, instance)
            outcomes.append(outcome)
    return outcomes


# The task_states of a move in progress (possibly run by another novactl): deleting then would leave
# the move's other copy behind. Nova lets its conductor sort that out; novactl has none, so it refuses.
MOVE_TASK_STATES = {
    "resize_prep",
    "resize_migrating",
    "resize_migrated",
    "resize_finish",
    "resize_reverting",
    "resize_confirming",
    "migrating",
}


def delete(inventory: Inventory, names: list[str]) -> list[Outcome]:
    """Delete instances as Nova's API does: in any vm_state, and a VERIFY_RESIZE instance's source copy
    goes too (Nova's _confirm_resize_on_deleting). Refused, before any host is touched, during a move
    or when a resized instance's source host is down (its copy there would be left behind)."""
    with poll(inventory) as cluster:
        targets = [find(cluster, name) for name in names]
        for instance in targets:
            if instance.task_state in MOVE_TASK_STATES:
                move = instance.task_state
                raise UsageError(f"cannot delete instance {instance.name} while it is in task_state {move} (a move is in progress)")
            source = _resize_source(instance)
            if source and not cluster.state(source).up:
                state = cluster.state(source)
                raise HostError(source, f"is down ({state.down_reason}); instance {instance.name}'s copy there would be left behind")
        return [_attempt(instance, lambda i=instance: _delete_one(cluster, i)) for instance in targets]


def _resize_source(instance: InstanceInfo) -> str | None:
    return instance.metadata.get("old_host") if instance.vm_state == "resized" else None


def _delete_one(cluster: Cluster, instance: InstanceInfo) -> str:
    source = _resize_source(instance)
    if source:
        cluster.drivers[source].confirm_migration(instance.uuid)
    cluster.drivers[instance.host].destroy(instance)
    fixed_ips.release(cluster, instance)
    return "deleted"


def set_error(driver: ComputeDriver, instance: InstanceInfo, message: str) -> None:
    """vm_state ERROR with Nova's fault fields, kept in the domain's metadata (best effort)."""
    instance.vm_state, instance.task_state = "error", None
    instance.fault = {"code": 500, "message": message, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    try:
        driver.save_state(instance)
    except NovactlError as exc:
        LOG.error("[instance: %s] could not record the error state: %s", instance.uuid, exc)


def _clear_error(driver: ComputeDriver, instance: InstanceInfo) -> None:
    """A verb that succeeded on an ERROR instance makes it usable again (Nova's hard reboot / stop)."""
    instance.vm_state, instance.fault = "active", None  # vm_state() then follows the power state
    with contextlib.suppress(NovactlError):
        driver.save_state(instance)


def _done(_nothing: None, text: str) -> str:
    return text


def _attempt(instance: InstanceInfo, action: Callable[[], str]) -> Outcome:
    try:
        return Outcome(instance, action())
    except NovactlError as exc:
        LOG.error("[instance: %s] %s", instance.uuid, exc)
        return Outcome(instance, f"ERROR: {exc}", exc.exit_code)


def console_log(inventory: Inventory, name: str, length: int | None) -> str:
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        return cluster.drivers[instance.host].console_log(instance, length)


# -- image-create ------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    entry: dict  # the inventory's images: item
    path: Path  # the qcow2 next to the inventory
    appended: bool  # False: the user must add `entry` to the inventory


def image_create(inventory: Inventory, name: str, image_name: str) -> Snapshot:
    """Flatten the instance's disk into `<inventory dir>/<image_name>.qcow2` and register it."""
    check_new_image_name(inventory, image_name)
    path = inventory.source_dir / f"{image_name}.qcow2"
    if path.exists():
        raise UsageError(f"{path} already exists")
    image_id = str(uuid.uuid4())
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        check_state("snapshot", instance, {"active", "stopped", "paused"})
        part = path.with_name(f".{path.name}.part")
        try:
            cluster.drivers[instance.host].snapshot(instance, image_id, str(part))
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)
    entry = {"id": image_id, "name": image_name, "file": path.name, "disk_format": "qcow2", "checksum": file_md5(path)}
    entry["properties"] = {"instance_uuid": instance.uuid}  # Glance's snapshot property, for the record
    appended = os.path.isfile(inventory.path) and append_item(Path(inventory.path), "images", entry)
    return Snapshot(entry, path, appended)
