"""Server groups: definitions from the inventory and from the hosts, members from the guests.

A group made with `server-group-create` is written as a small JSON record to
`<state_path>/server_groups/<name>.json` on every reachable libvirt host, so every operator with the
inventory sees it, and one host being down loses nothing. Reading takes the union over the hosts, the
newest record of a name winning; `server-group-delete` writes a tombstone the same way (a host that
was down during the delete is outvoted by the newer tombstone when it returns). Groups may also be
declared in the inventory (`server_groups:`); a host record of the same name overrides it.
Membership is never stored: it is every instance whose metadata names the group.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from novactl.drivers.base import group_record
from novactl.errors import HostError, NotFound, UsageError, unknown
from novactl.hoststate import InstanceInfo
from novactl.models import ServerGroupDef
from novactl.poller import Cluster
from novactl.scheduler.request import InstanceGroup


@dataclass
class GroupView:
    definition: ServerGroupDef
    members: list[InstanceInfo]

    @property
    def hosts(self) -> list[str]:
        return sorted({m.host for m in self.members})


def definitions(cluster: Cluster) -> dict[str, ServerGroupDef]:
    records: dict[str, dict] = {}
    for report in cluster.reports.values():
        for record in report.server_groups:
            current = records.get(record["name"])
            if current is None or record.get("updated_at", "") > current.get("updated_at", ""):
                records[record["name"]] = record
    groups = {g.name: g for g in cluster.inventory.server_groups}
    for name, record in records.items():
        if record.get("deleted"):
            groups.pop(name, None)
        else:
            groups[name] = ServerGroupDef(name=name, policy=record["policy"], id=record.get("id", ""))
    return groups


def view(cluster: Cluster, name: str) -> GroupView:
    groups = definitions(cluster)
    definition = groups.get(name) or next((g for g in groups.values() if g.id and g.id == name), None)
    if definition is None:  # Nova's hint names a group by id; operators by name: both work
        raise NotFound(unknown(f"server group {name!r} not found (known: {', '.join(sorted(groups)) or 'none'})", name, groups))
    members = [i for i in cluster.instances if i.group in (definition.name, definition.id)]
    return GroupView(definition, members)


def instance_group(cluster: Cluster, name: str) -> InstanceGroup:
    """The scheduler's view of a group: policy, members and the hosts they run on."""
    group = view(cluster, name)
    return InstanceGroup(
        name=group.definition.name,
        policy=group.definition.policy,
        members=[m.uuid for m in group.members],
        hosts=[m.host for m in group.members],
    )


def create(cluster: Cluster, name: str, policy: str) -> ServerGroupDef:
    if name in definitions(cluster):
        raise UsageError(f"server group {name!r} already exists")
    group = ServerGroupDef(name=name, policy=policy, id=str(uuid.uuid4()))
    _write_everywhere(cluster, group_record(group, _now()))
    return group


def delete(cluster: Cluster, name: str) -> None:
    group = view(cluster, name)
    if group.members:
        # Nova allows it and leaves members orphaned; refusing keeps the policy meaningful.
        raise UsageError(f"server group {name!r} still has members: {', '.join(m.name for m in group.members)}")
    _write_everywhere(cluster, group_record(group.definition, _now(), deleted=True))


def _write_everywhere(cluster: Cluster, record: dict) -> None:
    written = []
    for name, driver in cluster.drivers.items():
        if name in cluster.reports and driver.capabilities["stores_server_groups"]:
            try:
                driver.save_server_group(record)
                written.append(name)
            except HostError:
                continue
    if not written:
        raise HostError("cluster", "no reachable libvirt host to store the server group on (fake clusters: declare it in the inventory)")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
