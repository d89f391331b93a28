"""Fixed IPs through the core on fake hosts: allocation (in memory on the fake allocating host), the
IPAM host down, an exhausted pool, what `show`/`list` print, and the config drive's network_data."""

from __future__ import annotations

import json
import re

import pytest

from novactl import configdrive, fixed_ips, pipeline
from novactl.errors import EXIT_FAILED, HostError, InventoryError
from novactl.hoststate import InstanceInfo
from novactl.inventory import load_inventory
from novactl.ipam import NoMoreAddresses
from novactl.models import Flavor
from novactl.poller import poll
from tests.unit.runner import invoke

CLUSTER = """\
hosts:
  - name: alloc
    driver: fake
    facts:
      memory_mb: 4096
      vcpus: 4
      local_gb: 40
      up: {up}
      instances:
        - {{name: old, flavor: m1.tiny, uuid: 0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e, fixed_ips: {{lan: 10.0.0.10}}}}
  - name: other
    driver: fake
    facts: {{memory_mb: 4096, vcpus: 4, local_gb: 40, instances: [{{name: dhcp, flavor: m1.tiny}}]}}
networks:
  - {{name: lan, bridge: br-lan, cidr: 10.0.0.0/24, gateway_ip: 10.0.0.1, dns_nameservers: [10.0.0.53],
     allocation_pools: [{{start: 10.0.0.10, end: 10.0.0.12}}], mtu: 1400, ipam_host: alloc}}
"""
TINY = Flavor(id="1", name="m1.tiny", ram=512, disk=1, vcpus=1)


@pytest.fixture
def cluster_file(write_inventory):
    return lambda up="true": write_inventory(CLUSTER.format(up=up))


def instances(n: int) -> list[InstanceInfo]:
    return [InstanceInfo(uuid=f"00000000-0000-4000-8000-00000000000{i}", name=f"vm{i}", host="other", flavor=TINY) for i in range(n)]


def test_the_lowest_free_addresses_skip_those_instances_already_hold(cluster_file) -> None:
    inventory = load_inventory(str(cluster_file()))
    with poll(inventory) as cluster:
        new = instances(2)
        fixed_ips.allocate(cluster, inventory.network("lan"), new)
        assert [i.fixed_ips for i in new] == [{"lan": "10.0.0.11"}, {"lan": "10.0.0.12"}]
        with pytest.raises(NoMoreAddresses, match=r"No more IP addresses available on network lan\.$") as caught:
            fixed_ips.allocate(cluster, inventory.network("lan"), instances(1))
        assert caught.value.exit_code == EXIT_FAILED
        fixed_ips.release(cluster, new[0])
        again = instances(1)
        fixed_ips.allocate(cluster, inventory.network("lan"), again)
        assert again[0].fixed_ips == {"lan": "10.0.0.11"}


def test_a_network_without_a_cidr_allocates_nothing(cluster_file) -> None:
    inventory = load_inventory(str(cluster_file()))
    with poll(inventory) as cluster:
        new = instances(1)
        fixed_ips.allocate(cluster, None, new)
        assert new[0].fixed_ips == {}


def test_the_ipam_host_down_fails_the_boot_before_anything_is_made(cluster_file) -> None:
    inventory = load_inventory(str(cluster_file(up="false")))
    with poll(inventory) as cluster, pytest.raises(HostError) as caught:
        fixed_ips.allocate(cluster, inventory.network("lan"), instances(1))
    assert caught.value.exit_code == EXIT_FAILED
    assert "alloc: is down (fake host marked down) and allocates the fixed IPs of network lan" in str(caught.value)


def test_show_and_list_print_the_fixed_ip_as_nova_does(cluster_file) -> None:
    path = cluster_file()
    assert re.search(r"\| networks +\| lan=10\.0\.0\.10 +\|", invoke(path, "show", "old"))
    assert "lan=10.0.0.10" in invoke(path, "list")
    [row] = [r for r in json.loads(invoke(path, "list", "-f", "json")) if r["Name"] == "old"]
    assert row["Networks"] == {"lan": ["10.0.0.10"]}


def test_the_config_drive_describes_the_fixed_ip_as_nova_does(cluster_file) -> None:
    inventory = load_inventory(str(cluster_file()))
    [vm] = instances(1)
    vm.networks, vm.fixed_ips = {"lan": ["fa:16:3e:00:00:01"]}, {"lan": "10.0.0.11"}
    port = pipeline._port(inventory, vm, "lan", "fa:16:3e:00:00:01")
    data = configdrive.network_data(
        configdrive.InstanceMetadata(uuid=vm.uuid, name="vm", hostname="vm", availability_zone="nova", ports=(port,))
    )
    [network] = data["networks"]
    assert network["type"] == "ipv4" and network["ip_address"] == "10.0.0.11" and network["netmask"] == "255.255.255.0"
    assert network["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}]
    assert data["services"] == [{"type": "dns", "address": "10.0.0.53"}]
    assert data["links"][0]["mtu"] == 1400 and data["links"][0]["ethernet_mac_address"] == "fa:16:3e:00:00:01"


@pytest.mark.parametrize(
    ("fixed", "words"),
    [
        ("{nope: 10.0.0.10}", "fixed_ips: 'nope' is not a network with a cidr"),
        ("{lan: 10.9.0.1}", "fixed_ips: '10.9.0.1' is not an address of lan"),
    ],
)
def test_a_fake_instances_fixed_ip_must_lie_in_its_networks_cidr(write_inventory, fixed: str, words: str) -> None:
    text = CLUSTER.format(up="true").replace("fixed_ips: {lan: 10.0.0.10}", f"fixed_ips: {fixed}")
    with pytest.raises(InventoryError, match=r"inventory.yaml:\d+:\d+: " + re.escape(words)):
        load_inventory(str(write_inventory(text)))
