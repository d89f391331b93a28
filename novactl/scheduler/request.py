"""Nova's RequestSpec, reduced to what novactl's filters and weighers read."""

from __future__ import annotations

from dataclasses import dataclass, field

from novactl.models import Flavor, Image


@dataclass
class InstanceGroup:
    """A server group as the scheduler sees it: the policy plus where its members already run."""

    name: str
    policy: str
    members: list[str] = field(default_factory=list)  # instance uuids
    hosts: list[str] = field(default_factory=list)  # hosts of the members (grows during multi-create)


@dataclass
class RequestSpec:
    flavor: Flavor
    image: Image | None = None
    num_instances: int = 1
    availability_zone: str | None = None
    force_hosts: list[str] = field(default_factory=list)  # from --availability-zone AZ:HOST
    scheduler_hints: dict[str, list[str]] = field(default_factory=dict)
    instance_group: InstanceGroup | None = None
    # RetryFilter: hosts already tried for this request (Nova's spec_obj.retry.hosts).
    retry_hosts: list[str] = field(default_factory=list)
    ignore_hosts: list[str] = field(default_factory=list)  # moves: the source host
    # Nova's spec_obj.instance_uuid: the instance being moved, or the first of a boot (log lines);
    # lets ServerGroupAntiAffinityFilter accept the host a moving member already runs on.
    instance_uuid: str | None = None
