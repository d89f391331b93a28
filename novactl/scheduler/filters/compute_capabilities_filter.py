"""ComputeCapabilitiesFilter: flavor extra specs against what the host reports.

Keys scoped `capabilities:` (and, for compatibility, unscoped keys naming something the host has)
are paths: `capabilities:cpu_info:arch` reads host_state.cpu_info["arch"]. The first element is a
HostState attribute or, failing that, an entry of host_state.capabilities (the inventory's stats,
Nova's host_state.stats); later elements walk into dicts, decoding JSON strings on the way.
Keys in any other scope (`hw:`, `quota:`, `pci_passthrough:`...) belong to other filters.

A value is matched as str(value), as in Nova. cpu_info is a dict here where Nova kept the compute
node's JSON text, so Nova's backward-compatible unscoped `cpu_info` spec (whole-string equality with
that text) is honoured as: a plain requirement holding the same JSON document as a structured value
matches it (whatever its spacing or key order).
The extra specs are parsed once per request (`compile_specs`), not once per host.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from novactl.hoststate import HostState
from novactl.scheduler.filters import extra_specs_ops
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec

_MISSING = object()
# What hasattr(host_state, key) answers for every HostState: its fields and properties.
_HOST_ATTRIBUTES = frozenset({f.name for f in fields(HostState)} | {name for name in dir(HostState) if not name.startswith("_")})


def _attribute(host_state: HostState, name: str) -> Any:
    # `capabilities` is the stats dict itself here, not a capability called "capabilities".
    value = None if name == "capabilities" else getattr(host_state, name, None)
    if value is None:
        value = host_state.capabilities.get(name)
    return value


def capability(host_state: HostState, path: list[str]) -> Any:
    """The value at `path`, or _MISSING when the host does not report it."""
    value = _attribute(host_state, path[0])
    for key in path[1:]:
        if value is None:
            return _MISSING
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return _MISSING
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(key)
    return _MISSING if value is None else value


def _document(req: str) -> Any:
    """The JSON object or array a plain requirement holds, else _MISSING."""
    if extra_specs_ops.is_plain(req) and req.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(req)
        except ValueError:
            pass
    return _MISSING


class CompiledSpec:
    """One extra spec this filter checks, parsed once per request: where to look, how to match.

    Hosts of one cluster report few distinct values (two vendors, a handful of versions), so each
    verdict is remembered per value text: most hosts cost one lookup and one dict hit.
    """

    def __init__(self, key: str, path: list[str], requirement: str, always: bool):
        self.key = key
        self.path = path
        self.requirement = requirement
        self.always = always  # False: unscoped, checked only on hosts whose stats have the key
        self._matcher = extra_specs_ops.compile_requirement(requirement)
        self._document = _document(requirement)
        self._verdicts: dict[str, bool] = {}  # str(value) -> matches
        self.test = self._make_test()

    def applies_to(self, host_state: HostState) -> bool:
        return self.always or self.key in host_state.capabilities

    def matches(self, value: Any) -> bool:
        if self._document is not _MISSING and isinstance(value, (dict, list)) and value == self._document:
            return True
        text = str(value)
        verdict = self._verdicts.get(text)
        if verdict is None:
            verdict = self._verdicts[text] = self._matcher(text)
        return verdict

    def _make_test(self) -> Callable[[HostState], bool]:
        """failure(host_state) is None, without the text: this runs for every host of a request,
        so everything it reads is bound here once."""
        key, path, always, verdicts, matches = self.key, self.path, self.always, self._verdicts, self.matches
        first, rest = path[0], path[1:]
        attribute = first != "capabilities" and first in _HOST_ATTRIBUTES

        def test(host_state: HostState) -> bool:
            if not always and key not in host_state.capabilities:
                return True
            value = getattr(host_state, first, None) if attribute else None
            if value is None:
                value = host_state.capabilities.get(first)
            for step in rest:
                if value.__class__ is dict:
                    value = value.get(step)
                else:
                    value = capability(host_state, path)  # the general walk: JSON text, or nothing there
                    break
            if value is None or value is _MISSING:
                return False
            if value.__class__ is str:
                verdict = verdicts.get(value)
                if verdict is not None:
                    return verdict
            return matches(value)

        return test

    def failure(self, host_state: HostState) -> str | None:
        """None if the host satisfies this spec, else why not."""
        value = capability(host_state, self.path)
        if value is _MISSING:
            return f"extra spec '{self.key}': host reports no '{':'.join(self.path)}'"
        if self.matches(value):
            return None
        return f"extra spec '{self.key}' = '{self.requirement}' does not match host value '{value}'"


def compile_specs(extra_specs: dict[str, str]) -> list[CompiledSpec]:
    """The extra specs this filter is responsible for, each parsed once."""
    compiled = []
    for key, req in extra_specs.items():
        path = key.split(":")
        always = True
        if len(path) == 1:
            always = key in _HOST_ATTRIBUTES  # else only where the host's stats have it
        elif path[0] == "capabilities":
            path = path[1:]
        else:
            continue  # someone else's scope
        compiled.append(CompiledSpec(key, path, str(req), always))
    return compiled


def _failure(host_state: HostState, specs: list[CompiledSpec]) -> str | None:
    for compiled in specs:
        if compiled.applies_to(host_state):
            why = compiled.failure(host_state)
            if why is not None:
                return why
    return None


def _passes(host_state: HostState, specs: list[CompiledSpec]) -> bool:
    return all(compiled.test(host_state) for compiled in specs)


def _passes_each(hosts: list[HostState], specs: list[CompiledSpec]) -> list[bool]:
    tests = [compiled.test for compiled in specs]
    flags = []
    for host in hosts:
        for test in tests:
            if not test(host):
                flags.append(False)
                break
        else:
            flags.append(True)
    return flags


class ComputeCapabilitiesFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.flavor.extra_specs)

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return _passes(host_state, compile_specs(spec.flavor.extra_specs))

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        return _passes_each(hosts, compile_specs(spec.flavor.extra_specs))

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        return _failure(host_state, compile_specs(spec.flavor.extra_specs)) or "rejected"
