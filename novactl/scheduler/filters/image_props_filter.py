"""ImagePropertiesFilter: the image's architecture, hypervisor type, vm mode and hypervisor version.

A host advertises supported_instances as [arch, hypervisor_type, vm_mode] triples; the image must
fit one of them (properties it leaves unset match anything) and, if it sets
`img_hv_requested_version` (e.g. ">=2.11,<3.0"), the host's hypervisor_version must satisfy it.
An image without an architecture is checked as the scheduler's `image_properties_default_architecture`
(Nova's option since Queens; unset: any architecture).
"""

from __future__ import annotations

import re

from novactl.hoststate import HostState
from novactl.inventory_schema import VERSION_CLAUSE
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec

# Legacy Glance property names Nova's ImageMetaProps still accepted; the current name wins.
_LEGACY = {
    "hw_architecture": "architecture",
    "img_hv_type": "hypervisor_type",
    "hw_vm_mode": "vm_mode",
    "img_hv_requested_version": "hypervisor_version_requires",
}
# Nova's Architecture/HVType/VMMode.canonicalize aliases (names are lower-cased first).
_ARCH_ALIASES = {"i386": "i686", "i486": "i686", "i586": "i686", "x86_32": "i686", "x86_32p": "i686", "amd64": "x86_64"}
_HV_ALIASES = {"xapi": "xen"}
_VM_MODE_ALIASES = {"pv": "xen", "hv": "hvm", "baremetal": "hvm"}
_PREDICATE = re.compile(VERSION_CLAUSE)
_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def image_property(props: dict, name: str) -> str | None:
    value = props.get(name, props.get(_LEGACY[name]))
    return None if value in (None, "") else str(value)


def _canonical(value: str | None, aliases: dict[str, str]) -> str | None:
    if value is None:
        return None
    lowered = value.lower()
    return aliases.get(lowered, lowered)


def wanted(props: dict) -> tuple[str | None, str | None, str | None]:
    """(arch, hypervisor type, vm mode) the image asks for, canonicalised as Nova does."""
    return (
        _canonical(image_property(props, "hw_architecture"), _ARCH_ALIASES),
        _canonical(image_property(props, "img_hv_type"), _HV_ALIASES),
        _canonical(image_property(props, "hw_vm_mode"), _VM_MODE_ALIASES),
    )


def version_str(version: int) -> str:
    """Nova's convert_version_to_str: 2011001 -> '2.11.1' (three digits per component)."""
    parts = []
    while version:
        version, part = divmod(version, 1000)
        parts.insert(0, str(part))
    return ".".join(parts)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".") if p]
    while len(parts) > 1 and parts[-1] == 0:  # 6.0 == 6.0.0, as distutils' StrictVersion
        parts.pop()
    return tuple(parts)


def version_satisfies(hypervisor_version: int, requirement: str) -> bool:
    """distutils VersionPredicate semantics for a comma-separated list like '>=6.0,<6.2'."""
    have = _version_tuple(version_str(hypervisor_version))
    for clause in requirement.split(","):
        found = _PREDICATE.fullmatch(clause)
        if not found:
            return False  # Nova raised on a malformed predicate; here the host just does not match
        op, version = found.groups()
        if not _COMPARE[op](have, _version_tuple(version)):
            return False
    return True


def _triple_fits(triple: tuple[str | None, ...], supported: list[str]) -> bool:
    return all(value is None or value in supported for value in triple)


class _Wanted:
    """What one request asks of a host, worked out once per request rather than once per host."""

    def __init__(self, spec: RequestSpec, default_architecture: str | None):
        props = spec.image.properties if spec.image else {}
        arch, hv_type, vm_mode = wanted(props)
        self.triple = (arch or _canonical(default_architecture, _ARCH_ALIASES), hv_type, vm_mode)
        self.needed = [value for value in self.triple if value]
        self.requirement = image_property(props, "img_hv_requested_version")
        self._versions: dict[int, bool] = {}  # hypervisor_version -> satisfies the requirement

    def version_ok(self, hypervisor_version: int) -> bool:
        if not (hypervisor_version and self.requirement):
            return True
        known = self._versions.get(hypervisor_version)
        if known is None:
            known = self._versions[hypervisor_version] = version_satisfies(hypervisor_version, self.requirement)
        return known

    def fits(self, host_state: HostState) -> bool:
        needed = self.needed
        if not needed:
            return True
        for supported in host_state.supported_instances:
            # Nova's _compare_props: each wanted value anywhere in the host's triple.
            for value in needed:
                if value not in supported:
                    break
            else:
                return self.version_ok(host_state.hypervisor_version)
        return False


class ImagePropertiesFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def applies(self, spec: RequestSpec) -> bool:
        if self.config.image_properties_default_architecture:
            return True
        return spec.image is not None and any(wanted(spec.image.properties))

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        return self._wanted(spec).fits(host_state)

    def passes_all(self, hosts: list[HostState], spec: RequestSpec) -> list[bool]:
        fits = self._wanted(spec).fits
        return [fits(host) for host in hosts]

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        want = self._wanted(spec)
        arch, hv_type, vm_mode = want.triple
        asked = f"image wants arch={arch or 'any'} hypervisor_type={hv_type or 'any'} vm_mode={vm_mode or 'any'}"
        supported = host_state.supported_instances
        if not any(_triple_fits(want.triple, s) for s in supported):
            offered = ", ".join("/".join(s) for s in supported) or "nothing"
            return f"{asked}; host supports {offered}"
        return f"hypervisor version {version_str(host_state.hypervisor_version)} does not satisfy '{want.requirement}'"

    def _wanted(self, spec: RequestSpec) -> _Wanted:
        return _Wanted(spec, self.config.image_properties_default_architecture)
