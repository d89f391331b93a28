"""PCI passthrough requests: flavor `pci_passthrough:alias` against a host's free devices.

A flavor asks with `pci_passthrough:alias = "gpu:2,nic:1"`; each alias is defined in the
scheduler config's `pci_alias` as the device properties it matches ({vendor_id, product_id}).
Requests are served one after another from the free devices, as Nova's PciDeviceStats did with its
pools, so two aliases naming the same device model compete for the same devices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from novactl.errors import UsageError
from novactl.hoststate import HostState
from novactl.models import Flavor

EXTRA_SPEC = "pci_passthrough:alias"


@dataclass(frozen=True)
class PciRequest:
    alias: str
    count: int
    spec: tuple[tuple[str, str], ...]  # device properties to match, e.g. (("vendor_id", "10de"), ...)

    def matches(self, device: dict[str, Any]) -> bool:
        return all(str(device.get(key, "")).lower() == value for key, value in self.spec)

    def describe(self) -> str:
        props = ":".join(value for _, value in self.spec)
        return f"{self.count} × {self.alias} ({props})"


def requests_for(flavor: Flavor, aliases: dict[str, dict[str, str]]) -> list[PciRequest]:
    """Parse the flavor's alias spec; UsageError for a malformed spec or an undefined alias."""
    text = flavor.extra_specs.get(EXTRA_SPEC)
    if not text:
        return []
    requests = []
    for item in str(text).split(","):
        name, _, count = item.strip().partition(":")
        # ASCII digits only: str.isdigit() takes "²", which int() then refuses.
        if not re.fullmatch(r"\s*[0-9]{1,4}\s*", count) or int(count) < 1:
            raise UsageError(f"flavor {flavor.name}: {EXTRA_SPEC} entry {item.strip()!r} is not ALIAS:COUNT")
        if name not in aliases:
            known = ", ".join(sorted(aliases)) or "none defined"
            raise UsageError(f"flavor {flavor.name}: PCI alias {name!r} is not defined in scheduler pci_alias (known: {known})")
        spec = tuple((key, str(value).lower()) for key, value in aliases[name].items())
        requests.append(PciRequest(name, int(count), spec))
    return requests


def _serve(devices: list[dict[str, Any]], requests: list[PciRequest]) -> tuple[set[int], PciRequest | None, int]:
    """Serve requests in order: (device indices taken, first request left unmet or None, its free count)."""
    taken: set[int] = set()
    for request in requests:
        found = [i for i, dev in enumerate(devices) if i not in taken and not dev.get("instance_uuid") and request.matches(dev)]
        if len(found) < request.count:
            return taken, request, len(found)
        taken.update(found[: request.count])
    return taken, None, 0


def assign(devices: list[dict[str, Any]], requests: list[PciRequest]) -> list[int] | None:
    """Indices of the free devices that serve every request, or None if some request can't be met."""
    taken, unmet, _ = _serve(devices, requests)
    return None if unmet else sorted(taken)


def shortfall(devices: list[dict[str, Any]], requests: list[PciRequest]) -> str:
    """Explain an `assign` failure: the first request that cannot be served and how many are free."""
    _, unmet, free = _serve(devices, requests)
    return f"needs {unmet.describe()}, {free} free" if unmet else "all requested PCI devices are free"


def claim(host_state: HostState, requests: list[PciRequest], owner: str) -> None:
    """Mark the assigned devices as used by `owner` in a new list (the node's list stays untouched)."""
    chosen = set(assign(host_state.pci_devices, requests) or ())
    host_state.pci_devices = [dict(dev, instance_uuid=owner) if i in chosen else dev for i, dev in enumerate(host_state.pci_devices)]
