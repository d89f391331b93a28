"""HostStates built the way the poller builds them (build_host_state), with small defaults."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from novactl.hoststate import ComputeNode, HostState, InstanceInfo, build_host_state
from novactl.models import Flavor, Image, SchedulerConfig
from novactl.scheduler.request import InstanceGroup, RequestSpec

_serial = itertools.count(1)

NODE_FIELDS = {"hypervisor_type", "hypervisor_version", "cpu_info", "supported_instances", "pci_devices", "disk_available_least", "host_ip"}


def flavor(ram: int = 512, disk: int = 1, vcpus: int = 1, **kwargs: Any) -> Flavor:
    kwargs.setdefault("id", f"f{next(_serial)}")
    kwargs.setdefault("name", kwargs["id"])
    return Flavor(ram=ram, disk=disk, vcpus=vcpus, **kwargs)


def instance(host: str, flv: Flavor | None = None, uuid: str | None = None, group: str | None = None) -> InstanceInfo:
    serial = next(_serial)
    return InstanceInfo(uuid=uuid or f"uuid-{serial}", name=f"vm{serial}", host=host, flavor=flv or flavor(), group=group)


def host(
    name: str = "host1",
    memory_mb: int = 4096,
    vcpus: int = 4,
    local_gb: int = 40,
    zone: str = "nova",
    instances: list[InstanceInfo] | None = None,
    reserved_memory_mb: int = 0,
    reserved_disk_mb: int = 0,
    **fields: Any,
) -> HostState:
    """A HostState via build_host_state; node facts and service/state fields go in **fields."""
    node_kwargs = {k: fields.pop(k) for k in list(fields) if k in NODE_FIELDS}
    node_kwargs.setdefault("supported_instances", [["x86_64", "kvm", "hvm"], ["x86_64", "qemu", "hvm"]])
    node_kwargs.setdefault("cpu_info", {"arch": "x86_64", "vendor": "Intel", "features": ["vmx", "aes"]})
    node = ComputeNode(hypervisor_hostname=name, memory_mb=memory_mb, vcpus=vcpus, local_gb=local_gb, **node_kwargs)
    return build_host_state(name, zone, node, instances or [], reserved_memory_mb, reserved_disk_mb, **fields)


def spec(flv: Flavor | None = None, **kwargs: Any) -> RequestSpec:
    return RequestSpec(flavor=flv or flavor(), **kwargs)


def image(**properties: Any) -> Image:
    return Image(id="img-1", name="cirros", file="/dev/null", properties=properties)


def group(policy: str, hosts: list[str] | None = None, members: list[str] | None = None) -> InstanceGroup:
    return InstanceGroup(name="g1", policy=policy, hosts=list(hosts or []), members=list(members or []))


def config(**kwargs: Any) -> SchedulerConfig:
    return SchedulerConfig(**kwargs)


@pytest.fixture
def cfg() -> SchedulerConfig:
    return SchedulerConfig()
