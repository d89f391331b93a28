"""The config drive as cloud-init reads it: extracted by libarchive (bsdtar), read by Debian's cloud-init."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from novactl import configdrive
from novactl.configdrive import InstanceMetadata, Port, sanitize_hostname
from novactl.errors import UsageError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINjMJamD4Gmo6fGT/c6XtvN+Cn4Ewlgu83Q6NrkA1Hsu me@here"
USER_DATA = bytes(range(256)) + b"\r\n#!/bin/sh\n"  # every byte value: nothing may re-encode it
PORT = Port(
    id="0b4d2c71-93aa-4a5e-8f0b-2c6f3e1d7a94",
    mac="fa:16:3e:12:34:56",
    network_id="lan",
    devname="tap0b4d2c71-93",
    mtu=1450,
    fixed_ip="10.0.0.5",
    netmask="255.255.255.0",
    gateway="10.0.0.1",
    dns_nameservers=("10.0.0.1", "9.9.9.9"),
)
MD = InstanceMetadata(
    uuid="8d589108-215d-4489-8653-8d8af8183056",
    name="Web_1 test",
    hostname=sanitize_hostname("Web_1 test"),
    availability_zone="az1",
    key_name="me",
    key_data=KEY,
    meta={"role": "web"},
    user_data=USER_DATA,
    ports=(PORT, Port(id="p2", mac="fa:16:3e:00:00:02", network_id="dhcp", devname="tapp2")),
)
DEBIAN_PYTHON = "/usr/bin/python3"  # Debian's python, where apt's cloud-init lives


def _cloud_init_available() -> bool:
    if not Path(DEBIAN_PYTHON).exists():
        return False
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import cloudinit.sources.DataSourceConfigDrive"], capture_output=True, check=False)
    return probe.returncode == 0


needs_cloud_init = pytest.mark.skipif(
    not (shutil.which("bsdtar") and _cloud_init_available()), reason="needs bsdtar and cloud-init (scripts/setup.sh)"
)

CLOUD_INIT_READER = """
import json, sys
from cloudinit.sources.DataSourceConfigDrive import read_config_drive
from cloudinit.sources.helpers.openstack import convert_net_json
found = read_config_drive(sys.argv[1])
known = {"fa:16:3e:12:34:56": "eth0", "fa:16:3e:00:00:02": "eth1"}
print(json.dumps({
    "metadata": found["metadata"],
    "userdata": found["userdata"].hex(),
    "vendordata": found["vendordata"],
    "network": convert_net_json(found["networkdata"], known_macs=known),
}, default=lambda value: value.hex()))  # random_seed arrives decoded, as bytes
"""


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drive") / "disk.config"
    path.write_bytes(configdrive.build_iso(MD))
    return path


@needs_cloud_init
def test_cloud_init_reads_uuid_name_key_and_exact_user_data(drive: Path, tmp_path: Path) -> None:
    subprocess.run(["bsdtar", "-xf", str(drive), "-C", str(tmp_path)], check=True)
    done = subprocess.run([DEBIAN_PYTHON, "-c", CLOUD_INIT_READER, str(tmp_path)], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    metadata = found["metadata"]
    assert (metadata["uuid"], metadata["name"], metadata["hostname"]) == (MD.uuid, "Web_1 test", "web-1-test")
    assert metadata["public_keys"] == {"me": KEY}
    assert metadata["keys"] == [{"name": "me", "type": "ssh", "data": KEY}]
    assert metadata["meta"] == {"role": "web"}
    assert (metadata["availability_zone"], metadata["launch_index"]) == ("az1", 0)
    assert bytes.fromhex(found["userdata"]) == USER_DATA
    assert found["vendordata"] == {}
    physical = [c for c in found["network"]["config"] if c["type"] == "physical"]
    assert physical[0]["name"] == "eth0" and physical[0]["mac_address"] == PORT.mac and physical[0]["mtu"] == 1450
    assert physical[0]["subnets"] == [
        {
            "type": "static",
            "address": "10.0.0.5",
            "netmask": "255.255.255.0",
            "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}],
            "ipv4": True,
        }
    ]
    assert physical[1]["name"] == "eth1" and physical[1]["subnets"] == [{"type": "dhcp4"}]
    nameservers = [c["address"] for c in found["network"]["config"] if c["type"] == "nameserver"]
    assert nameservers == ["10.0.0.1", "9.9.9.9"]


@pytest.mark.skipif(not shutil.which("bsdtar"), reason="needs bsdtar (scripts/setup.sh)")
def test_every_dated_version_nova_writes_and_only_those(drive: Path) -> None:
    listing = subprocess.run(["bsdtar", "-tf", str(drive)], capture_output=True, text=True, check=True).stdout.split()
    names = {name.rstrip("/") for name in listing if name.count("/") >= 2 and not name.endswith("/")}
    expected = set()
    for version in ["2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22", "latest"]:
        expected |= {f"openstack/{version}/meta_data.json", f"openstack/{version}/user_data"}
        if version >= "2013-10-17":  # "latest" sorts after every date
            expected.add(f"openstack/{version}/vendor_data.json")
        if version >= "2015-10-15":
            expected.add(f"openstack/{version}/network_data.json")
        if version >= "2016-10-06":
            expected.add(f"openstack/{version}/vendor_data2.json")
    assert names == expected


def test_volume_label_and_extensions(drive: Path) -> None:
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.open(str(drive))
    try:
        assert iso.pvd.volume_identifier.rstrip(b" ") == b"config-2"
        assert iso.has_rock_ridge() and iso.has_joliet()
        out = __import__("io").BytesIO()
        iso.get_file_from_iso_fp(out, joliet_path="/openstack/latest/user_data")
        assert out.getvalue() == USER_DATA
    finally:
        iso.close()


def test_no_user_data_means_no_user_data_file_and_no_key_means_no_keys() -> None:
    bare = InstanceMetadata(uuid=MD.uuid, name="a", hostname="a", availability_zone="nova")
    files = configdrive.files(bare)
    assert not any(path.endswith("user_data") for path in files)
    latest = json.loads(files["openstack/latest/meta_data.json"])
    assert "public_keys" not in latest and "keys" not in latest and "meta" not in latest
    assert json.loads(files["openstack/latest/network_data.json"]) == {"links": [], "networks": [], "services": []}
    assert "random_seed" not in json.loads(files["openstack/2012-08-10/meta_data.json"])  # from Grizzly on


def test_user_data_limit_is_novas_base64_size() -> None:
    configdrive.check_user_data(b"x" * 49149)  # 65532 bytes of base64
    with pytest.raises(UsageError, match="no larger than 65535 bytes once base64 encoded"):
        configdrive.check_user_data(b"x" * 49152)  # 65536


@pytest.mark.parametrize(
    ("name", "hostname"),
    [("Web_1 test", "web-1-test"), ("..a--", "a"), ("Ünïcode", "ünïcode"), ("日本", ""), ("x" * 70, "x" * 63), ("a/b;c", "abc")],
)
def test_sanitize_hostname_examples(name: str, hostname: str) -> None:
    assert sanitize_hostname(name) == hostname


def test_sanitize_hostname_empty_takes_the_default() -> None:
    assert sanitize_hostname("日本", default="Server-8d589108") == "Server-8d589108"


@given(st.text())
def test_sanitize_hostname_is_idempotent_and_safe(name: str) -> None:
    hostname = sanitize_hostname(name)
    assert sanitize_hostname(hostname) == hostname
    assert len(hostname) <= 63
    assert not re.search(r"[ _/;]", hostname) and not hostname.startswith(("-", ".")) and not hostname.endswith(("-", "."))
