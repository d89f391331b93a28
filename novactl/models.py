"""The inventory's objects as plain dataclasses: what the YAML says, validated, with defaults applied.

Field names follow Nova wherever Nova has one (flavor fields, allocation ratios, scheduler options).
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from novactl.errors import NotFound, UsageError, unknown

# The libvirt URIs a host may name (HostConfig.libvirt_uri). Anything else reaches libvirt.open as is:
# qemu+ext://...?command= runs a program, known_hosts_verify=ignore skips the host-key check.
LIBVIRT_URIS = ("qemu:///system", "qemu:///session")

DEFAULT_FILTERS = [
    "RetryFilter",
    "AvailabilityZoneFilter",
    "RamFilter",
    "DiskFilter",
    "ComputeFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
]
DEFAULT_WEIGHERS = [
    "RAMWeigher",
    "DiskWeigher",
    "CPUWeigher",
    "ServerGroupSoftAffinityWeigher",
    "ServerGroupSoftAntiAffinityWeigher",
]


@dataclass(frozen=True, repr=False)
class Flavor:
    """Nova's flavor: the resources an instance asks for."""

    id: str
    name: str
    ram: int  # MB
    disk: int  # GB, root disk
    vcpus: int
    ephemeral: int = 0  # GB
    swap: int = 0  # MB, as in Nova
    rxtx_factor: float = 1.0
    is_public: bool = True
    extra_specs: dict[str, str] = field(default_factory=dict)

    @property
    def disk_mb_requested(self) -> int:
        """What DiskFilter asks for: root and ephemeral in GB, swap already in MB."""
        return (self.disk + self.ephemeral) * 1024 + self.swap


@dataclass(frozen=True, repr=False)
class Image:
    """A catalogue image, as Glance v2 describes it; its file is on this machine."""

    id: str
    name: str
    file: str  # path on the machine running novactl
    disk_format: str = "qcow2"
    checksum: str | None = None  # md5 as in Glance v2, or "sha256:<hex>"
    min_ram: int = 0
    min_disk: int = 0
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class Network:
    """A network guests attach to: a bridge on every host, with Neutron's subnet fields when given."""

    name: str
    bridge: str = ""  # a linux bridge novactl plugs taps into; with libvirt_network, that network's bridge name
    physical_interface: str | None = None
    # A libvirt-managed network (NAT + dnsmasq DHCP) guests attach to, defined by novactl if missing.
    libvirt_network: str | None = None
    # Neutron's subnet fields (checked by ipam.subnet at load); with a cidr, ports get fixed IPs.
    cidr: str | None = None
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    allocation_pools: tuple[dict, ...] = ()
    mtu: int | None = None
    ipam_host: str | None = None  # the host whose lock and lease files allocate the fixed IPs (fixed_ips.py)


@dataclass(frozen=True, repr=False)
class Keypair:
    """Nova's keypair: a public key injected into guests; the private key stays on this machine."""

    name: str
    public_key: str  # one OpenSSH line: "TYPE BASE64 [comment]"
    type: str = "ssh"  # Nova's key_type: ssh (x509 is not served)
    private_key: str | None = None  # where keypair-add wrote the private key, when it generated it

    @property
    def fingerprint(self) -> str:
        """As nova/crypto.py's generate_fingerprint: MD5 of the decoded key blob, colon-separated hex."""
        import hashlib  # loads OpenSSL: not at import, which every command pays for

        digest = hashlib.md5(base64.b64decode(self.public_key.split()[1])).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def blob_type(public_key: str) -> str | None:
    """The key type named inside an OpenSSH key line's base64 blob (the wire format's first string)."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        return blob[4 : 4 + length].decode("ascii")
    except (IndexError, binascii.Error, struct.error, UnicodeDecodeError):
        return None


@dataclass(frozen=True, repr=False)
class ServerGroupDef:
    """A server group's definition; its members are learned from the hosts."""

    name: str
    policy: str  # affinity | anti-affinity | soft-affinity | soft-anti-affinity
    id: str = ""


@dataclass(frozen=True, repr=False)
class HostConfig:
    """One host as the inventory describes it, with `defaults` applied."""

    name: str
    address: str
    zone: str = "nova"
    driver: str = "libvirt"  # libvirt | fake
    transport: str = "ssh"  # ssh | local (this machine, no SSH)
    ssh_user: str = "root"
    ssh_port: int = 22
    ssh_key: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    connect_timeout: float = 5.0
    instances_path: str = "/var/lib/novactl/instances"
    state_path: str = "/var/lib/novactl"
    base_dir_name: str = "_base"
    libvirt_uri: str = "qemu:///system"
    bridge: str = "br-novactl"
    force_raw_images: bool = True
    # Nova's [libvirt]cpu_mode. Nova defaults to host-model; we default to none (QEMU's own model)
    # because host-model and host-passthrough fail to start guests under nested KVM (MSR 0x10a).
    cpu_mode: str = "none"
    # Nova's [libvirt]virt_type: kvm, or qemu (TCG). kvm falls back to qemu on a host without KVM.
    virt_type: str = "kvm"
    # How live migration carries memory and disks between hosts (migrate.py): ssh (the default: relayed
    # through novactl's own SSH connections, nothing to set up), tls (QEMU native TLS; the operator puts
    # certificates in qemu.conf's migrate_tls_x509_cert_dir on every host) or tcp (in clear).
    live_migration_transport: str = "ssh"
    # Nova's [libvirt]live_migration_completion_timeout: seconds per GiB of RAM + disk before a live
    # migration is aborted.
    live_migration_completion_timeout: int = 800
    ram_allocation_ratio: float | None = None
    cpu_allocation_ratio: float | None = None
    disk_allocation_ratio: float | None = None
    capabilities: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # fake driver only

    def __post_init__(self) -> None:
        # The schema allows only these; this guards every other way a HostConfig is made.
        if self.libvirt_uri not in LIBVIRT_URIS:
            raise UsageError(f"host {self.name}: libvirt_uri {self.libvirt_uri!r} is not one of {', '.join(LIBVIRT_URIS)}")

    @property
    def base_path(self) -> str:
        return f"{self.instances_path}/{self.base_dir_name}"


@dataclass(frozen=True, repr=False)
class SchedulerConfig:
    """The `scheduler:` section: Nova's filter scheduler options, with Nova's defaults."""

    filters: list[str] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    weighers: list[str] = field(default_factory=lambda: list(DEFAULT_WEIGHERS))
    max_attempts: int = 3
    host_subset_size: int = 1
    ram_allocation_ratio: float = 1.5
    cpu_allocation_ratio: float = 16.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    reserved_host_disk_mb: int = 0
    ram_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    soft_affinity_weight_multiplier: float = 1.0
    soft_anti_affinity_weight_multiplier: float = 1.0
    image_locality_weight_multiplier: float = 0.0  # our own weigher; 0 = off
    # ImagePropertiesFilter: the architecture of an image that names none (Nova's option since Queens).
    image_properties_default_architecture: str | None = None
    pci_alias: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class Inventory:
    """The whole inventory, validated: hosts, catalogue (flavors, images, keypairs), networks, groups."""

    path: str  # the file it came from, or "<built-in default>"
    scheduler: SchedulerConfig
    hosts: list[HostConfig]
    flavors: list[Flavor]
    images: list[Image]
    networks: list[Network]
    server_groups: list[ServerGroupDef]
    source_dir: Path = field(default_factory=Path.cwd)  # relative image files resolve here
    keypairs: list[Keypair] = field(default_factory=list)

    def host(self, name: str) -> HostConfig:
        return _by_name(self.hosts, name, "host")

    def flavor(self, name_or_id: str) -> Flavor:
        for flavor in self.flavors:
            if name_or_id in (flavor.name, flavor.id):
                return flavor
        raise _unknown("flavor", name_or_id, [f.name for f in self.flavors])

    def image(self, name_or_id: str) -> Image:
        for image in self.images:
            if name_or_id in (image.name, image.id):
                return image
        raise _unknown("image", name_or_id, [i.name for i in self.images])

    def keypair(self, name: str) -> Keypair:
        for keypair in self.keypairs:
            if keypair.name == name:
                return keypair
        raise NotFound(f"Keypair {name} not found.")  # nova keypair-show's words

    def network(self, name: str) -> Network:
        return _by_name(self.networks, name, "network")


def _by_name(items: list, name: str, kind: str):
    for item in items:
        if item.name == name:
            return item
    raise _unknown(kind, name, [i.name for i in items])


def _unknown(kind: str, name: str, known: list[str]) -> Exception:
    choices = ", ".join(known) if known else "none defined"
    return UsageError(unknown(f"unknown {kind} {name!r} (known: {choices})", name, known))
