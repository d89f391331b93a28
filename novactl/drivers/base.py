"""The contract every host driver keeps (modelled on Nova's nova/virt/driver.py).

A driver speaks for one host. `poll()` is the read side every command starts from; the write side
(claims, spawn, power verbs) grows on the same class. Drivers raise `novactl.errors.HostError`
(or a subclass) naming the host; they never print.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from novactl.errors import UsageError
from novactl.hoststate import ComputeNode, InstanceInfo
from novactl.ipam import Subnet
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
    wait: bool = True  # return only once libvirt reports the domain running
    config_drive: bytes | None = None  # the ISO to write as <instance dir>/disk.config (configdrive.py)
    # Multi-create (start_gate.py): called once the guest is launched paused; returns when it may run.
    start_gate: Callable[[], None] | None = None


@dataclass
class CachedImage:
    """One base file in a host's image cache, as Nova's imagecache manager sees it."""

    name: str  # file name in _base: sha1 of the image id
    size: int | None  # bytes; None: unknown (a fake host's facts do not say)
    mtime: int | None  # last used (touched on each use), host clock, epoch seconds; None: unknown
    users: list[str] = field(default_factory=list)  # uuids of the instances whose disks it backs


@dataclass
class ImageCacheListing:
    bases: list[CachedImage]
    scanned_at: int  # host clock when the scan started: a base touched since is in use
    # Instance disks whose backing file could not be read: with any, nothing may be pruned.
    unreadable: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Survey:
    """What `cleanup` must know of every host before it removes anything on one of them."""

    domains: frozenset[str] = frozenset()  # uuids of novactl's domains on the host
    live_claims: frozenset[str] = frozenset()  # uuids of builds in flight (their builder lives)
    # uuids with an instance directory (`<uuid>` or a cold move's `<uuid>_resize`): disks that may be
    # defined again, e.g. between a same-host resize-revert's destroy and define
    directories: frozenset[str] = frozenset()


@dataclass
class ClusterView:
    """The surveys of every host that answered: where each instance's domain is, what is in flight."""

    domains: dict[str, str] = field(default_factory=dict)  # instance uuid -> host
    copies: dict[str, set[str]] = field(default_factory=dict)  # uuid -> its hosts, for a uuid with domains on several
    live_claims: set[str] = field(default_factory=set)
    directories: set[str] = field(default_factory=set)
    down: list[str] = field(default_factory=list)  # hosts that did not answer: they may hold anything


@dataclass
class Leftover:
    """One thing `cleanup` found: what, where, and what it did (or would do, or why it kept it)."""

    kind: str
    name: str
    action: str


@dataclass(frozen=True)
class ConsoleEnded:
    """Why an attached serial console ended."""

    why: str
    failed: bool = False  # the host went away or the stream broke, rather than the guest stopping


class Console(Protocol):
    """An attached serial console: the guest's output arrives through `read`, keystrokes go to `write`."""

    @property
    def wakeup(self) -> int:
        """A descriptor that is readable whenever `read` has something (for select)."""
        ...

    def read(self) -> bytes | ConsoleEnded | None:
        """Output, the end, or None when nothing has arrived yet; never blocks."""
        ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class ComputeDriver(abc.ABC):
    # What the driver can do, as Nova's ComputeDriver.capabilities: callers ask here instead of
    # testing which driver a host has. A subclass overrides the entries it supports.
    capabilities: ClassVar[dict[str, bool]] = {
        "has_imagecache": False,  # keeps images in a cache on the host (polls report cached ids)
        "builds_instances": False,  # claim, spawn, destroy and the power verbs
        "stores_server_groups": False,  # server group records are saved on the host
        "supports_migrate": False,  # cold moves: resize, migrate, their confirm and revert
        "supports_live_migration": False,
        "supports_snapshot": False,  # image-create
    }

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

    # -- crash recovery (novactl/recovery.py drives them) ------------------------------------------

    def survey(self) -> Survey:
        """The host's novactl domains and live claims (a driver that keeps nothing on hosts: none)."""
        return Survey()

    def clean_up(self, recheck: Callable[[], ClusterView], view: ClusterView, dry_run: bool) -> list[Leftover]:
        """Under the host lock, remove what dead commands left on the host; never a live build's.

        `view` is every host's survey; `recheck` surveys again, for the steps that are safe only if
        no move is in flight (a move's source is recognised by the target's claim).
        """
        return []

    # -- fixed IPs, on a network's allocating host (novactl/fixed_ips.py drives them) ---------------

    def allocate_fixed_ips(
        self, network: str, subnet: Subnet, instances: list[InstanceInfo], in_use: set[str], survey: Callable[[], ClusterView]
    ) -> list[str]:
        """Under the network's IPAM lock on this host: the lowest free pool address for each instance
        (free of every lease and of `in_use`), each recorded as a pending lease, in order. When the
        pool runs short, leases no instance holds are reclaimed first if `survey()` saw every host;
        then NoMoreAddresses, with nothing written."""
        raise self._unsupported("allocate fixed IPs")

    def bind_fixed_ip(self, network: str, address: str, instance_uuid: str) -> None:
        """The instance's domain exists: its lease no longer expires."""
        raise self._unsupported("allocate fixed IPs")

    def release_fixed_ip(self, network: str, address: str, instance_uuid: str) -> None:
        """Remove the instance's lease of `address` (another instance's lease of it stays)."""
        raise self._unsupported("allocate fixed IPs")

    def reclaim_fixed_ips(self, network: str, survey: Callable[[], ClusterView], dry_run: bool) -> list[Leftover]:
        """Under the IPAM lock, remove leases whose builder is dead and whose instance is in no domain
        or live claim of `survey()` (taken under the lock; nothing goes unless every host answered)."""
        return []

    # -- lifecycle: power verbs and moves (novactl/lifecycle.py drives them) ------------------------

    def _unsupported(self, what: str) -> UsageError:
        return UsageError(f"{self.host.name}: the {self.host.driver} driver cannot {what}")

    def save_state(self, instance: InstanceInfo) -> None:
        """Persist vm_state, task_state, fault, flavor and meta of the instance where polls read them."""
        raise self._unsupported("change instances")

    def power_off(self, instance: InstanceInfo, timeout: float) -> bool:
        """ACPI shutdown, destroy after `timeout` s; True when the guest shut down cleanly."""
        raise self._unsupported("stop instances")

    def power_on(self, instance: InstanceInfo) -> None:
        raise self._unsupported("start instances")

    def reboot(self, instance: InstanceInfo, hard: bool, timeout: float) -> str:
        """Reboot; returns "soft" or "hard" (what was done: a soft reboot may fall back to hard)."""
        raise self._unsupported("reboot instances")

    def suspend(self, instance: InstanceInfo) -> None:
        raise self._unsupported("suspend instances")

    def resume(self, instance: InstanceInfo) -> None:
        raise self._unsupported("resume instances")

    def pause(self, instance: InstanceInfo) -> None:
        raise self._unsupported("pause instances")

    def unpause(self, instance: InstanceInfo) -> None:
        raise self._unsupported("unpause instances")

    def console_log(self, instance: InstanceInfo, length: int | None) -> str:
        raise self._unsupported("read console logs")

    def learned_addresses(self, instance: InstanceInfo) -> dict[str, list[str]]:
        """{network: [IPv4, ...]} the host has learned for a running guest (DHCP lease, ARP); {} if none."""
        return {}

    def connect_guest(self, address: str, port: int, timeout: float):
        """A stream to a guest's `address:port` from its host (through it when the host is remote)."""
        raise self._unsupported("connect to guests")

    def open_console(self, instance: InstanceInfo, force: bool) -> Console:
        """Attach to the running guest's serial console (`force`: take it over from another session)."""
        raise self._unsupported("attach serial consoles")

    def migrate_disk_and_power_off(self, instance: InstanceInfo, dest: ComputeDriver, timeout: float) -> None:
        """Cold move, source side: stop, keep the source aside, copy the disks to `dest`."""
        raise self._unsupported("migrate instances")

    def finish_migration(self, instance: InstanceInfo, image: Image, image_source: str, network: Network, power_on: bool) -> None:
        """Cold move, target side: the copied disks become the instance (undone on failure)."""
        raise self._unsupported("migrate instances")

    def finish_revert_migration(self, instance: InstanceInfo, power_on: bool) -> None:
        """Cold move undone, source side: the kept instance defined again."""
        raise self._unsupported("migrate instances")

    def confirm_migration(self, instance_uuid: str) -> None:
        """Cold move confirmed, source side: the kept copy removed."""
        raise self._unsupported("migrate instances")

    def live_migration(self, instance: InstanceInfo, dest: ComputeDriver, image: Image, image_source: str, network: Network) -> float:
        """Move the running guest to `dest` with its local disks; seconds taken. Nothing left on `dest` on failure."""
        raise self._unsupported("live-migrate instances")

    def image_cache(self) -> ImageCacheListing:
        """The bases in the host's image cache and which instances' disks they back."""
        raise self._unsupported("list an image cache")

    def remove_cached_image(self, name: str, unused_since: int) -> str:
        """Remove base `name` unless a transfer holds its image lock or it was used at or after
        `unused_since` (host clock); returns "removed", "in use", "locked" or "gone"."""
        raise self._unsupported("prune an image cache")

    def cache_image(self, image: Image, image_source: str, progress: Callable[[int], None] | None = None) -> bool:
        """Put `image` in the host's cache; False when it was there already."""
        raise self._unsupported("cache images")

    def snapshot(self, instance: InstanceInfo, image_id: str, local_path: str) -> None:
        """Flatten the instance's root disk into a standalone qcow2 at `local_path` on this machine."""
        raise self._unsupported("snapshot instances")


def group_record(group: ServerGroupDef, updated_at: str, deleted: bool = False) -> dict:
    return {"name": group.name, "id": group.id, "policy": group.policy, "updated_at": updated_at, "deleted": deleted}
