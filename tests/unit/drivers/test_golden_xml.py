"""Domain XML and novactl metadata pinned as exact text (tests/unit/golden/*.xml).

A change to what novactl writes into a host's libvirt must show up here as a diff a reviewer reads.
Regenerate deliberately: `NOVACTL_REGOLD=1 python3 -m pytest tests/unit/drivers/test_golden_xml.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.drivers.libvirt import domain_xml, metadata
from novactl.hoststate import InstanceInfo
from novactl.models import Flavor

GOLDEN = Path(__file__).parents[1] / "golden"
UUID = "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e"
SPECIAL = Flavor(id="42", name="m1.special", ram=1024, disk=10, vcpus=2, ephemeral=5, swap=512)
TINY = Flavor(id="1", name="m1.tiny", ram=512, disk=1, vcpus=1)


def full_instance() -> InstanceInfo:
    """Every optional metadata element present."""
    return InstanceInfo(
        uuid=UUID,
        name="web-1",
        host="compute1",
        flavor=SPECIAL,
        image_id="5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d",
        group="web",
        zone="az1",
        instance_name="instance-0b1f8d6e",
        vm_state="resized",
        task_state="resize_finish",
        created="2026-11-25T23:00:00Z",
        networks={"private": ["52:54:00:12:34:56"]},
        fault={"code": "500", "message": 'No valid host <& "quoted">', "created": "2026-11-25T23:01:00Z"},
        metadata={"old_host": "compute2", "old_flavor": "1"},
        user_metadata={"role": "web <&>"},
        key_name="ops",
        config_drive=True,
        fixed_ips={"private": "10.0.0.5"},
    )


def minimal_instance() -> InstanceInfo:
    """No group, task, fault or meta: the optional elements are absent, not empty."""
    return InstanceInfo(
        uuid=UUID,
        name="vm",
        host="compute1",
        flavor=TINY,
        image_id="5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d",
        instance_name="instance-0b1f8d6e",
        created="2026-11-25T23:00:00Z",
        networks={"private": ["52:54:00:12:34:56"]},
    )


def domain_spec(instance: InstanceInfo, virt_type: str = "kvm", cpu_mode: str = "none") -> domain_xml.DomainSpec:
    directory = f"/var/lib/novactl/instances/{instance.uuid}"
    disks = [(f"{directory}/disk", "vda")]
    if instance.flavor.ephemeral:
        disks.append((f"{directory}/disk.eph0", "vdb"))
    if instance.flavor.swap:
        disks.append((f"{directory}/disk.swap", "vdc"))
    return domain_xml.DomainSpec(
        instance=instance,
        virt_type=virt_type,
        cpu_mode=cpu_mode,
        arch="x86_64",
        instance_dir=directory,
        disks=disks,
        bridge="br-novactl",
        mac=instance.networks["private"][0],
        tap=f"tap{instance.uuid[:11]}",
        config_drive=f"{directory}/disk.config" if instance.config_drive else None,
    )


CASES = {
    "domain-full.xml": lambda: domain_xml.build(domain_spec(full_instance(), cpu_mode="host-model")),
    "domain-minimal-qemu.xml": lambda: domain_xml.build(domain_spec(minimal_instance(), virt_type="qemu", cpu_mode="host-model")),
    "metadata-full.xml": lambda: metadata.to_plain_xml(full_instance()),
    "metadata-minimal.xml": lambda: metadata.to_plain_xml(minimal_instance()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    text = CASES[name]() + "\n"
    path = GOLDEN / name
    if os.environ.get("NOVACTL_REGOLD"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("factory", [full_instance, minimal_instance])
def test_metadata_reads_back_from_the_golden_text(factory) -> None:
    instance = factory()
    name = "metadata-full.xml" if factory is full_instance else "metadata-minimal.xml"
    back = metadata.from_xml((GOLDEN / name).read_text(), instance.host, instance.uuid, instance.instance_name)
    assert back == instance


def test_metadata_reads_back_from_the_domain_xml_namespaced_form() -> None:
    """What a poll gets is the element with its namespace, as the domain XML carries it."""
    import xml.etree.ElementTree as ET

    domain = ET.fromstring((GOLDEN / "domain-full.xml").read_text())
    element = domain.find("metadata/{urn:novactl:instance:1}instance")
    instance = full_instance()
    back = metadata.from_xml(ET.tostring(element, encoding="unicode"), instance.host, instance.uuid, instance.instance_name)
    assert back == instance


@pytest.mark.parametrize("name", ["domain-full.xml", "domain-minimal-qemu.xml"])
def test_the_domain_description_parses_its_golden_text_back_to_what_built_it(name: str) -> None:
    text = (GOLDEN / name).read_text()
    parsed = domain_xml.from_xml(text)
    instance = full_instance() if "full" in name else minimal_instance()
    spec = domain_spec(instance, cpu_mode="host-model", virt_type="kvm" if "full" in name else "qemu")
    assert parsed == domain_xml.domain(spec)
    assert domain_xml.to_xml(parsed) + "\n" == text


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], include_characters="\n\t"), max_size=20)
_small = st.integers(min_value=0, max_value=10**6)


@settings(max_examples=100, deadline=None)
@given(
    name=_text,
    flavor=st.builds(Flavor, id=_text, name=_text, ram=_small, disk=_small, vcpus=_small, ephemeral=_small, swap=_small),
    group=st.none() | _text.filter(bool),
    task_state=st.none() | _text.filter(bool),
    networks=st.dictionaries(_text, st.lists(_text.filter(lambda t: "," not in t), min_size=1, max_size=3), max_size=3),
    fault=st.none() | st.dictionaries(st.sampled_from(["code", "message", "created", "details"]), _text, min_size=1),
    meta=st.dictionaries(_text, _text, max_size=4),
    addresses=st.lists(st.ip_addresses(v=4).map(str), max_size=3),
)
def test_metadata_round_trips_any_instance(name, flavor, group, task_state, networks, fault, meta, addresses) -> None:
    instance = InstanceInfo(
        uuid=UUID,
        name=name,
        host="compute1",
        flavor=flavor,
        image_id="img",
        group=group,
        instance_name="instance-0b1f8d6e",
        task_state=task_state,
        networks=networks,
        fault=fault,
        metadata=meta,
        fixed_ips=dict(zip(networks, addresses, strict=False)),  # a fixed IP on some of the networks
    )
    back = metadata.from_xml(metadata.to_plain_xml(instance), "compute1", UUID, "instance-0b1f8d6e")
    assert back == instance
