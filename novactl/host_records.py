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
from typing import Any
from xml.etree.ElementTree import ParseError

from novactl.hoststate import POWER_STATE_NAMES, InstanceInfo
from novactl.inventory_schema import MAX_GB, MAX_MB, MAX_RATIO, MAX_VCPUS, SAFE_NAME, UUID
from novactl.ipam import BOUND, PENDING, Lease, Subnet
from novactl.models import Flavor

LOG = logging.getLogger("novactl.compute.host_records")

MAX_TEXT = 4096  # a fault message, a created timestamp: never megabytes into a table
POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
_STATE = re.compile(r"[a-z_]{1,32}")  # vm_state / task_state words: active, resize_finish, ...
_DOMAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # instance-0000002a
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
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
        value = getattr(flavor, field)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            raise BadRecord(f"flavor {field} {_shown(value)} is not an integer from 0 to {maximum}")
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
    def refuse(name: str) -> float:
        raise BadRecord(f"{name} is not JSON")

    value = json.loads(text, parse_constant=refuse)
    _check_floats(value)
    return value


def _check_floats(value: Any) -> None:
    """1e999 parses as inf even without NaN/Infinity tokens."""
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRecord("a number too large")
    if isinstance(value, dict):
        for item in value.values():
            _check_floats(item)
    elif isinstance(value, list):
        for item in value:
            _check_floats(item)


def _skip(host: str, what: str, exc: Exception) -> None:
    LOG.info("Skipping a malformed %s on %s: %s", what, host, exc)
