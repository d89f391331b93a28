"""`export openstack`: the script runs under sh (a recording `openstack` on PATH stands in for the cloud),
and every command it runs, the commented `server create` lines included, is accepted by
python-openstackclient's own argument parsers, with the values the inventory holds."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
import types
from pathlib import Path

import pytest

from novactl import export_openstack
from novactl.inventory import load_inventory
from tests.unit.runner import run

INVENTORY = """\
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
  - id: 42
    name: m1.special
    ram: 1024
    disk: 10
    ephemeral: 5
    swap: 512
    vcpus: 2
    rxtx_factor: 2.0
    is_public: false
    extra_specs: {"hw:cpu_policy": dedicated, "quota:cpu_shares": 2048, "odd": "$(touch /tmp/pwned) 'x' \\"y\\""}
images:
  - id: 11111111-2222-3333-4444-555555555555
    name: cirros
    file: images/cirros disk.qcow2
    checksum: c8fc807773e5354afe61636071771906
    min_ram: 64
    properties: {architecture: x86_64, hw_qemu_guest_agent: true, os_distro: "a b;c"}
  - {id: 66666666-7777-8888-9999-aaaaaaaaaaaa, name: ubuntu, file: /srv/ubuntu.raw, disk_format: raw}
networks:
  - {name: lan, bridge: br-lan, physical_interface: eth1}
  - {name: wan, bridge: br-wan, cidr: 10.0.0.0/24}
server_groups:
  - {name: web, policy: anti-affinity, id: 5b0e6a7c-2f4d-4c1b-8e9a-7d3c2b1a0f65}
  - {name: batch, policy: soft-affinity}
hosts:
  - name: compute1
    driver: fake
    zone: az1
    facts:
      memory_mb: 8192
      vcpus: 4
      local_gb: 100
      instances:
        - name: web1
          flavor: m1.tiny
          group: 5b0e6a7c-2f4d-4c1b-8e9a-7d3c2b1a0f65
          image: 11111111-2222-3333-4444-555555555555
          fixed_ips: {wan: 10.0.0.5}
        - {name: db1, flavor: "42", group: batch, image: 66666666-7777-8888-9999-aaaaaaaaaaaa, vm_state: stopped}
  - name: compute2
    driver: fake
    facts: {memory_mb: 4096, vcpus: 2, local_gb: 50, up: false, down_reason: connection refused}
"""

# Records each call as one JSON line: its argv, and the content of a --public-key file while it exists.
RECORDER = """\
#!{python}
import json, os, sys
argv = sys.argv[1:]
record = {{"argv": argv}}
if "--public-key" in argv:
    with open(argv[argv.index("--public-key") + 1]) as key:
        record["public_key"] = key.read()
with open(os.environ["RECORD"], "a") as out:
    out.write(json.dumps(record) + "\\n")
"""


@pytest.fixture(scope="module")
def openstack_cli():
    """parse(argv) -> (command name, its argparse Namespace), as `openstack` would parse it, no cloud needed.

    The shell's global parser takes the global options (e.g. --os-compute-api-version), its command
    manager finds the command in the compute, image and network groups, and the command class's own
    get_parser() parses the rest; argparse's refusal is a SystemExit."""
    shell = pytest.importorskip("openstackclient.shell")
    app = shell.OpenStackShell()
    for group in ("openstack.compute.v2", "openstack.image.v2", "openstack.network.v2"):
        app.command_manager.add_command_group(group)

    def parse(argv: list[str]) -> tuple[str, object]:
        _options, rest = app.parser.parse_known_args(argv)
        factory, name, sub_argv = app.command_manager.find_command(rest)
        parser = factory(app, None, cmd_name=name).get_parser(f"openstack {name}")
        return name, parser.parse_args(sub_argv)

    return parse


@pytest.fixture
def inventory(write_inventory):
    return load_inventory(str(write_inventory(INVENTORY)))


def _script(inventory, keypairs=()) -> str:
    from novactl.poller import poll
    from novactl.server_groups import definitions

    files = {image.id: str(inventory.source_dir / image.file) for image in inventory.images}
    with poll(inventory) as cluster:
        unreachable = {s.host: s.down_reason for s in cluster.states.values() if not s.up}
        if keypairs:  # objects with name, public_key and type: a name the inventory would refuse is tested too
            inventory = dataclasses.replace(inventory, keypairs=list(keypairs))
        return export_openstack.script(inventory, files, definitions(cluster).values(), cluster.instances, unreachable)


def _run(text: str, tmp_path: Path) -> list[dict]:
    """Run the script under sh with the recorder as `openstack`; the calls it made."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    recorder = bin_dir / "openstack"
    recorder.write_text(RECORDER.format(python=sys.executable))
    recorder.chmod(0o755)
    record = tmp_path / "calls.jsonl"
    record.unlink(missing_ok=True)
    script = tmp_path / "export.sh"
    script.write_text(text)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORD": str(record)}
    subprocess.run(["sh", str(script)], env=env, check=True, timeout=60, cwd=tmp_path)
    return [json.loads(line) for line in record.read_text().splitlines()]


def _uncommented(text: str) -> str:
    return "\n".join(line[2:] if line.startswith("# openstack ") else line for line in text.splitlines()) + "\n"


def test_every_call_passes_openstackclients_parsers(inventory, tmp_path, openstack_cli):
    keypair = types.SimpleNamespace(name="ops key", public_key="ssh-ed25519 AAAAC3Nz 'me'@host\n", type="ssh")
    text = _script(inventory, [keypair])
    calls = _run(_uncommented(text), tmp_path)
    parsed = [openstack_cli(call["argv"]) for call in calls]
    names = [name for name, _ in parsed]
    assert names == [
        "flavor create",
        "flavor create",
        "image create",
        "image create",
        "keypair create",
        "server group create",
        "server group create",
        "network create",
        "network create",
        "subnet create",
        "server create",
        "server create",
    ]
    by_name = {(name, ns.name if hasattr(ns, "name") else ns.server_name): ns for name, ns in parsed}

    special = by_name[("flavor create", "m1.special")]
    assert (special.id, special.ram, special.disk, special.ephemeral, special.swap, special.vcpus) == ("42", 1024, 10, 5, 512, 2)
    assert (special.rxtx_factor, special.public) == (2.0, False)
    assert special.properties == {"hw:cpu_policy": "dedicated", "quota:cpu_shares": "2048", "odd": "$(touch /tmp/pwned) 'x' \"y\""}
    assert not Path("/tmp/pwned").exists()

    cirros = by_name[("image create", "cirros")]
    assert (cirros.id, cirros.disk_format, cirros.container_format, cirros.min_ram) == (
        "11111111-2222-3333-4444-555555555555",
        "qcow2",
        "bare",
        64,
    )
    assert cirros.filename == str(tmp_path / "images" / "cirros disk.qcow2")
    assert cirros.properties == {"architecture": "x86_64", "hw_qemu_guest_agent": "true", "os_distro": "a b;c"}

    key_call = next(call for call in calls if call["argv"][:2] == ["keypair", "create"])
    assert key_call["public_key"] == "ssh-ed25519 AAAAC3Nz 'me'@host\n"
    assert (by_name[("keypair create", "ops key")].type) == "ssh"

    assert by_name[("server group create", "web")].policy == "anti-affinity"
    soft = next(call for call in calls if call["argv"][-1] == "batch")
    assert soft["argv"][:2] == ["--os-compute-api-version", "2.15"]  # soft policies need microversion 2.15

    web1 = by_name[("server create", "web1")]
    assert (web1.flavor, web1.image, web1.availability_zone, web1.server_group) == (
        "1",
        "11111111-2222-3333-4444-555555555555",
        "az1",
        "web",  # the group named by its id on the host, by name for the new cloud
    )
    assert [(nic["net-id"], nic["v4-fixed-ip"]) for nic in web1.nics] == [("wan", "10.0.0.5")]  # the fixed IP kept
    db1 = by_name[("server create", "db1")]
    assert (db1.flavor, db1.server_group) == ("42", "batch")


def test_parsers_refuse_what_openstack_refuses(openstack_cli):
    """The check can fail: an option openstackclient does not have is refused."""
    with pytest.raises(SystemExit):
        openstack_cli(["flavor", "create", "--ram", "1", "--memory", "2", "x"])


def test_instances_are_commented_and_down_hosts_named(inventory, tmp_path):
    text = _script(inventory)
    server_lines = [line for line in text.splitlines() if "server create" in line]
    assert server_lines and all(line.startswith("# openstack server create ") for line in server_lines)
    assert "# compute2 did not answer (connection refused): its instances are not listed" in text
    assert "# db1 (" in text and "on compute1 in az1, active" in text
    assert [call["argv"][:2] for call in _run(text, tmp_path)].count(["server", "create"]) == 0
    assert "# lan has no cidr in the inventory" in text


def test_subnet_fields(openstack_cli):
    network = types.SimpleNamespace(
        name="lan",
        bridge="br-lan",
        physical_interface=None,
        mtu=1450,
        cidr="10.0.0.0/24",
        gateway_ip="10.0.0.1",
        allocation_pools=[{"start": "10.0.0.10", "end": "10.0.0.99"}],
        dns_nameservers=["9.9.9.9", "1.1.1.1"],
    )
    lines = [line for line in export_openstack.network_lines(network) if not line.startswith("#")]
    (_, net), (_, subnet) = (openstack_cli(shlex.split(line)[1:]) for line in lines)
    assert (net.name, net.mtu) == ("lan", "1450")
    assert (subnet.network, subnet.subnet_range, subnet.gateway, subnet.name) == ("lan", "10.0.0.0/24", "10.0.0.1", "lan-subnet")
    assert subnet.allocation_pools == [{"start": "10.0.0.10", "end": "10.0.0.99"}]
    assert subnet.dns_nameservers == ["9.9.9.9", "1.1.1.1"]


def test_command_prints_the_script_and_fails_on_a_down_host(inventory):
    result = run("-i", inventory.path, "export", "openstack")
    assert result.exit_code == 1
    assert result.stdout.startswith("#!/bin/sh\n")
    assert "openstack flavor create --id 1 " in result.stdout
    assert result.stderr == "WARNING: compute2 did not answer (connection refused): its instances are missing from the script\n"
