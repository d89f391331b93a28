"""Boot: where inventory, poll, scheduler and drivers meet (nova-api + conductor + compute, locally).

1. Validate everything the request names before any host is touched (exit 2 on bad input).
2. Poll every host; schedule all instances at once (multi-create consumes from the host states).
3. Claim each instance on its host under the host lock. A claim lost to a racing boot is not a
   host fault: the host is re-polled and the instance rescheduled without using an attempt.
4. Spawn; a failed spawn is undone on that host, which is then excluded (RetryFilter) and the
   instance rescheduled, up to scheduler.max_attempts. Every attempt is logged and reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from novactl import configdrive, crashpoints, fixed_ips, ipam, server_groups, start_gate
from novactl.boot_request import BootRequest, validate
from novactl.claims import ClaimFailed
from novactl.drivers.base import ComputeDriver, SpawnRequest
from novactl.errors import EXIT_FAILED, HostError, NotFound, NovactlError, NoValidHost, UsageError, unknown
from novactl.hoststate import HostState, InstanceInfo
from novactl.images import check_disk_image, image_source
from novactl.instances import resolve
from novactl.models import Flavor, HostConfig, Image, Inventory, Network
from novactl.poller import Cluster, poll
from novactl.remote import Connection
from novactl.scheduler.capacity import CapacityReport
from novactl.scheduler.capacity import capacity as plan_capacity
from novactl.scheduler.request import RequestSpec
from novactl.scheduler.result import SchedulingResult, no_valid_host_message
from novactl.scheduler.scheduler import Scheduler

LOG = logging.getLogger("novactl.conductor")
MAX_BUILDS_AT_ONCE = 16  # a multi-create's builds running side by side, one thread each
_DRIVES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="configdrive")  # threads start on first use
_IMAGE_CHECKS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-check")


@dataclass
class Attempt:
    host: str
    error: str


@dataclass
class BootOutcome:
    instance: InstanceInfo
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # the plan's (forced host)


class BuildFailed(NovactlError):
    exit_code = EXIT_FAILED


def plan(inventory: Inventory, request: BootRequest, cluster: Cluster) -> tuple[RequestSpec, SchedulingResult]:
    """Schedule without touching anything: the dry run, and the first step of a real boot."""
    spec = request_spec(inventory, request, cluster)
    scheduler = Scheduler(inventory.scheduler)
    refuse_unusable_forced_hosts(spec, cluster)
    # select warns, per instance, of each filter a forced host would fail
    return spec, scheduler.select(list(cluster.states.values()), spec, min_count=request.min_count)


def refuse_unusable_forced_hosts(spec: RequestSpec, cluster: Cluster) -> None:
    """A forced host (AZ:HOST) that is down (unreachable) or outside the named zone cannot take the
    instance at all: NoValidHost (exit 3). Other filters are skipped, as in Nova (select warns)."""
    for name in spec.force_hosts:
        state = cluster.state(name)
        if not state.up:
            raise NoValidHost(f"No valid host was found. Forced host {name} is down: {state.down_reason}")
        if spec.availability_zone and state.zone != spec.availability_zone:
            raise NoValidHost(
                f"No valid host was found. Forced host {name} is in availability zone {state.zone!r}, not {spec.availability_zone!r}"
            )


def dry_run(inventory: Inventory, request: BootRequest) -> SchedulingResult:
    """`boot --dry-run`: validate, poll and schedule; nothing is claimed or built anywhere."""
    if not request.image:
        raise UsageError("an image is required (--image)")
    validate(inventory, request, need_image_file=False)  # a plan needs the image's entry, not its file
    with poll(inventory) as cluster:
        return plan(inventory, request, cluster)[1]


def capacity(inventory: Inventory, request: BootRequest) -> tuple[CapacityReport, list[HostState]]:
    """How many more instances of the request's flavor fit, per host and in total; and the polled hosts."""
    validate(inventory, request, need_image_file=False)
    with poll(inventory) as cluster:
        spec = request_spec(inventory, request, cluster)
        states = list(cluster.states.values())
        return plan_capacity(Scheduler(inventory.scheduler), states, spec), states


def request_spec(inventory: Inventory, request: BootRequest, cluster: Cluster | None = None) -> RequestSpec:
    flavor = inventory.flavor(request.flavor)
    image = inventory.image(request.image) if request.image else None
    zone, _, forced_host = (request.availability_zone or "").partition(":")
    if forced_host:
        inventory.host(forced_host)
    hints = dict(request.hints)
    group_name = hints.pop("group", [None])[0]
    group = None
    if group_name and cluster is not None:
        try:
            group = server_groups.instance_group(cluster, group_name)
        except NotFound as exc:  # a hint naming nothing is bad input (README: exit 2), as Nova's 400
            raise UsageError(f"--hint group: {exc}") from None
    for key in ("same_host", "different_host"):
        if key in hints and cluster is not None:
            hints[key] = [_hinted_instance(cluster, key, value) for value in hints[key]]
    return RequestSpec(
        flavor=flavor,
        image=image,
        num_instances=request.max_count,
        availability_zone=zone or None,
        force_hosts=[forced_host] if forced_host else [],
        scheduler_hints=hints,
        instance_group=group,
    )


def _hinted_instance(cluster: Cluster, hint: str, value: str) -> str:
    """The uuid of the instance a same_host/different_host hint names (by uuid, name or uuid prefix).

    One not found is bad input, unless a host is down: it may run there, and a down host can pass
    neither filter, so the value is kept as given.
    """
    try:
        return resolve(cluster, value).uuid
    except NotFound:
        if any(not s.up for s in cluster.states.values()):
            return value
        names = [i.name for i in cluster.instances]
        raise UsageError(unknown(f"--hint {hint}={value}: no such instance", value, names)) from None


def boot(
    inventory: Inventory,
    request: BootRequest,
    progress: Callable[[str, int], None] | None = None,
    opener: Callable[[HostConfig], Connection] | None = None,
) -> list[BootOutcome]:
    """Build every instance the scheduler placed; a multi-create builds them in parallel.

    `opener`: where the first poll's drivers get their connections (drivers.open_ahead's `take`).
    """
    flavor, image = validate(inventory, request)
    # qemu-img reads the image file while the hosts are polled (its start-up is off the boot's path);
    # a file that is not the declared disk image is still refused (exit 2) before anything is claimed.
    image_checked = _IMAGE_CHECKS.submit(check_disk_image, Path(image_source(inventory, image)), image.disk_format, image.name)
    if request.config_drive:
        _DRIVES.submit(configdrive.import_iso_writer)  # likewise: the drives are built once the hosts are chosen
    with poll(inventory, opener=opener) as cluster:
        image_checked.result()
        spec, result = plan(inventory, request, cluster)
        if not result.ok:
            raise result.no_valid_host()
        count = len(result.selections)
        names = [request.name] if count == 1 else [f"{request.name}-{i}" for i in range(1, count + 1)]
        jobs = [
            (_new_instance(name, flavor, image, spec, inventory, request), host, limits)
            for name, host, limits in zip(names, result.selections, result.selection_limits, strict=True)
        ]
        for instance, host, _limits in jobs:
            instance.host = host  # the lease records where the instance is built (informational)
        crashpoints.step("boot.scheduled")
        fixed_ips.allocate(cluster, _boot_network(inventory, request), [instance for instance, _host, _limits in jobs])
        side_by_side = min(count, MAX_BUILDS_AT_ONCE)
        gates = start_gate.gates(count, side_by_side)
        with ThreadPoolExecutor(max_workers=side_by_side, thread_name_prefix="build") as pool:
            futures = [
                pool.submit(_build, cluster, request, instance, host, limits, progress, index, gates[index])
                for index, (instance, host, limits) in enumerate(jobs)
            ]
        for (instance, _host, _limits), future in zip(jobs, futures, strict=True):
            if future.exception() is not None:
                fixed_ips.release(cluster, instance)  # undone on the host already: nothing else holds it
        errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        if count == 1:
            raise errors[0]
        built = [f.result().instance.name for f in futures if f.exception() is None]
        summary = f"{len(errors)} of {count} instances failed; built: {', '.join(built) or 'none'}"
        kind = type(errors[0]) if type(errors[0]) in (BuildFailed, NoValidHost, UsageError) else BuildFailed
        raise kind("\n".join([summary, *(str(e) for e in errors)]))
    outcomes = [f.result() for f in futures]
    for outcome in outcomes:
        outcome.warnings = list(result.warnings)
    return outcomes


def _new_instance(name: str, flavor: Flavor, image: Image, spec: RequestSpec, inventory: Inventory, request: BootRequest) -> InstanceInfo:
    instance_uuid = str(uuid.uuid4())
    network = inventory.networks[0].name if inventory.networks else "default"
    return InstanceInfo(
        uuid=instance_uuid,
        name=name,
        host="",
        flavor=flavor,
        image_id=image.id,
        group=spec.instance_group.name if spec.instance_group else None,
        instance_name=f"instance-{instance_uuid[:8]}",
        vm_state="building",
        task_state="spawning",
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        networks={network: [_mac()]},
        user_metadata=dict(request.meta),
        key_name=request.key_name,
    )


def _mac() -> str:
    return "fa:16:3e:" + ":".join(f"{random.randint(0, 255):02x}" for _ in range(3))  # Nova's OUI


def _network(inventory: Inventory, request: BootRequest, host_bridge: str) -> Network:
    return _boot_network(inventory, request) or Network(name="default", bridge=host_bridge)


def _boot_network(inventory: Inventory, request: BootRequest) -> Network | None:
    """The inventory network the request attaches (--nic, else the first); None: the host's own bridge."""
    if request.network:
        return inventory.network(request.network)
    return inventory.networks[0] if inventory.networks else None


def _build(
    cluster: Cluster,
    request: BootRequest,
    instance: InstanceInfo,
    host: str | None,
    limits: dict[str, float],
    progress,
    launch_index: int = 0,
    gate: start_gate.StartGate | None = None,
) -> BootOutcome:
    """Claim and spawn one instance, rescheduling on failure (Nova's build retry loop).

    The first attempt uses the shared poll; each reschedule polls afresh into a cluster of its own
    (closed here), since builds of a multi-create run side by side.
    """
    inventory = cluster.inventory
    outcome = BootOutcome(instance)
    failed_hosts: list[str] = []
    races = 0
    owned: list[Cluster] = []
    try:
        while host is not None:
            driver, state = cluster.drivers[host], cluster.states[host]
            instance.host, instance.zone = host, state.zone
            network = _network(inventory, request, driver.host.bridge)
            instance.networks = {network.name: next(iter(instance.networks.values()))}
            # The drive (pure CPU work) is built while the claim waits on the host: off the boot's path.
            drive = _DRIVES.submit(_config_drive, inventory, request, instance, launch_index) if request.config_drive else None
            try:
                driver.claim(instance, limits)
                LOG.debug("[instance: %s] Claim successful on %s", instance.uuid, host)
                crashpoints.step("boot.claimed")
                on_progress = (lambda n, h=host: progress(h, n)) if progress else None
                image = inventory.image(instance.image_id)
                source = image_source(inventory, image)
                iso = drive.result() if drive else None
                arrive = functools.partial(gate.arrive, launch_index) if gate else None
                driver.spawn(SpawnRequest(instance, image, source, network, on_progress, request.wait, iso, arrive))
                try:
                    fixed_ips.bind(cluster, instance)
                except ipam.LeaseTaken:  # its address may be another instance's now: the build is undone, not rescheduled
                    _destroy(driver, instance)
                    raise
                return outcome
            except ClaimFailed as exc:
                races += 1
                LOG.warning("[instance: %s] %s; rescheduling", instance.uuid, exc)
                outcome.attempts.append(Attempt(host, exc.reason))
                if races > 4 * len(cluster.states):  # each lost race means another boot progressed; bound it anyway
                    break
            except HostError as exc:
                failed_hosts.append(host)
                outcome.attempts.append(Attempt(host, exc.reason))
                LOG.warning("[instance: %s] Attempt %d on %s failed: %s", instance.uuid, len(failed_hosts), host, exc.reason)
                if len(failed_hosts) >= inventory.scheduler.max_attempts:
                    outcome.error = f"Exceeded maximum number of retries ({inventory.scheduler.max_attempts})"
                    raise BuildFailed(_attempts_message(instance, outcome)) from None
            cluster = poll(inventory)  # claims of racing boots and of our own siblings are visible in it
            owned.append(cluster)
            host, limits = _reschedule(cluster, request, failed_hosts, outcome)
        raise NoValidHost(_attempts_message(instance, outcome))
    finally:
        if gate:
            gate.leave(launch_index)
        for fresh in owned:
            fresh.close()


def _destroy(driver: ComputeDriver, instance: InstanceInfo) -> None:
    try:
        driver.destroy(instance)
    except HostError as exc:
        LOG.error("[instance: %s] could not be destroyed on %s after its build failed: %s", instance.uuid, exc.host, exc.reason)


def _config_drive(inventory: Inventory, request: BootRequest, instance: InstanceInfo, launch_index: int) -> bytes:
    """The instance's config drive: built here, once its host (and so its zone) is chosen."""
    keypair = inventory.keypair(request.key_name) if request.key_name else None
    ports = tuple(_port(inventory, instance, network, macs[0]) for network, macs in instance.networks.items())
    return configdrive.build_iso(
        configdrive.InstanceMetadata(
            uuid=instance.uuid,
            name=instance.name,
            hostname=configdrive.sanitize_hostname(instance.name, default=f"Server-{instance.uuid}"),
            availability_zone=instance.zone,
            launch_index=launch_index,
            key_name=keypair.name if keypair else None,
            key_data=keypair.public_key if keypair else None,
            key_type=keypair.type if keypair else "ssh",
            meta=dict(request.meta),
            user_data=request.user_data,
            ports=ports,
        )
    )


def _port(inventory: Inventory, instance: InstanceInfo, network_name: str, mac: str) -> configdrive.Port:
    """The port as network_data.json describes it: static with the fixed IP, else the network's DHCP."""
    network = next((n for n in inventory.networks if n.name == network_name), None)
    port = configdrive.Port(
        id=instance.uuid, mac=mac, network_id=network_name, devname=f"tap{instance.uuid[:11]}", mtu=network.mtu if network else None
    )
    address = instance.fixed_ips.get(network_name)
    if network is None or address is None:
        return port
    subnet = ipam.subnet(network)
    gateway = str(subnet.gateway) if subnet.gateway else None
    return dataclasses.replace(port, fixed_ip=address, netmask=subnet.netmask, gateway=gateway, dns_nameservers=subnet.dns_nameservers)


def _reschedule(
    cluster: Cluster, request: BootRequest, failed_hosts: list[str], outcome: BootOutcome
) -> tuple[str | None, dict[str, float]]:
    """Pick again for one instance, the hosts that failed it excluded (RetryFilter)."""
    one = BootRequest(**{**request.__dict__, "min_count": 1, "max_count": 1})
    spec = request_spec(cluster.inventory, one, cluster)
    spec.retry_hosts = list(failed_hosts)
    result = Scheduler(cluster.inventory.scheduler).select(list(cluster.states.values()), spec)
    if not result.ok:
        outcome.error = no_valid_host_message(result)
        return None, {}
    return result.chosen, result.limits


def _attempts_message(instance: InstanceInfo, outcome: BootOutcome) -> str:
    lines = [f"instance {instance.name} ({instance.uuid}) could not be built: {outcome.error or 'No valid host was found.'}"]
    lines += [f"attempt {n} on {a.host}: {a.error}" for n, a in enumerate(outcome.attempts, start=1)]
    return "\n".join(lines)
