"""PciPassthroughFilter: hosts with free PCI devices for the flavor's `pci_passthrough:alias`."""

from __future__ import annotations

from novactl.hoststate import HostState
from novactl.scheduler import pci
from novactl.scheduler.filters.base import BaseHostFilter
from novactl.scheduler.request import RequestSpec


class PciPassthroughFilter(BaseHostFilter):
    def applies(self, spec: RequestSpec) -> bool:
        return bool(pci.requests_for(spec.flavor, self.config.pci_alias))  # raises on a bad alias

    def host_passes(self, host_state: HostState, spec: RequestSpec) -> bool:
        requests = pci.requests_for(spec.flavor, self.config.pci_alias)
        return not requests or pci.assign(host_state.pci_devices, requests) is not None

    def reason(self, host_state: HostState, spec: RequestSpec) -> str:
        return pci.shortfall(host_state.pci_devices, pci.requests_for(spec.flavor, self.config.pci_alias))
