"""Where things live on a host (the layout ARCHITECTURE.md describes), in one place.

Every path is built from the inventory's validated directories plus names novactl makes itself
(uuids, sha1 digests), so nothing derived from user input can escape them.
"""

from __future__ import annotations

import hashlib

from novactl.models import HostConfig

DELETING = "deleting"  # the mark spawn.destroy leaves in a directory it is about to delete


def base_name(image_id: str) -> str:
    """The cache file name of an image in _base, as Nova's imagecache names it: sha1 of the id."""
    return hashlib.sha1(image_id.encode()).hexdigest()


def base_file(host: HostConfig, image_id: str) -> str:
    return f"{host.base_path}/{base_name(image_id)}"


def instance_dir(host: HostConfig, instance_uuid: str) -> str:
    """`<instances_path>/<uuid>`; also `<uuid>_resize`, a cold move's source."""
    return f"{host.instances_path}/{instance_uuid}"


def config_drive(host: HostConfig, instance_uuid: str) -> str:
    """Nova's name for the config drive: disk.config beside the disks, so moves and delete carry it."""
    return f"{instance_dir(host, instance_uuid)}/disk.config"


def locks_dir(host: HostConfig) -> str:
    return f"{host.state_path}/locks"


def host_lock(host: HostConfig) -> str:
    return f"{locks_dir(host)}/host.lock"


def image_lock(host: HostConfig, image_id: str) -> str:
    return base_lock(host, base_name(image_id))


def base_lock(host: HostConfig, name: str) -> str:
    """The per-image lock by the base's file name (what pruning knows, without the image id)."""
    return f"{locks_dir(host)}/image-{name}.lock"


def builder_lock(host: HostConfig, token: str) -> str:
    """The lock a novactl process holds on the host for as long as it lives (builders.py)."""
    return f"{locks_dir(host)}/builder-{token}.lock"


def claims_dir(host: HostConfig) -> str:
    return f"{host.state_path}/claims"


def service_file(host: HostConfig) -> str:
    return f"{host.state_path}/service.json"


def node_facts_file(host: HostConfig) -> str:
    """The node facts cache (drivers/libvirt/facts.py): novactl's own, deleting it is always safe."""
    return f"{host.state_path}/node_facts.cache"


def groups_dir(host: HostConfig) -> str:
    return f"{host.state_path}/server_groups"


def ipam_lock(host: HostConfig, network: str) -> str:
    """The lock every fixed-IP allocation on `network` takes, on the network's allocating host."""
    return f"{locks_dir(host)}/ipam-{network}.lock"


def leases_dir(host: HostConfig, network: str) -> str:
    """`ipam/<network>/`: one `<address>.json` lease per allocated address."""
    return f"{host.state_path}/ipam/{network}"
