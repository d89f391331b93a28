"""Moves: resize (+ confirm, revert), cold migrate, live migration and evacuate.

Every move is a boot in miniature: the scheduler picks the target with the instance's flavor, image
and server group (the source excluded through `ignore_hosts`), the target claims under its host lock,
and only then does anything move. A failed move leaves the instance where it was, running as before,
and nothing on the target.

Cold moves end in VERIFY_RESIZE as in Nova: the instance runs on the target with vm_state `resized`
and its old host, flavor and vm_state in its metadata, while the source keeps `<uuid>_resize` until
`resize-confirm` (drop it) or `resize-revert` (back to it). Unlike Nova, the source's resources are
not held during VERIFY_RESIZE (no control plane holds them): a revert schedules onto the old host
again and fails with exit 3 if it no longer fits.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from novactl import server_groups
from novactl.claims import ClaimFailed
from novactl.drivers.base import ComputeDriver
from novactl.errors import HostError, NovactlError, NoValidHost, UsageError
from novactl.hoststate import PAUSED, RUNNING, SHUTDOWN, InstanceInfo
from novactl.images import sendable_image_source
from novactl.lifecycle import Outcome, check_state, find
from novactl.models import Flavor, Inventory, Network
from novactl.poller import Cluster, poll
from novactl.scheduler.request import InstanceGroup, RequestSpec
from novactl.scheduler.scheduler import Scheduler

LOG = logging.getLogger("novactl.conductor")
OLD_KEYS = ("old_host", "old_flavor", "old_vm_state")


@dataclass
class Target:
    host: str
    limits: dict[str, float]
    note: str = ""  # why this host (e.g. "same host")


# -- scheduling --------------------------------------------------------------------------------------


def select_target(
    cluster: Cluster,
    instance: InstanceInfo,
    flavor: Flavor,
    host: str | None = None,
    same_host: bool = False,
    planned: dict[str, str] | None = None,
) -> Target:
    """Schedule a move of `instance` with `flavor`: to `host` if given (it must still pass the
    filters), on its own host if `same_host` and it fits there, else anywhere but its own host."""
    scheduler = Scheduler(cluster.inventory.scheduler)
    spec = move_spec(cluster, instance, flavor, planned or {})
    states = list(cluster.states.values())
    if same_host:  # Nova's allow_resize_to_same_host, preferring to stay
        result = scheduler.select([cluster.state(instance.host)], spec)
        if result.ok:
            return Target(instance.host, result.limits, "same host")
    if host is not None:
        if host == instance.host:
            raise UsageError(f"instance {instance.name} is already on {host}")
        states = [cluster.state(host)]
    spec.ignore_hosts = [instance.host]
    result = scheduler.select(states, spec)
    if not result.ok:
        raise result.no_valid_host()
    note = f"{instance.host} has no room" if same_host else ""
    return Target(result.chosen, result.limits, note)


def move_spec(cluster: Cluster, instance: InstanceInfo, flavor: Flavor, planned: dict[str, str]) -> RequestSpec:
    """The request a move of `instance` schedules with; `planned` maps instance uuid -> the host a
    planned but not yet made move puts it on."""
    known = {i.id: i for i in cluster.inventory.images}
    return RequestSpec(
        flavor=flavor,
        image=known.get(instance.image_id),  # gone from the inventory: the move itself will say so
        instance_group=_group(cluster, instance, planned),
        instance_uuid=instance.uuid,
    )


def _group(cluster: Cluster, instance: InstanceInfo, planned: dict[str, str]) -> InstanceGroup | None:
    """The instance's server group without the instance itself (its own place must not bind it),
    with members whose moves are already planned (evacuate) counted where they are going."""
    if not instance.group:
        return None
    group = server_groups.instance_group(cluster, instance.group)
    pairs = [(m, planned.get(m, h)) for m, h in zip(group.members, group.hosts, strict=True) if m != instance.uuid]
    return InstanceGroup(group.name, group.policy, [m for m, _ in pairs], [h for _, h in pairs])


def _claim(cluster: Cluster, instance: InstanceInfo, target: Target) -> None:
    try:
        cluster.drivers[target.host].claim(instance, target.limits)
    except ClaimFailed as exc:
        raise NoValidHost(f"No valid host was found. {exc}") from None


def _network(cluster: Cluster, instance: InstanceInfo, host: str) -> Network:
    name = next(iter(instance.networks), "default")
    for network in cluster.inventory.networks:
        if network.name == name:
            return network
    return Network(name=name, bridge=cluster.drivers[host].host.bridge)


def _image(cluster: Cluster, instance: InstanceInfo):
    image = cluster.inventory.image(instance.image_id)
    return image, sendable_image_source(cluster.inventory, image)


# -- cold: resize and migrate ------------------------------------------------------------------------


def cold_move(cluster: Cluster, instance: InstanceInfo, flavor: Flavor, target: Target, timeout: float) -> InstanceInfo:
    """Claim, stop, copy, define on the target: the instance ends in VERIFY_RESIZE there."""
    src, dst = cluster.drivers[instance.host], cluster.drivers[target.host]
    image, source = _image(cluster, instance)
    network = _network(cluster, instance, target.host)
    moved = dataclasses.replace(instance, flavor=flavor, host=target.host, metadata=dict(instance.metadata))
    _claim(cluster, moved, target)
    was_active = instance.power_state == RUNNING
    LOG.info("[instance: %s] Migrating from %s to %s (flavor %s)", instance.uuid, instance.host, target.host, flavor.name)
    try:
        src.migrate_disk_and_power_off(instance, dst, timeout)
    except Exception as exc:  # whatever broke, the instance must end up running where it was
        _release(dst, instance.uuid)
        if was_active:
            _put_back(instance, exc, lambda: src.power_on(instance))
        raise
    moved.metadata.update(old_host=instance.host, old_flavor=instance.flavor.id, old_vm_state="active" if was_active else "stopped")
    moved.vm_state, moved.task_state = "resized", None
    try:
        dst.finish_migration(moved, image, source, network, power_on=was_active)
    except Exception as exc:
        _release(dst, instance.uuid)
        _put_back(instance, exc, lambda: src.finish_revert_migration(instance, power_on=was_active))
        raise
    return moved


def _release(dst: ComputeDriver, instance_uuid: str) -> None:
    """Drop the target's claim; a target that no longer answers keeps it only until `cleanup` (its
    builder lock went with the lost connection, so it already counts nowhere), and must not stop the
    rollback or the bookkeeping that follows."""
    try:
        dst.drop_claim(instance_uuid)
    except HostError as exc:
        LOG.warning("[instance: %s] could not drop the claim on %s: %s", instance_uuid, exc.host, exc.reason)


def _put_back(instance: InstanceInfo, cause: Exception, undo: Callable[[], None]) -> None:
    """Run a rollback step; if it fails too, say plainly where the instance's pieces are."""
    try:
        undo()
    except NovactlError as exc:
        raise HostError(
            instance.host,
            f"moving {instance.name} failed ({cause}) and putting it back failed too ({exc}); its disks are in "
            f"{instance.uuid}_resize or {instance.uuid} under the instances path of {instance.host}",
        ) from None


def resize(inventory: Inventory, name: str, flavor_name: str, timeout: float) -> tuple[InstanceInfo, str]:
    flavor = inventory.flavor(flavor_name)
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        check_state("resize", instance, {"active", "stopped"})
        old = instance.flavor
        if flavor.id == old.id:
            raise UsageError(f"instance {instance.name} already has flavor {flavor.name}")
        if flavor.disk < old.disk:
            raise UsageError(f"Resize to smaller disk flavor is not allowed ({flavor.name}: {flavor.disk} GB < {old.name}: {old.disk} GB)")
        target = select_target(cluster, instance, flavor, same_host=True)
        moved = cold_move(cluster, instance, flavor, target, timeout)
    return moved, target.note


def migrate(inventory: Inventory, name: str, host: str | None, timeout: float) -> InstanceInfo:
    if host is not None:
        inventory.host(host)
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        check_state("migrate", instance, {"active", "stopped"})
        target = select_target(cluster, instance, instance.flavor, host=host)
        return cold_move(cluster, instance, instance.flavor, target, timeout)


def resize_confirm(inventory: Inventory, name: str) -> InstanceInfo:
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        return _confirm(cluster, instance)


def _confirm(cluster: Cluster, instance: InstanceInfo) -> InstanceInfo:
    old_host = _old_host(cluster, instance, "confirm")
    cluster.drivers[old_host].confirm_migration(instance.uuid)
    instance.vm_state = "active" if instance.power_state in (RUNNING, PAUSED) else "stopped"
    for key in OLD_KEYS:
        instance.metadata.pop(key, None)
    cluster.drivers[instance.host].save_state(instance)
    return instance


def resize_revert(inventory: Inventory, name: str) -> InstanceInfo:
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        old_host = _old_host(cluster, instance, "revert")
        old = dataclasses.replace(instance, flavor=cluster.inventory.flavor(instance.metadata["old_flavor"]), host=old_host)
        if old_host != instance.host:  # its resources were freed meanwhile: claim them back first
            target = select_target(cluster, dataclasses.replace(instance, host=instance.host), old.flavor, host=old_host)
            _claim(cluster, old, target)
        src, dst = cluster.drivers[instance.host], cluster.drivers[old_host]
        was_active = instance.metadata.get("old_vm_state") == "active"
        try:
            src.destroy(instance)
            dst.finish_revert_migration(old, power_on=was_active)
        finally:
            _release(dst, instance.uuid)
    # What the restored definition says: the metadata saved before the move.
    old.vm_state, old.power_state = ("active", RUNNING) if was_active else ("stopped", SHUTDOWN)
    old.metadata = {k: v for k, v in instance.metadata.items() if k not in OLD_KEYS}
    return old


def _old_host(cluster: Cluster, instance: InstanceInfo, verb: str) -> str:
    if instance.vm_state != "resized" or "old_host" not in instance.metadata:
        raise UsageError(f"cannot {verb} the resize of {instance.name}: it is not in VERIFY_RESIZE")
    old_host = instance.metadata["old_host"]
    state = cluster.state(old_host)
    if not state.up:
        raise HostError(old_host, f"is down ({state.down_reason}); the resize of {instance.name} cannot be {verb}ed")
    return old_host


# -- live migration ----------------------------------------------------------------------------------


def live_migration(inventory: Inventory, name: str, host: str | None, expected_host: str | None = None) -> tuple[InstanceInfo, float]:
    """Live-migrate `name` to `host` (or the scheduler's choice); with `expected_host`, only if the
    instance is still there (a planned move whose plan went stale is refused)."""
    if host is not None:
        inventory.host(host)
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        if expected_host is not None and instance.host != expected_host:
            raise NovactlError(f"instance {instance.name} is on {instance.host} now, not on {expected_host} as planned")
        check_state("live-migrate", instance, {"active", "paused"})
        target = select_target(cluster, instance, instance.flavor, host=host)
        return _live(cluster, instance, target)


def _live(cluster: Cluster, instance: InstanceInfo, target: Target) -> tuple[InstanceInfo, float]:
    src, dst = cluster.drivers[instance.host], cluster.drivers[target.host]
    image, source = _image(cluster, instance)
    _claim(cluster, instance, target)
    instance.task_state = "migrating"
    try:
        src.save_state(instance)
        seconds = src.live_migration(instance, dst, image, source, _network(cluster, instance, target.host))
    except Exception:
        # Whatever broke, the guest still runs on the source: clear MIGRATING there, keep the first error.
        instance.task_state = None
        try:
            src.save_state(instance)
        except Exception:
            LOG.exception("[instance: %s] could not clear task_state migrating on %s", instance.uuid, instance.host)
        raise
    finally:
        _release(dst, instance.uuid)
    instance.task_state, instance.host = None, target.host
    dst.save_state(instance)
    return instance, seconds


# -- evacuate ----------------------------------------------------------------------------------------


@dataclass
class Step:
    instance: InstanceInfo
    action: str | None  # live-migration | migrate | None (cannot move)
    target: Target | None
    problem: str = ""
    exit_code: int = 0  # of the problem


def evacuate(inventory: Inventory, host: str, dry_run: bool, timeout: float) -> list[tuple[Step, Outcome | None]]:
    """Plan every instance of `host` onto others (consuming as it plans), then move them one by one:
    running or paused guests live, shut-off ones cold (confirmed at once: the host must end empty)."""
    inventory.host(host)
    with poll(inventory) as cluster:
        state = cluster.state(host)
        if not state.up:
            raise HostError(host, f"is down ({state.down_reason}); evacuate moves instances off a host that answers")
        steps = _plan(cluster, host)
        if dry_run:
            return [(step, None) for step in steps]
        return [(step, _execute(cluster, step, timeout)) for step in steps]


def _plan(cluster: Cluster, host: str) -> list[Step]:
    steps, planned = [], {}
    for instance in sorted(cluster.reports[host].instances, key=lambda i: (i.created, i.name)):
        running = instance.power_state in (RUNNING, PAUSED)
        action = "live-migration" if running else "migrate"
        try:
            check_state(action, instance, {"active", "paused", "stopped"})
            target = select_target(cluster, instance, instance.flavor, planned=planned)
        except NovactlError as exc:
            steps.append(Step(instance, None, None, str(exc), exc.exit_code))
            continue
        planned[instance.uuid] = target.host
        steps.append(Step(instance, action, target))
    return steps


def _execute(cluster: Cluster, step: Step, timeout: float) -> Outcome:
    instance, target = step.instance, step.target
    if target is None:
        return Outcome(instance, f"ERROR: {step.problem}", step.exit_code)
    try:
        if step.action == "live-migration":
            _, seconds = _live(cluster, instance, target)
            return Outcome(instance, f"live-migrated to {target.host} in {seconds:.1f} s")
        moved = cold_move(cluster, instance, instance.flavor, target, timeout)
        _confirm(cluster, moved)
        return Outcome(instance, f"migrated to {target.host} (confirmed)")
    except NovactlError as exc:
        return Outcome(instance, f"ERROR: {exc}", exc.exit_code)
