"""ComputeCapabilitiesFilter: flavor extra specs against what the host reports.

Keys scoped `capabilities:` (and, for compatibility, unscoped keys naming something the host has)
are paths: `capabilities:cpu_info:arch` reads host_state.cpu_info["arch"]. The first element is a
HostState attribute or, failing that, an entry of host_state.capabilities (the inventory's stats,
Nova's host_state.stats); later elements walk into dicts, decoding JSON strings on the way.
Keys in any other scope (`hw:`, `quota:`, `pci_passthrough:`...) belong to other filters.
"""

from __future__ import annotations

import json
from typing import Any

from novactl.hoststate import HostState
from novactl.scheduler.filters import extra_specs_ops
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec

_MISSING = object()


def _attribute(host_state: HostState, name: str) -> Any:
    # `capabilities` is the stats dict itself here, not a capability called "capabilities".
    value = None if name == "capabilities" else getattr(host_state, name, None)
    if value is None:
        value = host_state.capabilities.get(name)
    return value


def capability(host_state: HostState, path: list[str]) -> Any:
    """The value at `path`, or _MISSING when the host does not report it."""
    value: Any = host_state
    for index, key in enumerate(path):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return _MISSING
        if index == 0:
            value = _attribute(host_state, key)
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return _MISSING
        if value is None:
            return _MISSING
    return value


def _checked_specs(host_state: HostState, extra_specs: dict[str, str]):
    """Yield (key, path, requirement) for the extra specs this filter is responsible for."""
    for key, req in extra_specs.items():
        path = key.split(":")
        if len(path) == 1:
            # Unscoped: only if the host knows such a thing, else it is someone else's key.
            if not hasattr(host_state, key) and key not in host_state.capabilities:
                continue
        elif path[0] == "capabilities":
            path = path[1:]
        else:
            continue
        yield key, path, str(req)


def _failure(host_state: HostState, spec: RequestSpec) -> str | None:
    for key, path, req in _checked_specs(host_state, spec.flavor.extra_specs):
        value = capability(host_state, path)
        if value is _MISSING:
            return f"extra spec '{key}': host reports no '{':'.join(path)}'"
        if not extra_specs_ops.match(str(value), req):
            return f"extra spec '{key}' = '{req}' does not match host value '{value}'"
    return None


class ComputeCapabilitiesFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.flavor.extra_specs)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return _failure(host_state, spec) is None

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        return _failure(host_state, spec) or "rejected"
