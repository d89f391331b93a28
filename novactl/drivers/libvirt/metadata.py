"""novactl's `<metadata>` element in a libvirt domain: all a stateless CLI knows of an instance.

`InstanceMetadata` (xmlmodel.py) is the one description of the element: it builds it and parses it.
Everything `list`/`show`, server-group membership and resource accounting need lives here, so every
operator reads the same cluster state.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, fields
from typing import Any

from novactl.drivers.libvirt.xmlmodel import XMLElement, attrs, child, flag, value
from novactl.hoststate import InstanceInfo
from novactl.models import Flavor

NAMESPACE = "urn:novactl:instance:1"
PREFIX = "novactl"
_INSTANCE_FIELDS = {f.name for f in fields(InstanceInfo)}


class _Novactl(XMLElement):
    NAMESPACE = NAMESPACE


@dataclass(kw_only=True)
class FlavorElement(_Novactl):
    """The flavor with its sizes: accounting must not depend on the inventory still listing it."""

    TAG = "flavor"
    id: str = value("@id", "")
    name: str = value("@name", "")
    ram: int = value("@ram", 0)
    disk: int = value("@disk", 0)
    vcpus: int = value("@vcpus", 0)
    ephemeral: int = value("@ephemeral", 0)
    swap: int = value("@swap", 0)


@dataclass(kw_only=True)
class NetworkElement(_Novactl):
    TAG = "network"
    name: str = value("@name", "")
    mac: str = value("@mac", "")  # comma-separated
    ip: str | None = value("@ip", None)  # the fixed address on a network with a cidr (fixed_ips.py)


@dataclass(kw_only=True)
class MetaElement(_Novactl):
    TAG = "meta"
    key: str = value("@key", "")
    data: str = value("@value", "")


@dataclass(kw_only=True)
class UserMetaElement(_Novactl):
    TAG = "user_meta"
    key: str = value("@key", "")
    data: str = value("@value", "")


@dataclass(kw_only=True)
class InstanceMetadata(_Novactl):
    TAG = "instance"
    name: str = value("name", "")
    flavor: FlavorElement | None = child(many=False)
    image_id: str = value("image/@id", "")
    group: str | None = value("group", None)
    zone: str = value("zone", "nova")
    created: str = value("created", "")
    vm_state: str = value("state/@vm_state", "active")
    task_state: str | None = value("state/@task_state", None)
    networks: list[NetworkElement] = child()
    fault: dict[str, Any] | None = attrs("fault")
    meta: list[MetaElement] = child()
    user_meta: list[UserMetaElement] = child()  # Nova's server metadata (boot --meta)
    key_name: str | None = value("key/@name", None)
    config_drive: bool = flag("config_drive", default=False)

    @classmethod
    def of(cls, instance: InstanceInfo) -> InstanceMetadata:
        flavor = instance.flavor
        return cls(
            name=instance.name,
            flavor=FlavorElement(**{k: getattr(flavor, k) for k in ("id", "name", "ram", "disk", "vcpus", "ephemeral", "swap")}),
            image_id=instance.image_id,
            group=instance.group or None,
            zone=instance.zone,
            created=instance.created,
            vm_state=instance.vm_state,
            task_state=instance.task_state or None,
            networks=[
                NetworkElement(name=name, mac=",".join(macs), ip=instance.fixed_ips.get(name)) for name, macs in instance.networks.items()
            ],
            fault=instance.fault or None,
            meta=[MetaElement(key=k, data=str(v)) for k, v in instance.metadata.items()],
            user_meta=[UserMetaElement(key=k, data=v) for k, v in instance.user_metadata.items()],
            key_name=instance.key_name or None,
            config_drive=instance.config_drive,
        )

    def instance(self, host: str, uuid: str, instance_name: str) -> InstanceInfo:
        flavor = self.flavor or FlavorElement()
        return InstanceInfo(
            uuid=uuid,
            name=self.name,
            host=host,
            flavor=Flavor(**asdict(flavor)),
            image_id=self.image_id,
            group=self.group or None,
            zone=self.zone,
            instance_name=instance_name,
            vm_state=self.vm_state,
            task_state=self.task_state or None,
            created=self.created,
            networks={n.name: n.mac.split(",") for n in self.networks},
            fault=self.fault,
            metadata={m.key: m.data for m in self.meta},
            user_metadata={m.key: m.data for m in self.user_meta},
            key_name=self.key_name,
            config_drive=self.config_drive,
            fixed_ips={n.name: n.ip for n in self.networks if n.ip is not None},
        )


def to_element(instance: InstanceInfo) -> ET.Element:
    return InstanceMetadata.of(instance).to_element()


def to_plain_xml(instance: InstanceInfo) -> str:
    """The element without namespace, as virDomainSetMetadata wants it (libvirt adds PREFIX/NAMESPACE)."""
    root = to_element(instance)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return ET.tostring(root, encoding="unicode")


def from_xml(text: str, host: str, uuid: str, instance_name: str) -> InstanceInfo:
    """Parse the element; libvirt hands it back without its namespace, so match either."""
    root = ET.fromstring(text)
    for element in root.iter():
        element.tag = f"{{{NAMESPACE}}}{element.tag.rpartition('}')[2]}"
    return InstanceMetadata.from_element(root).instance(host, uuid, instance_name)


def to_record(instance: InstanceInfo, expires: float) -> dict:
    """A claim file's JSON: the instance as it will be, until its domain is defined or it expires."""
    record = asdict(instance)
    record["expires"] = expires
    return record


def from_record(record: dict, host: str) -> InstanceInfo:
    values = {k: v for k, v in record.items() if k in _INSTANCE_FIELDS}
    values["flavor"] = Flavor(**record["flavor"])
    values["host"] = host
    return InstanceInfo(**values)
