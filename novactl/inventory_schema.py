"""JSON Schema of the YAML inventory (checked with the jsonschema library; see inventory.py)."""

from typing import Any

from novactl.models import LIBVIRT_URIS

# Patterns end in \Z, not $: in Python's re, which jsonschema uses, $ also matches before a final newline,
# so "a\n" passed as a host name and "/srv\n" as a path.
HOSTNAME = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z"
# Segments of safe characters, none "." or "..", no shell metacharacters: host paths stay confined. Each
# segment ends at "/" or the end, so the match never backtracks (a nested "(x+/?)*" takes exponential time).
ABS_PATH = r"^/(?:(?!\.\.?(?:/|\Z))[A-Za-z0-9._+-]+(?:/|\Z))*\Z"
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
BRIDGE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\Z"  # Linux IFNAMSIZ is 16 with the NUL
SSH_PUBLIC_KEY = r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( [^\n\r]*)?\Z"
# img_hv_requested_version: ">=2.11,<3.0". ASCII digits ([0-9], never \d or isdigit, which take "²"), a
# few per component, so ImagePropertiesFilter's int() of each is always defined and small.
VERSION_CLAUSE = r"\s*(<=|>=|==|!=|<|>)\s*([0-9]{1,9}(?:\.[0-9]{1,9}){0,5})\s*"
VERSION_REQUIREMENT = rf"^{VERSION_CLAUSE}(?:,{VERSION_CLAUSE})*\Z"

# Maxima: far beyond any real host, yet low enough that every product the scheduler forms (total ×
# allocation ratio, GB × 1024, weight × multiplier, summed over hosts and weighers) stays a finite
# float. Without them a memory_mb of 10**400 raised OverflowError in RamFilter and a vcpus of 10**308
# made a weight NaN. "integer" excludes floats such as 2.0 (inventory.py's type checker).
MAX_MB = 2**40  # memory and swap in MB: 1 EiB
MAX_GB = 2**40  # disk in GB
MAX_VCPUS = 2**20
MAX_RATIO = 10_000  # allocation ratios, rxtx_factor
MAX_MULTIPLIER = 1_000_000  # weight multipliers, either sign

_str = {"type": "string"}
_mb = {"type": "integer", "minimum": 0, "maximum": MAX_MB}
_gb = {"type": "integer", "minimum": 0, "maximum": MAX_GB}
_vcpus = {"type": "integer", "minimum": 0, "maximum": MAX_VCPUS}
# No number here is .nan or .inf: inventory.py refuses them while building the data, anywhere in the file.
_ratio = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RATIO}
_multiplier = {"type": "number", "minimum": -MAX_MULTIPLIER, "maximum": MAX_MULTIPLIER}
_nonnegative_multiplier = {"type": "number", "minimum": 0, "maximum": MAX_MULTIPLIER}
_bool = {"type": "boolean"}
_str_list = {"type": "array", "items": _str}

# Settings a host inherits from `defaults` and may override one by one.
HOST_SETTINGS: dict[str, Any] = {
    "ssh_user": {"type": "string", "pattern": r"^[a-z_][a-z0-9_-]{0,31}\Z"},
    "ssh_port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "ssh_key": _str,
    "known_hosts": _str,
    "connect_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
    "instances_path": {"type": "string", "pattern": ABS_PATH},
    "state_path": {"type": "string", "pattern": ABS_PATH},
    "base_dir_name": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9._-]*\Z"},
    # Only local URIs: any transport or parameter here reaches libvirt.open as is, and some run a program
    # (qemu+ext://...?command=) or weaken host-key checks (known_hosts_verify=ignore). SSH hosts are
    # reached through novactl's own transport (novactl/remote), never through a URI from the inventory.
    "libvirt_uri": {"enum": list(LIBVIRT_URIS)},
    "bridge": {"type": "string", "pattern": BRIDGE},
    "force_raw_images": _bool,
    "cpu_mode": {"enum": ["none", "host-model", "host-passthrough"]},
    "virt_type": {"enum": ["kvm", "qemu"]},
    "live_migration_transport": {"enum": ["ssh", "tls", "tcp"]},
    "live_migration_completion_timeout": {"type": "integer", "minimum": 1, "maximum": 86400},
}

_facts = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "memory_mb": _mb,
        "memory_mb_used": _mb,
        "vcpus": _vcpus,
        "vcpus_used": _vcpus,
        "local_gb": _gb,
        "local_gb_used": _gb,
        "disk_available_least": {"type": "integer", "minimum": -MAX_GB, "maximum": MAX_GB},
        "cpu_info": {"type": "object"},
        "hypervisor_type": _str,
        "hypervisor_version": {"type": "integer", "minimum": 0, "maximum": 10**15},  # 1,002,003 is 1.2.3
        "supported_instances": {"type": "array", "items": {"type": "array", "items": _str}},
        "pci_devices": {"type": "array", "items": {"type": "object"}},
        "cached_images": _str_list,
        "up": _bool,
        "down_reason": _str,
        "disabled": _bool,
        "disabled_reason": {"type": ["string", "null"]},
        "instances": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "flavor"],
                "properties": {
                    "name": _str,
                    "uuid": {"type": "string", "pattern": UUID},
                    "flavor": _str,
                    "group": _str,
                    "image": _str,
                    "vm_state": _str,
                    # network name -> fixed address, as a libvirt host's metadata records them
                    "fixed_ips": {"type": "object", "additionalProperties": _str},
                },
            },
        },
    },
}
# Nova's Architecture.ALL: the names libvirt uses, the choices of image_properties_default_architecture.
ARCHITECTURES = [
    *("alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32", "m68k", "microblaze", "microblazeel"),
    *("mips", "mipsel", "mips64", "mips64el", "openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb"),
    *("s390", "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb"),
]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "defaults": {"type": "object", "additionalProperties": False, "properties": HOST_SETTINGS},
        "scheduler": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "filters": _str_list,
                "weighers": _str_list,
                "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100},
                "host_subset_size": {"type": "integer", "minimum": 1, "maximum": 10_000},
                "ram_allocation_ratio": _ratio,
                "cpu_allocation_ratio": _ratio,
                "disk_allocation_ratio": _ratio,
                "reserved_host_memory_mb": _mb,
                "reserved_host_disk_mb": _mb,
                "ram_weight_multiplier": _multiplier,
                "disk_weight_multiplier": _multiplier,
                "cpu_weight_multiplier": _multiplier,
                "soft_affinity_weight_multiplier": _nonnegative_multiplier,
                "soft_anti_affinity_weight_multiplier": _nonnegative_multiplier,
                "image_locality_weight_multiplier": _multiplier,
                "image_properties_default_architecture": {"enum": [None, *ARCHITECTURES]},  # null: unset
                "pci_alias": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["vendor_id", "product_id"],
                        "properties": {"vendor_id": _str, "product_id": _str, "device_type": _str},
                    },
                },
            },
        },
        "hosts": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": HOSTNAME, "maxLength": 253},
                    "address": {"type": "string", "pattern": r"^[A-Za-z0-9.:_-]+\Z"},
                    "zone": {"type": "string", "pattern": SAFE_NAME},
                    "driver": {"enum": ["libvirt", "fake"]},
                    "transport": {"enum": ["ssh", "local"]},
                    "ram_allocation_ratio": _ratio,
                    "cpu_allocation_ratio": _ratio,
                    "disk_allocation_ratio": _ratio,
                    "capabilities": {"type": "object"},
                    "facts": _facts,
                    **HOST_SETTINGS,
                },
            },
        },
        "flavors": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "ram", "disk", "vcpus"],
                "properties": {
                    "id": {"type": ["string", "integer"]},
                    "name": {"type": "string", "pattern": SAFE_NAME},
                    "ram": {**_mb, "minimum": 1},
                    "disk": _gb,
                    "ephemeral": _gb,
                    "swap": _mb,
                    "vcpus": {**_vcpus, "minimum": 1},
                    "rxtx_factor": _ratio,
                    "is_public": _bool,
                    "extra_specs": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                },
            },
        },
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "name", "file"],
                "properties": {
                    "id": {"type": "string", "pattern": UUID},
                    "name": {"type": "string", "pattern": SAFE_NAME},
                    "file": _str,
                    "disk_format": {"enum": ["qcow2", "raw"]},
                    "checksum": {"type": "string", "pattern": r"^([0-9a-f]{32}|sha256:[0-9a-f]{64})\Z"},
                    "min_ram": _mb,
                    "min_disk": _gb,
                    "properties": {
                        "type": "object",
                        "properties": {
                            "img_hv_requested_version": {"type": "string", "pattern": VERSION_REQUIREMENT},
                            "hypervisor_version_requires": {"type": "string", "pattern": VERSION_REQUIREMENT},
                        },
                    },
                },
            },
        },
        "networks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],  # and a bridge or a libvirt_network (inventory._network)
                "properties": {
                    "name": {"type": "string", "pattern": SAFE_NAME},
                    "bridge": {"type": "string", "pattern": BRIDGE},
                    "physical_interface": {"type": "string", "pattern": BRIDGE},
                    "libvirt_network": {"type": "string", "pattern": SAFE_NAME},
                    # Neutron's subnet fields; inventory.py checks them as addresses (ipam.subnet_problem).
                    "cidr": _str,
                    "gateway_ip": _str,
                    "dns_nameservers": _str_list,
                    "allocation_pools": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["start", "end"],
                            "properties": {"start": _str, "end": _str},
                        },
                    },
                    "mtu": {"type": "integer", "minimum": 68, "maximum": 65535},
                    "ipam_host": {"type": "string", "pattern": SAFE_NAME},  # the host that allocates its fixed IPs
                },
            },
        },
        "keypairs": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "public_key"],
                "properties": {
                    "name": {"type": "string", "pattern": SAFE_NAME},
                    # One OpenSSH public key line; inventory.py checks the blob decodes to that type.
                    "public_key": {"type": "string", "pattern": SSH_PUBLIC_KEY},
                    "type": {"enum": ["ssh"]},
                    "private_key": _str,
                },
            },
        },
        "server_groups": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "policy"],
                "properties": {
                    "name": {"type": "string", "pattern": SAFE_NAME},
                    "policy": {"enum": ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]},
                    "id": {"type": "string", "pattern": UUID},
                },
            },
        },
    },
}
