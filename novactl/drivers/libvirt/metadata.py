"""novactl's `<metadata>` element in a libvirt domain: all a stateless CLI knows of an instance.

Built and parsed with ElementTree (never string templates). Everything `list`/`show`, server-group
membership and resource accounting need lives here, so every operator reads the same cluster state.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, fields

from novactl.hoststate import InstanceInfo
from novactl.models import Flavor

NAMESPACE = "urn:novactl:instance:1"
PREFIX = "novactl"
_FLAVOR_INTS = ("ram", "disk", "vcpus", "ephemeral", "swap")
_INSTANCE_FIELDS = {f.name for f in fields(InstanceInfo)}


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def to_element(instance: InstanceInfo) -> ET.Element:
    root = ET.Element(_q("instance"))
    ET.SubElement(root, _q("name")).text = instance.name
    flavor = instance.flavor
    ET.SubElement(
        root,
        _q("flavor"),
        {
            "id": flavor.id,
            "name": flavor.name,
            **{k: str(getattr(flavor, k)) for k in _FLAVOR_INTS},
        },
    )
    ET.SubElement(root, _q("image"), {"id": instance.image_id})
    if instance.group:
        ET.SubElement(root, _q("group")).text = instance.group
    ET.SubElement(root, _q("zone")).text = instance.zone
    ET.SubElement(root, _q("created")).text = instance.created
    state = {"vm_state": instance.vm_state}
    if instance.task_state:
        state["task_state"] = instance.task_state
    ET.SubElement(root, _q("state"), state)
    for net_name, addresses in instance.networks.items():
        ET.SubElement(root, _q("network"), {"name": net_name, "mac": ",".join(addresses)})
    if instance.fault:
        ET.SubElement(root, _q("fault"), {k: str(v) for k, v in instance.fault.items()})
    for key, value in instance.metadata.items():
        ET.SubElement(root, _q("meta"), {"key": key, "value": str(value)})
    for key, value in instance.user_metadata.items():
        ET.SubElement(root, _q("user_meta"), {"key": key, "value": value})
    if instance.key_name:
        ET.SubElement(root, _q("key"), {"name": instance.key_name})
    if instance.config_drive:
        ET.SubElement(root, _q("config_drive"))
    return root


def to_plain_xml(instance: InstanceInfo) -> str:
    """The element without namespace, as virDomainSetMetadata wants it (libvirt adds PREFIX/NAMESPACE)."""
    root = to_element(instance)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return ET.tostring(root, encoding="unicode")


def from_xml(text: str, host: str, uuid: str, instance_name: str) -> InstanceInfo:
    """Parse what `to_element` built; libvirt hands the element back without its namespace, so match either."""
    root = ET.fromstring(text)
    for element in root.iter():
        element.tag = _q(element.tag.rpartition("}")[2])
    flavor_el = root.find(_q("flavor"))
    attrs = dict(flavor_el.attrib) if flavor_el is not None else {}
    flavor = Flavor(
        id=attrs.get("id", ""),
        name=attrs.get("name", ""),
        **{k: int(attrs.get(k, 0)) for k in _FLAVOR_INTS},
    )
    state = root.find(_q("state"))
    fault = root.find(_q("fault"))
    image = root.find(_q("image"))
    return InstanceInfo(
        uuid=uuid,
        name=root.findtext(_q("name"), ""),
        host=host,
        flavor=flavor,
        image_id=image.get("id", "") if image is not None else "",
        group=root.findtext(_q("group")) or None,
        zone=root.findtext(_q("zone"), "nova"),
        instance_name=instance_name,
        vm_state=state.get("vm_state", "active") if state is not None else "active",
        task_state=(state.get("task_state") if state is not None else None) or None,
        created=root.findtext(_q("created"), ""),
        networks={n.get("name", ""): n.get("mac", "").split(",") for n in root.findall(_q("network"))},
        fault=dict(fault.attrib) if fault is not None else None,
        metadata={m.get("key", ""): m.get("value", "") for m in root.findall(_q("meta"))},
        user_metadata={m.get("key", ""): m.get("value", "") for m in root.findall(_q("user_meta"))},
        key_name=key.get("name") if (key := root.find(_q("key"))) is not None else None,
        config_drive=root.find(_q("config_drive")) is not None,
    )


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
