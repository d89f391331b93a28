"""What novactl reads back from a host, validated like user input before anything uses it.

A host's files (claims, service.json, server-group records) and its domains' novactl metadata are
written by novactl, but anyone with root on one host can edit them, and a crash can truncate them.
Before a value reaches a path (`rm -rf <instances_path>/<uuid>`), a command, the scheduler's
arithmetic or the terminal, it is checked here: UUIDs are UUIDs, names are safe names, numbers are
bounded integers, text is printable. A malformed record is skipped, with a log line visible under
--debug, so one bad file never takes its host, or the command, down for everyone.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from novactl.hoststate import POWER_STATE_NAMES, ComputeNode, InstanceInfo
from novactl.inventory_schema import ABS_PATH, MAX_GB, MAX_MB, MAX_RATIO, MAX_VCPUS, SAFE_NAME, UUID
from novactl.ipam import BOUND, PENDING, Lease, Subnet
from novactl.models import Flavor

LOG = logging.getLogger("novactl.compute.host_records")

MAX_TEXT = 4096  # a fault message, a created timestamp: never megabytes into a table
POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
_STATE = re.compile(r"[a-z_]{1,32}")  # vm_state / task_state words: active, resize_finish, ...
_DOMAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # instance-0000002a
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")  # what gethostname() or the resolver gives
_WORD = re.compile(r"[A-Za-z0-9_.+-]{1,64}")  # an arch, a domain type, a vm mode, a CPU feature, "QEMU"
NODE_FACTS_MAX_BYTES = 65536  # a host's record is about 2 KB; the poll reads one byte more to see a bigger one
MAX_VERSION = 10**12  # libvirt's versions are major * 1,000,000 + minor * 1,000 + release
MAX_LIST = 1024  # CPU features, guest types, watched paths
_FLAVOR_MAXIMA = {"ram": MAX_MB, "disk": MAX_GB, "vcpus": MAX_VCPUS, "ephemeral": MAX_GB, "swap": MAX_MB}


class BadRecord(ValueError):
    """A value read from a host that novactl would not have written."""


def json_lines(text: str, what: str, host: str) -> list[dict]:
    """One JSON object per line (claims, server-group records); a line that is not one is skipped."""
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = _strict_json(line)
            if not isinstance(record, dict):
                raise BadRecord(f"a JSON {type(record).__name__}, not an object")
        except (ValueError, RecursionError) as exc:
            _skip(host, what, exc)
            continue
        records.append(record)
    return records


def service_flags(text: str, host: str) -> tuple[bool, str | None]:
    """service.json's (disabled, disabled_reason); a malformed file counts as enabled, with no reason."""
    if not text:
        return False, None
    try:
        record = _strict_json(text)
        if not isinstance(record, dict):
            raise BadRecord("not a JSON object")
        disabled, reason = record.get("disabled", False), record.get("disabled_reason")
        if not isinstance(disabled, bool):
            raise BadRecord(f"disabled is {type(disabled).__name__}, not a boolean")
        if reason is not None:
            reason = _text(reason, "disabled_reason")
        return disabled, reason
    except (ValueError, RecursionError) as exc:
        _skip(host, "service.json", exc)
        return False, None


def group_records(records: list[dict], host: str) -> list[dict]:
    """Server-group records with a safe name (it becomes a file name), a UUID or no id, a known policy."""
    valid = []
    for record in records:
        try:
            name = _match(record.get("name"), SAFE_NAME, "name")
            group_id = record.get("id", "")
            if group_id:
                _match(group_id, UUID, "id")
            policy = record.get("policy")
            if policy not in POLICIES:
                raise BadRecord(f"policy {policy!r} is not one of {', '.join(POLICIES)}")
            updated_at = _text(record.get("updated_at", ""), "updated_at")
            deleted = record.get("deleted", False)
            if not isinstance(deleted, bool):
                raise BadRecord("deleted is not a boolean")
        except BadRecord as exc:
            _skip(host, "server group record", exc)
            continue
        valid.append({"name": name, "id": group_id, "policy": policy, "updated_at": updated_at, "deleted": deleted})
    return valid


def lease_records(records: list[dict], subnet: Subnet, host: str) -> list[Lease]:
    """Fixed-IP leases: an address of the pool in its canonical form, a UUID, a safe host name, a
    known state, a builder token or none, and an expiry that is a number or none."""
    valid = []
    for record in records:
        try:
            address = record.get("address")
            if not _is_ipv4(address) or not subnet.contains(address):
                raise BadRecord(f"address {_shown(address)} is not an address of the pool")
            builder, expires = record.get("builder"), record.get("expires")
            if builder is not None:
                _match(builder, r"[0-9a-f]{16}", "builder")
            if expires is not None and (not isinstance(expires, (int, float)) or isinstance(expires, bool)):
                raise BadRecord(f"expires {_shown(expires)} is not a number")
            if record.get("state") not in (PENDING, BOUND):
                raise BadRecord(f"state {_shown(record.get('state'))} is neither {PENDING} nor {BOUND}")
            lease = Lease(
                address=address,
                instance=_match(record.get("instance"), UUID, "instance"),
                host=_match(record.get("host"), SAFE_NAME, "host"),
                state=record["state"],
                builder=builder,
                expires=expires,
            )
        except BadRecord as exc:
            _skip(host, "fixed IP lease", exc)
            continue
        valid.append(lease)
    return valid


@dataclass(frozen=True)
class CachedNode:
    """The node facts cache (drivers/libvirt/facts.py): the key they were fetched under, the host's
    uptime then, the paths that must not be newer than the file, and the facts (local_gb and host_ip,
    which each poll sets, are 0 and "")."""

    key: tuple[str, ...]
    uptime: float
    watch: tuple[str, ...]
    node: ComputeNode


def cached_node_text(cached: CachedNode) -> str:
    """The file: the record as one JSON line, then each watched path on its own line (for the shell)."""
    node = cached.node
    record = {
        "version": 1,
        "key": list(cached.key),
        "uptime": cached.uptime,
        "watch": list(cached.watch),
        "node": {
            "hypervisor_hostname": node.hypervisor_hostname,
            "memory_mb": node.memory_mb,
            "vcpus": node.vcpus,
            "hypervisor_type": node.hypervisor_type,
            "hypervisor_version": node.hypervisor_version,
            "cpu_info": node.cpu_info,
            "supported_instances": node.supported_instances,
        },
    }
    return json.dumps(record, separators=(",", ":")) + "\n" + "".join(f"{path}\n" for path in cached.watch)


def cached_node(text: str, host: str) -> CachedNode | None:
    """The node facts cache read back, or None (a miss) if it is anything novactl would not have written."""
    try:
        if len(text.encode()) > NODE_FACTS_MAX_BYTES:
            raise BadRecord(f"more than {NODE_FACTS_MAX_BYTES} bytes")
        line, _, rest = text.partition("\n")
        record = _strict_json(line)
        if not isinstance(record, dict) or set(record) != {"version", "key", "uptime", "watch", "node"} or record["version"] != 1:
            raise BadRecord("not a version 1 node facts record")
        key = tuple(_list_of(record["key"], 64, "key", is_key_value))
        watch = tuple(_list_of(record["watch"], MAX_LIST, "watch", lambda p: _matches(p, ABS_PATH) and len(p) <= 4096))
        if [path for path in rest.split("\n") if path] != list(watch):  # the shell ignores blank lines
            raise BadRecord("the watched paths the poll tested are not the record's")
        up = uptime(record["uptime"])
        if up is None:
            raise BadRecord(f"uptime {_shown(record['uptime'])}")
        return CachedNode(key=key, uptime=up, watch=watch, node=_node(record["node"]))
    except (ValueError, RecursionError) as exc:
        _skip(host, "node facts cache", exc)
        return None


def _node(node: Any) -> ComputeNode:
    if not isinstance(node, dict):
        raise BadRecord("node is not an object")
    fields = {"hypervisor_hostname", "memory_mb", "vcpus", "hypervisor_type", "hypervisor_version", "cpu_info", "supported_instances"}
    if set(node) != fields:
        raise BadRecord(f"node fields {_shown(sorted(node))}")
    cpu = node["cpu_info"]
    if not isinstance(cpu, dict) or set(cpu) != {"arch", "model", "vendor", "topology", "features"}:
        raise BadRecord("cpu_info is not arch, model, vendor, topology and features")
    topology = cpu["topology"]
    if not isinstance(topology, dict) or set(topology) != {"sockets", "cores", "threads"}:
        raise BadRecord("cpu_info topology is not sockets, cores and threads")
    return ComputeNode(
        hypervisor_hostname=_match(node["hypervisor_hostname"], _HOSTNAME.pattern, "hypervisor_hostname"),
        memory_mb=_int(node["memory_mb"], MAX_MB, "memory_mb"),
        vcpus=_int(node["vcpus"], MAX_VCPUS, "vcpus"),
        local_gb=0,
        hypervisor_type=_match(node["hypervisor_type"], _WORD.pattern, "hypervisor_type"),
        hypervisor_version=_int(node["hypervisor_version"], MAX_VERSION, "hypervisor_version"),
        # Built afresh in the order facts.py builds it, so output is the same as from libvirt.
        cpu_info={
            "arch": _text(cpu["arch"], "cpu arch", 64),
            "model": _text(cpu["model"], "cpu model", 255),
            "vendor": _text(cpu["vendor"], "cpu vendor", 255),
            "topology": {name: _int(topology[name], MAX_VCPUS, f"cpu {name}") for name in ("sockets", "cores", "threads")},
            "features": _list_of(cpu["features"], MAX_LIST, "cpu features", _is_word),
        },
        supported_instances=_list_of(
            node["supported_instances"],
            MAX_LIST,
            "supported_instances",
            lambda entry: isinstance(entry, list) and len(entry) == 3 and all(_is_word(v) for v in entry),
        ),
    )


def _is_word(value: Any) -> bool:
    return isinstance(value, str) and _WORD.fullmatch(value) is not None


def is_key_value(value: Any) -> bool:
    """A value of the node facts' key: the first line of a small host file, printable."""
    return isinstance(value, str) and len(value) <= 256 and value.isprintable()


def uptime(value: Any) -> float | None:
    """Seconds since boot (/proc/uptime's first field, or as a record stores it), or None if it is not one."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,9})?", value):
            return None
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e12:
        return None
    return float(value)


def live_claim(record: dict, now: float) -> bool:
    """A claim still counts while its `expires` (seconds since the epoch) is ahead of `now`."""
    expires = record.get("expires", 0)
    return isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires > now


def read_instance(build: Callable[[], InstanceInfo], what: str, host: str) -> InstanceInfo | None:
    """`build()` (parsing a claim or a domain's metadata) checked by `check_instance`; None if malformed."""
    try:
        return check_instance(build())
    except (ValueError, TypeError, KeyError, AttributeError, ParseError, RecursionError) as exc:  # what parsing hostile data raises
        _skip(host, what, exc)
        return None


def check_instance(instance: InstanceInfo) -> InstanceInfo:
    """Raise BadRecord unless every field is something novactl itself would have written."""
    _match(instance.uuid, UUID, "uuid")
    _text(instance.name, "name", 255)
    _check_flavor(instance.flavor)
    if instance.image_id:
        _match(instance.image_id, UUID, "image id")
    if instance.group is not None and not (_matches(instance.group, SAFE_NAME) or _matches(instance.group, UUID)):
        raise BadRecord(f"group {_shown(instance.group)} is neither a safe name nor a UUID")
    _match(instance.zone, SAFE_NAME, "zone")
    if instance.instance_name:
        _match(instance.instance_name, _DOMAIN_NAME.pattern, "domain name")
    if instance.power_state not in POWER_STATE_NAMES:
        raise BadRecord(f"power state {_shown(instance.power_state)}")
    _match(instance.vm_state, _STATE.pattern, "vm_state")
    if instance.task_state is not None:
        _match(instance.task_state, _STATE.pattern, "task_state")
    _text(instance.created, "created", 64)
    _check_mapping(instance.networks, "networks", lambda macs: all(mac == "" or _MAC.fullmatch(str(mac)) for mac in _list(macs)))
    if instance.fault is not None:
        _check_mapping(instance.fault, "fault", lambda value: isinstance(value, (str, int)) and len(str(value)) <= MAX_TEXT)
    _check_mapping(instance.metadata, "metadata", lambda value: isinstance(value, str) and len(value) <= MAX_TEXT)
    _check_mapping(instance.user_metadata, "user metadata", lambda value: isinstance(value, str) and len(value) <= 255)
    if instance.key_name is not None:
        _match(instance.key_name, SAFE_NAME, "key name")
    _check_mapping(instance.fixed_ips, "fixed IPs", _is_ipv4)
    if not isinstance(instance.config_drive, bool):
        raise BadRecord(f"config_drive {_shown(instance.config_drive)} is not a boolean")
    return instance


def _is_ipv4(value: Any) -> bool:
    """Dotted-quad text, as novactl writes addresses (ipaddress also refuses leading zeros)."""
    try:
        return isinstance(value, str) and str(ipaddress.IPv4Address(value)) == value
    except ValueError:
        return False


def _check_flavor(flavor: Flavor) -> None:
    if not isinstance(flavor, Flavor):
        raise BadRecord("flavor is not a flavor")
    _text(flavor.id, "flavor id", 255)
    _text(flavor.name, "flavor name", 255)
    for field, maximum in _FLAVOR_MAXIMA.items():
        _int(getattr(flavor, field), maximum, f"flavor {field}")
    if not isinstance(flavor.rxtx_factor, (int, float)) or not 0 < flavor.rxtx_factor <= MAX_RATIO:
        raise BadRecord(f"flavor rxtx_factor {_shown(flavor.rxtx_factor)}")
    _check_mapping(flavor.extra_specs, "flavor extra_specs", lambda value: isinstance(value, str) and len(value) <= MAX_TEXT)


def _check_mapping(value: Any, what: str, valid_value: Callable[[Any], bool]) -> None:
    if not isinstance(value, dict) or len(value) > 256:
        raise BadRecord(f"{what} is not a mapping of at most 256 entries")
    for key, item in value.items():
        _text(key, f"{what} key", 255)
        if not valid_value(item):
            raise BadRecord(f"{what} {_shown(key)}: {_shown(item)}")


def _int(value: Any, maximum: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise BadRecord(f"{what} {_shown(value)} is not an integer from 0 to {maximum}")
    return value


def _list_of(value: Any, limit: int, what: str, valid_item: Callable[[Any], bool]) -> list:
    if not isinstance(value, list) or len(value) > limit:
        raise BadRecord(f"{what} is not a list of at most {limit} entries")
    for item in value:
        if not valid_item(item):
            raise BadRecord(f"{what}: {_shown(item)}")
    return value


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise BadRecord("not a list")
    return value


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    """A printable string: no control characters (terminal escapes), not megabytes."""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise BadRecord(f"{what} {_shown(value)} is not printable text of at most {limit} characters")
    return value


def _matches(value: Any, pattern: str) -> bool:
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def _match(value: Any, pattern: str, what: str) -> str:
    if not _matches(value, pattern):
        raise BadRecord(f"{what} {_shown(value)} is not valid")
    return value


def _shown(value: Any) -> str:
    text = repr(value)  # repr escapes control characters: safe in a log line
    return text if len(text) <= 60 else f"{text[:56]}..."


def _strict_json(text: str) -> Any:
    """JSON without NaN or Infinity tokens, and no number too large for a float (1e999 parses as inf)."""

    def refuse(name: str) -> float:
        raise BadRecord(f"{name} is not JSON")

    def finite(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise BadRecord("a number too large")
        return value

    return json.loads(text, parse_constant=refuse, parse_float=finite)


def _skip(host: str, what: str, exc: Exception) -> None:
    LOG.info("Skipping a malformed %s on %s: %s", what, host, exc)
