"""The config drive on the lab: written beside the disks, attached read-only as a cdrom, carried by
cold and live migration, removed by delete; its user data read back byte-exact from the host."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest

from tests.integration.cli import novactl_json, novactl_ok
from tests.integration.leftovers import assert_clean, delete_leftovers
from tests.lab import Lab

INSTANCES = "/var/lib/novactl/instances"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINjMJamD4Gmo6fGT/c6XtvN+Cn4Ewlgu83Q6NrkA1Hsu ops@lab"
USER_DATA = b"#!/bin/sh\necho hello from user data\n" + bytes(range(256))


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict) -> Iterator[Path]:
    path = lab.write_inventory(tmp_path / "inventory.yaml", images=[marker_image], keypairs=[{"name": "ops", "public_key": KEY}])
    (tmp_path / "user-data").write_bytes(USER_DATA)
    yield path
    delete_leftovers(path)
    assert_clean(lab)


def drive_on(lab: Lab, host: str, uuid: str) -> pycdlib.PyCdlib:
    encoded = lab.exec(host, ["base64", "-w0", f"{INSTANCES}/{uuid}/disk.config"]).stdout
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(base64.b64decode(encoded)))
    return iso


def read(iso: pycdlib.PyCdlib, path: str) -> bytes:
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, rr_path=path)
    return out.getvalue()


def assert_attached(lab: Lab, host: str, uuid: str, domain: str) -> None:
    xml = lab.virsh(host, "dumpxml", domain)
    assert f"{INSTANCES}/{uuid}/disk.config" in xml and 'device="cdrom"' in xml.replace("'", '"') and "<readonly/>" in xml
    iso = drive_on(lab, host, uuid)
    try:
        assert read(iso, "/openstack/latest/user_data") == USER_DATA
        meta = json.loads(read(iso, "/openstack/latest/meta_data.json"))
        assert (meta["uuid"], meta["name"], meta["hostname"], meta["public_keys"]) == (uuid, "cd1", "cd1", {"ops": KEY})
        assert meta["meta"] == {"role": "web"}
    finally:
        iso.close()


def test_config_drive_is_attached_and_carried_by_moves(lab: Lab, inventory: Path) -> None:
    h1, h2, h3 = (h.name for h in lab.hosts)
    user_data = str(inventory.parent / "user-data")
    args = ["--key-name", "ops", "--user-data", user_data, "--meta", "role=web", "--availability-zone", f"nova:{h1}"]
    shown = novactl_json(inventory, "boot", "cd1", "--flavor", "m1.tiny", "--image", "marker", *args)
    uuid, domain = shown["id"], shown["OS-EXT-SRV-ATTR:instance_name"]
    assert (shown["config_drive"], shown["key_name"], shown["metadata"]) == ("True", "ops", {"role": "web"})
    assert_attached(lab, h1, uuid, domain)

    novactl_ok(inventory, "migrate", "cd1", "--host", h2, "--timeout", "0")
    novactl_ok(inventory, "resize-confirm", "cd1")
    assert_attached(lab, h2, uuid, domain)

    novactl_ok(inventory, "live-migration", "cd1", h3)
    assert_attached(lab, h3, uuid, domain)
    assert novactl_json(inventory, "show", "cd1")["config_drive"] == "True"
    novactl_ok(inventory, "delete", "cd1")  # the fixture then checks nothing is left on any host


def test_no_config_drive_means_no_cdrom(lab: Lab, inventory: Path) -> None:
    h1 = lab.hosts[0].name
    shown = novactl_json(
        inventory, "boot", "plain", "--flavor", "m1.tiny", "--image", "marker", "--no-config-drive", "--availability-zone", f"nova:{h1}"
    )
    assert shown["config_drive"] is None
    assert "cdrom" not in lab.virsh(h1, "dumpxml", shown["OS-EXT-SRV-ATTR:instance_name"])
    assert lab.exec(h1, ["test", "-e", f"{INSTANCES}/{shown['id']}/disk.config"], check=False).returncode == 1
    novactl_ok(inventory, "delete", "plain")
