"""JSON Schema of the YAML inventory (checked with the jsonschema library; see inventory.py)."""

from typing import Any

# Patterns end in \Z, not $: in Python's re, which jsonschema uses, $ also matches before a final newline,
# so "a\n" passed as a host name and "/srv\n" as a path.
HOSTNAME = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z"
# Segments of safe characters, none "." or "..", no shell metacharacters: host paths stay confined. Each
# segment ends at "/" or the end, so the match never backtracks (a nested "(x+/?)*" takes exponential time).
ABS_PATH = r"^/(?:(?!\.\.?(?:/|\Z))[A-Za-z0-9._+-]+(?:/|\Z))*\Z"
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
BRIDGE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\Z"  # Linux IFNAMSIZ is 16 with the NUL

_str = {"type": "string"}
_int = {"type": "integer", "minimum": 0}
_pos_int = {"type": "integer", "minimum": 1}
# "number" means a finite one: inventory.py validates with a type checker that refuses .nan and .inf.
_ratio = {"type": "number", "exclusiveMinimum": 0}
_number = {"type": "number"}
_bool = {"type": "boolean"}
_str_list = {"type": "array", "items": _str}

# Settings a host inherits from `defaults` and may override one by one.
HOST_SETTINGS: dict[str, Any] = {
    "ssh_user": {"type": "string", "pattern": r"^[a-z_][a-z0-9_-]{0,31}\Z"},
    "ssh_port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "ssh_key": _str,
    "known_hosts": _str,
    "connect_timeout": _ratio,
    "instances_path": {"type": "string", "pattern": ABS_PATH},
    "state_path": {"type": "string", "pattern": ABS_PATH},
    "base_dir_name": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9._-]*\Z"},
    "libvirt_uri": {"type": "string", "pattern": r"^[a-z0-9+]+://[^\s'\"]*\Z"},
    "bridge": {"type": "string", "pattern": BRIDGE},
    "force_raw_images": _bool,
    "cpu_mode": {"enum": ["none", "host-model", "host-passthrough"]},
    "virt_type": {"enum": ["kvm", "qemu"]},
}

_facts = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "memory_mb": _int,
        "memory_mb_used": _int,
        "vcpus": _int,
        "vcpus_used": _int,
        "local_gb": _int,
        "local_gb_used": _int,
        "disk_available_least": {"type": "integer"},
        "cpu_info": {"type": "object"},
        "hypervisor_type": _str,
        "hypervisor_version": _int,
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
                },
            },
        },
    },
}

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
                "max_attempts": _pos_int,
                "host_subset_size": _pos_int,
                "ram_allocation_ratio": _ratio,
                "cpu_allocation_ratio": _ratio,
                "disk_allocation_ratio": _ratio,
                "reserved_host_memory_mb": _int,
                "reserved_host_disk_mb": _int,
                "ram_weight_multiplier": _number,
                "disk_weight_multiplier": _number,
                "cpu_weight_multiplier": _number,
                "soft_affinity_weight_multiplier": {"type": "number", "minimum": 0},
                "soft_anti_affinity_weight_multiplier": {"type": "number", "minimum": 0},
                "image_locality_weight_multiplier": _number,
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
                    "ram": _pos_int,
                    "disk": _int,
                    "ephemeral": _int,
                    "swap": _int,
                    "vcpus": _pos_int,
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
                    "min_ram": _int,
                    "min_disk": _int,
                    "properties": {"type": "object"},
                },
            },
        },
        "networks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "bridge"],
                "properties": {
                    "name": {"type": "string", "pattern": SAFE_NAME},
                    "bridge": {"type": "string", "pattern": BRIDGE},
                    "physical_interface": {"type": "string", "pattern": BRIDGE},
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
