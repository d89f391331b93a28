"""Nova's config drive (config-2): the instance's metadata as an ISO 9660 image the guest mounts.

Pure: data in, bytes out; the driver writes the image to `<instances_path>/<uuid>/disk.config` and
attaches it read-only as a cdrom, as Nova's libvirt driver does. The layout and the JSON documents
follow nova/api/metadata/base.py (InstanceMetadata.metadata_for_config_drive) and
nova/virt/netutils.py (get_network_metadata) of Queens:

    openstack/<version>/meta_data.json       every version, and latest
    openstack/<version>/user_data            when the instance has user data, byte-exact
    openstack/<version>/vendor_data.json     from 2013-10-17 (Havana)
    openstack/<version>/network_data.json    from 2015-10-15 (Liberty)
    openstack/<version>/vendor_data2.json    from 2016-10-06 (Newton)

Nova also writes the EC2 tree (ec2/<version>/meta-data.json); cloud-init reads the openstack tree
of a config drive, and no EC2 API exists here, so it is left out. The image is ISO 9660 with Joliet
and Rock Ridge, volume label `config-2`, as `genisoimage -J -r -V config-2` makes it for Nova.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

LABEL = "config-2"
FOLSOM, GRIZZLY, HAVANA, LIBERTY = "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15"
NEWTON_ONE, NEWTON_TWO, OCATA = "2016-06-30", "2016-10-06", "2017-02-22"
OPENSTACK_VERSIONS = [FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA]
MAX_USERDATA_SIZE = 65535  # nova/compute/api.py: bytes of the base64 text the API accepts
PUBLISHER = "novactl"  # Nova writes "OpenStack Compute <version>"


@dataclass(frozen=True)
class Port:
    """One vif as network_data.json describes it; `fixed_ip` None means the network's own DHCP."""

    id: str  # Neutron's port id; here the interface's uuid
    mac: str
    network_id: str  # the network's name: there are no Neutron network uuids here
    devname: str  # the host-side tap, which Nova uses as the link id
    vif_type: str = "bridge"
    mtu: int | None = None
    fixed_ip: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    dns_nameservers: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceMetadata:
    uuid: str
    name: str  # the display name
    hostname: str  # sanitize_hostname(name); Nova adds "." + [api]dhcp_domain, which is empty here
    availability_zone: str
    launch_index: int = 0
    key_name: str | None = None
    key_data: str | None = None  # the keypair's public key
    key_type: str = "ssh"
    meta: dict[str, str] = field(default_factory=dict)
    user_data: bytes | None = None
    ports: tuple[Port, ...] = ()


def sanitize_hostname(name: str, default: str | None = None) -> str:
    """nova/utils.py's sanitize_hostname (Queens): latin-1 only, spaces and underscores to dashes,
    other non-word characters dropped, lower case, no leading or trailing dots or dashes, 63 at most."""
    hostname = name.encode("latin-1", "ignore").decode("latin-1")[:63]
    hostname = re.sub("[ _]", "-", hostname)
    hostname = re.sub(r"[^\w.-]+", "", hostname)
    hostname = hostname.lower().strip(".-")
    if not hostname and default is not None:
        return default[:63]
    return hostname


def meta_data(md: InstanceMetadata, version: str) -> dict[str, Any]:
    """meta_data.json of one version (_metadata_as_json)."""
    data: dict[str, Any] = {"uuid": md.uuid}
    if md.meta:
        data["meta"] = dict(md.meta)
    if md.key_name:
        data["public_keys"] = {md.key_name: md.key_data}
        data["keys"] = [{"name": md.key_name, "type": md.key_type, "data": md.key_data}]
    data["hostname"] = md.hostname
    data["name"] = md.name
    data["launch_index"] = md.launch_index
    data["availability_zone"] = md.availability_zone
    if _since(GRIZZLY, version):
        data["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if _since(NEWTON_ONE, version):
        data["devices"] = []  # no tagged devices
    return data


def network_data(md: InstanceMetadata) -> dict[str, Any]:
    """network_data.json (netutils.get_network_metadata): a link per port; an ipv4 network with the
    fixed address and default route, or ipv4_dhcp where the network's own DHCP serves it."""
    links, networks, services = [], [], []
    for index, port in enumerate(md.ports):
        links.append(
            {
                "id": port.devname,
                "vif_id": port.id,
                "type": port.vif_type,
                "mtu": port.mtu,
                "ethernet_mac_address": port.mac,
            }
        )
        network: dict[str, Any] = {"id": f"network{index}", "link": port.devname, "network_id": port.network_id}
        if port.fixed_ip is None:
            network["type"] = "ipv4_dhcp"
        else:
            routes = [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": port.gateway}] if port.gateway else []
            network.update({"type": "ipv4", "ip_address": port.fixed_ip, "netmask": port.netmask, "routes": routes})
            for server in port.dns_nameservers:
                service = {"type": "dns", "address": server}
                if service not in services:
                    services.append(service)
        networks.append(network)
    return {"links": links, "networks": networks, "services": services}


def files(md: InstanceMetadata) -> dict[str, bytes]:
    """Every file of the drive by its path, as metadata_for_config_drive yields them."""
    result: dict[str, bytes] = {}
    network = _json(network_data(md))
    for version in [*OPENSTACK_VERSIONS, "latest"]:
        base = f"openstack/{version}"
        result[f"{base}/meta_data.json"] = _json(meta_data(md, version))
        if md.user_data is not None:
            result[f"{base}/user_data"] = md.user_data
        if _since(HAVANA, version):
            result[f"{base}/vendor_data.json"] = b"{}"  # no vendordata provider
        if _since(LIBERTY, version):
            result[f"{base}/network_data.json"] = network
        if _since(NEWTON_TWO, version):
            result[f"{base}/vendor_data2.json"] = b"{}"
    return result


def import_iso_writer() -> None:
    """Import pycdlib, build_iso's ISO writer, ahead of the first build (a boot does it while its hosts are polled)."""
    import pycdlib  # noqa: F401


def build_iso(md: InstanceMetadata) -> bytes:
    """The config drive image: ISO 9660 (level 3 names), Joliet and Rock Ridge carry the real names."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=LABEL, pub_ident_str=PUBLISHER, joliet=3, rock_ridge="1.09")
    made: set[str] = set()
    now = time.time()  # one timestamp for every record: pycdlib would read the clock for each
    for path, content in files(md).items():
        parts = path.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if directory not in made:
                iso.add_directory(_iso_dir(directory), rr_name=parts[depth - 1], joliet_path=f"/{directory}", creation_time=now)
                made.add(directory)
        iso.add_fp(io.BytesIO(content), len(content), _iso_file(path), rr_name=parts[-1], joliet_path=f"/{path}", creation_time=now)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def check_user_data(data: bytes) -> None:
    """Nova's API refuses user data whose base64 text exceeds MAX_USERDATA_SIZE bytes."""
    from novactl.errors import UsageError

    encoded = len(base64.b64encode(data))
    if encoded > MAX_USERDATA_SIZE:
        limit = f"User data too large. User data must be no larger than {MAX_USERDATA_SIZE} bytes once base64 encoded."
        raise UsageError(f"{limit} Your data is {encoded} bytes")  # Nova's InstanceUserDataTooLarge


def _iso_dir(path: str) -> str:
    """ISO 9660 d-characters for a directory path: upper case, '-' and '.' become '_'."""
    return "/" + "/".join(d.upper().replace("-", "_").replace(".", "_") for d in path.split("/"))


def _iso_file(path: str) -> str:
    """A file's ISO 9660 path: NAME.EXT;1 in its directory's ISO path."""
    directory, _, leaf = path.rpartition("/")
    stem, _, ext = leaf.upper().replace("-", "_").partition(".")
    return f"{_iso_dir(directory)}/{stem}.{ext.replace('.', '_')};1"


def _since(required: str, version: str) -> bool:
    versions = [*OPENSTACK_VERSIONS, "latest"]
    return versions.index(version) >= versions.index(required)


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()
