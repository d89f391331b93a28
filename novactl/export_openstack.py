"""`export openstack`: the cluster as a shell script of `openstack` CLI commands.

The way out, once a cluster outgrows novactl: because the inventory already uses Nova's and Glance's
names, each object maps onto one python-openstackclient command. Ids are kept where the API takes
them (flavors, images), so instance lines can name them. Instances are written commented out: a
`server create` boots a fresh guest, and whether to move the old disks instead (image upload, volume
import) is the operator's choice.

Every value goes through shlex.quote: names and properties come from the inventory and from the
hosts, and a property value like `$(rm -rf ~)` must stay a value. The generated lines are checked in
the tests by openstackclient's own argument parsers.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import Any

from novactl.hoststate import InstanceInfo
from novactl.instances import vm_state
from novactl.models import Flavor, Image, Inventory, Keypair, Network, ServerGroupDef

# Nova's compute API microversion that accepts the soft-(anti-)affinity policies.
SOFT_POLICY_MICROVERSION = "2.15"


def script(
    inventory: Inventory,
    image_files: dict[str, str],
    groups: Iterable[ServerGroupDef],
    instances: Iterable[InstanceInfo],
    unreachable: dict[str, str] | None = None,
) -> str:
    """The whole script. `image_files` maps image id -> the absolute file on this machine;
    `unreachable` maps hosts that did not answer to why (their instances are missing)."""
    lines = [
        "#!/bin/sh",
        f"# OpenStack commands recreating the novactl cluster of {_comment(inventory.path)}.",
        "# Written by `novactl export openstack`. Run it with admin credentials (OS_CLOUD or OS_* variables).",
        "# Instances are listed commented out at the end: moving their disks is the operator's choice.",
        "set -eu",
    ]
    lines += _section("Flavors", [line for flavor in inventory.flavors for line in flavor_lines(flavor)])
    lines += _section("Images", [line for image in inventory.images for line in image_lines(image, image_files[image.id])])
    keypairs = list(inventory.keypairs)
    if keypairs:
        key_lines = ["keys=$(mktemp -d)", "trap 'rm -rf \"$keys\"' EXIT"]
        key_lines += [line for keypair in keypairs for line in keypair_lines(keypair)]
        lines += _section("Keypairs", key_lines)
    groups = sorted(groups, key=lambda g: g.name)
    lines += _section("Server groups", [group_line(group) for group in groups])
    lines += _section("Networks", [line for network in inventory.networks for line in network_lines(network)])
    names = {key: g.name for g in groups for key in (g.name, g.id) if key}  # members may name their group by id
    down = sorted((unreachable or {}).items())
    server_lines = [_comment_line(f"{host} did not answer ({why}): its instances are not listed") for host, why in down]
    for instance in sorted(instances, key=lambda i: (i.host, i.name)):
        server_lines += instance_lines(instance, inventory, names)
    lines += _section("Instances (uncomment to boot fresh servers in their place)", server_lines)
    return "\n".join(lines) + "\n"


def flavor_lines(flavor: Flavor) -> list[str]:
    argv = ["flavor", "create", "--id", str(flavor.id), "--ram", str(flavor.ram), "--disk", str(flavor.disk)]
    argv += ["--vcpus", str(flavor.vcpus), "--ephemeral", str(flavor.ephemeral), "--swap", str(flavor.swap)]
    argv += ["--rxtx-factor", str(flavor.rxtx_factor), "--public" if flavor.is_public else "--private"]
    argv += _properties(flavor.extra_specs)
    return [_command([*argv, flavor.name])]


def image_lines(image: Image, path: str) -> list[str]:
    argv = ["image", "create", "--id", image.id, "--file", path, "--disk-format", image.disk_format, "--container-format", "bare"]
    argv += ["--min-ram", str(image.min_ram), "--min-disk", str(image.min_disk), "--public"]
    argv += _properties(image.properties)
    lines = [_comment_line(f"checksum in the inventory: {image.checksum}")] if image.checksum else []
    return [*lines, _command([*argv, image.name])]


def keypair_lines(keypair: Keypair) -> list[str]:
    """The public key is written to a file of the script's own temporary directory (never a secret:
    novactl keeps only public keys in the inventory), then uploaded under its name."""
    key_file = f'"$keys"/{shlex.quote(keypair.name + ".pub")}'
    argv = ["keypair", "create", "--public-key"]
    tail = ["--type", keypair.type, keypair.name]
    return [
        f"printf '%s\\n' {shlex.quote(keypair.public_key.strip())} > {key_file}",
        f"{_command(argv)} {key_file} {shlex.join(tail)}",
    ]


def group_line(group: ServerGroupDef) -> str:
    version = ["--os-compute-api-version", SOFT_POLICY_MICROVERSION] if group.policy.startswith("soft-") else []
    return _command([*version, "server", "group", "create", "--policy", group.policy, group.name])


def network_lines(network: Network) -> list[str]:
    """A Neutron network, and its subnet when the inventory gives one (Neutron's subnet fields)."""
    mtu = getattr(network, "mtu", None)
    uplink = f" on {network.physical_interface}" if network.physical_interface else ""
    lines = [_comment_line(f"on novactl: bridge {network.bridge}{uplink}")]
    lines.append(_command(["network", "create", *(["--mtu", str(mtu)] if mtu else []), network.name]))
    cidr = getattr(network, "cidr", None)
    if not cidr:
        lines.append(_comment_line(f"{network.name} has no cidr in the inventory (its bridge's DHCP serves it): add a subnet by hand"))
        return lines
    argv = ["subnet", "create", "--network", network.name, "--subnet-range", str(cidr)]
    gateway = getattr(network, "gateway_ip", None)
    if gateway:
        argv += ["--gateway", str(gateway)]
    for pool in getattr(network, "allocation_pools", None) or []:
        start, end = (pool["start"], pool["end"]) if isinstance(pool, dict) else (pool.start, pool.end)
        argv += ["--allocation-pool", f"start={start},end={end}"]
    for server in getattr(network, "dns_nameservers", None) or []:
        argv += ["--dns-nameserver", str(server)]
    lines.append(_command([*argv, f"{network.name}-subnet"]))
    return lines


def instance_lines(instance: InstanceInfo, inventory: Inventory, group_names: dict[str, str]) -> list[str]:
    """A comment saying what the instance was, then its `server create`, commented out."""
    state = vm_state(instance)
    about = f"{instance.name} ({instance.uuid}) on {instance.host} in {instance.zone}, {state}"
    lines = [_comment_line(about)]
    argv = ["server", "create", "--flavor", str(instance.flavor.id)]
    if instance.image_id:
        argv += ["--image", instance.image_id]
        if not any(image.id == instance.image_id for image in inventory.images):
            lines.append(_comment_line(f"image {instance.image_id} is no longer in the inventory"))
    argv += ["--availability-zone", instance.zone]
    key_name = getattr(instance, "key_name", None) or instance.metadata.get("key_name")
    if key_name:
        argv += ["--key-name", str(key_name)]
    if instance.group:  # the cloud gives the group a new id: name it (openstackclient resolves names)
        argv += ["--server-group", group_names.get(instance.group, instance.group)]
    for name in instance.networks:
        fixed = instance.fixed_ips.get(name)  # the address is kept: the subnet above has the same pool
        argv += ["--nic", f"net-id={name},v4-fixed-ip={fixed}"] if fixed else ["--network", name]
    command = _command([*argv, instance.name])
    if "\n" in command or "\r" in command:  # uncommenting must give back exactly one command
        return [*lines, _comment_line("its values hold line breaks: write its server create by hand")]
    return [*lines, "# " + command]


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"# -- {title} --", *(lines or ["# (none)"])]


def _command(argv: list[str]) -> str:
    return shlex.join(["openstack", *argv])


def _properties(values: dict[str, Any]) -> list[str]:
    argv = []
    for key, value in values.items():
        argv += ["--property", f"{key}={_property_value(value)}"]
    return argv


def _property_value(value: Any) -> str:
    """Glance and Nova keep properties as strings: YAML's booleans as Glance spells them, structures as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _comment(text: str) -> str:
    """Text from the inventory or a host inside a comment: one line, whatever it holds."""
    return " ".join(str(text).split())


def _comment_line(text: str) -> str:
    return f"# {_comment(text)}"
