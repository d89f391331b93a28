"""novactl.inventory: loading, defaults, lookup order, and FILE:LINE:COLUMN errors for every kind of mistake."""

from __future__ import annotations

import socket
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from novactl.errors import InventoryError
from novactl.inventory import CLASSIC_FLAVORS, builtin_inventory, find_inventory, load_inventory, parse_inventory
from novactl.inventory_schema import SCHEMA
from novactl.models import Flavor, HostConfig, Image, Inventory, Network, SchedulerConfig, ServerGroupDef
from novactl.scheduler.filters import FILTERS
from novactl.scheduler.weights import WEIGHERS

REPO = Path(__file__).resolve().parents[2]
HOST_KEYS = ", ".join(sorted(SCHEMA["properties"]["hosts"]["items"]["properties"]))
TOP_KEYS = "defaults, flavors, hosts, images, keypairs, networks, scheduler, server_groups"
FLAVOR_KEYS = "disk, ephemeral, extra_specs, id, is_public, name, ram, rxtx_factor, swap, vcpus"
ONE_FAKE_HOST = "hosts:\n  - {name: a, driver: fake}\n"


def parse(text: str, path: str = "inv.yaml") -> Inventory:
    return parse_inventory(textwrap.dedent(text), path)


def error(text: str, path: str = "inv.yaml") -> str:
    """The InventoryError message parsing `text` raises (fails the test if it parses)."""
    with pytest.raises(InventoryError) as raised:
        parse(text, path)
    assert raised.value.exit_code == 2
    return str(raised.value)


# -- a valid inventory -----------------------------------------------------------------------------


def test_defaults_apply_to_every_host_and_each_host_overrides_them(write_inventory, tmp_path):
    path = write_inventory(
        """\
        defaults:
          ssh_user: ops
          ssh_port: 2222
          ssh_key: keys/id_ed25519
          known_hosts: known_hosts
          connect_timeout: 2.5
          instances_path: /srv/nova/instances
          bridge: br0
        hosts:
          - name: kvm1
            address: 10.0.0.1
          - name: kvm2
            address: kvm2.example.org
            zone: az2
            ssh_user: admin
            ssh_port: 22
            ssh_key: /etc/novactl/key
            bridge: br1
            ram_allocation_ratio: 1.0
          - name: kvm3
        """,
        name="conf/inventory.yaml",
    )
    inv = load_inventory(str(path))
    conf = tmp_path / "conf"
    assert inv.path == str(path)
    assert inv.source_dir == conf
    common = {"ssh_port": 2222, "connect_timeout": 2.5, "instances_path": "/srv/nova/instances", "known_hosts": str(conf / "known_hosts")}
    assert inv.hosts == [
        HostConfig(
            name="kvm1", address="10.0.0.1", transport="ssh", ssh_user="ops", ssh_key=str(conf / "keys/id_ed25519"), bridge="br0", **common
        ),
        HostConfig(
            name="kvm2",
            address="kvm2.example.org",
            zone="az2",
            transport="ssh",
            ssh_user="admin",
            ssh_key="/etc/novactl/key",
            bridge="br1",
            ram_allocation_ratio=1.0,
            **{**common, "ssh_port": 22},
        ),
        # No address: this machine, no SSH.
        HostConfig(
            name="kvm3",
            address="localhost",
            transport="local",
            ssh_user="ops",
            ssh_key=str(conf / "keys/id_ed25519"),
            bridge="br0",
            **common,
        ),
    ]
    assert inv.hosts[0].base_path == "/srv/nova/instances/_base"
    assert inv.scheduler == SchedulerConfig()
    assert (inv.images, inv.networks, inv.server_groups) == ([], [], [])
    assert [f.name for f in inv.flavors] == [f["name"] for f in CLASSIC_FLAVORS]  # no flavors: key keeps the built-in ones


def test_a_flavors_list_replaces_the_built_in_flavors(write_inventory):
    inv = load_inventory(str(write_inventory("hosts:\n  - {name: a, driver: fake}\nflavors: []\n")))
    assert inv.flavors == []
    inv = load_inventory(str(write_inventory("hosts:\n  - {name: a, driver: fake}\nflavors:\n  - {name: x1, ram: 1, disk: 1, vcpus: 1}\n")))
    assert [f.name for f in inv.flavors] == ["x1"]


def test_ssh_key_with_tilde_expands_to_home_not_the_inventory_dir(write_inventory, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write_inventory("hosts:\n  - {name: kvm1, address: 10.0.0.1, ssh_key: ~/.ssh/novactl, known_hosts: /etc/ssh/known}\n")
    (host,) = load_inventory(str(path)).hosts
    assert host.ssh_key == str(tmp_path / "home/.ssh/novactl")
    assert host.known_hosts == "/etc/ssh/known"


def test_relative_inventory_path_resolves_against_the_current_directory(write_inventory, tmp_path, monkeypatch):
    write_inventory("hosts:\n  - {name: kvm1, address: 10.0.0.1, ssh_key: id_rsa}\n", name="site/inventory.yaml")
    monkeypatch.chdir(tmp_path)
    inv = load_inventory("site/inventory.yaml")
    assert inv.path == "site/inventory.yaml"
    assert inv.hosts[0].ssh_key == str(tmp_path / "site/id_rsa")


def test_every_section_is_built_into_its_model():
    inv = parse(
        """\
        scheduler:
          filters: [RamFilter, ComputeFilter]
          weighers: [RAMWeigher]
          max_attempts: 5
          ram_allocation_ratio: 1.0
          reserved_host_memory_mb: 1024
          pci_alias:
            gpu: {vendor_id: "10de", product_id: "1db4"}
        hosts:
          - {name: kvm1, address: 10.0.0.1, transport: local}
          - {name: fake1, driver: fake, facts: {memory_mb: 1024, instances: [{name: v1, flavor: "7"}]}}
        flavors:
          - {name: small, ram: 512, disk: 1, vcpus: 1}
          - {id: 7, name: big, ram: 4096, disk: 40, vcpus: 4, swap: 512, extra_specs: {"hw:numa_nodes": 1, "trust:ok": true}}
        images:
          - {id: 11111111-2222-3333-4444-555555555555, name: cirros, file: cirros.img, checksum: sha256:%s}
        networks:
          - {name: lan, bridge: br-lan, physical_interface: eth1}
        server_groups:
          - {name: web, policy: anti-affinity}
        """
        % ("0" * 64)
    )
    assert inv.scheduler == SchedulerConfig(
        filters=["RamFilter", "ComputeFilter"],
        weighers=["RAMWeigher"],
        max_attempts=5,
        ram_allocation_ratio=1.0,
        reserved_host_memory_mb=1024,
        pci_alias={"gpu": {"vendor_id": "10de", "product_id": "1db4"}},
    )
    # An explicit transport wins over the address; a fake host keeps its facts verbatim.
    assert (inv.hosts[0].transport, inv.hosts[0].address) == ("local", "10.0.0.1")
    assert inv.hosts[1].driver == "fake"
    assert inv.hosts[1].facts == {"memory_mb": 1024, "instances": [{"name": "v1", "flavor": "7"}]}
    assert inv.flavors == [
        Flavor(id="small", name="small", ram=512, disk=1, vcpus=1),  # id defaults to the name
        Flavor(id="7", name="big", ram=4096, disk=40, vcpus=4, swap=512, extra_specs={"hw:numa_nodes": "1", "trust:ok": "True"}),
    ]
    assert inv.flavor("7") is inv.flavors[1]
    assert inv.flavor("big") is inv.flavors[1]
    assert inv.images == [Image(id="11111111-2222-3333-4444-555555555555", name="cirros", file="cirros.img", checksum="sha256:" + "0" * 64)]
    assert inv.networks == [Network(name="lan", bridge="br-lan", physical_interface="eth1")]
    assert inv.server_groups == [ServerGroupDef(name="web", policy="anti-affinity")]


def test_yaml_anchors_and_merge_keys():
    inv = parse(
        """\
        hosts:
          - {name: f2, driver: fake, facts: &facts {memory_mb: 2048}}
          - {name: f3, driver: fake, facts: *facts}
          - {<<: {driver: fake, zone: az1}, name: f1}
        """
    )
    assert [(h.name, h.driver, h.zone, h.facts) for h in inv.hosts] == [
        ("f2", "fake", "nova", {"memory_mb": 2048}),
        ("f3", "fake", "nova", {"memory_mb": 2048}),
        ("f1", "fake", "az1", {}),
    ]


def test_yaml_merge_key_then_override_as_in_safe_load():
    inv = parse(
        """\
        hosts:
          - &base {name: kvm1, address: 10.0.0.1, ssh_port: 2200}
          - {<<: *base, name: kvm2}
        """
    )
    assert [(h.name, h.address, h.ssh_port) for h in inv.hosts] == [("kvm1", "10.0.0.1", 2200), ("kvm2", "10.0.0.1", 2200)]


def test_yaml_merge_of_several_mappings_first_wins_and_own_keys_win_over_all():
    inv = parse(
        """\
        defaults: {ssh_port: 2200}
        hosts:
          - &a {name: a, driver: fake, zone: az1, ssh_port: 1}
          - &b {name: b, driver: fake, zone: az2, ssh_user: ops}
          - {<<: [*a, *b], name: c, ssh_port: 3}
        """
    )
    c = inv.hosts[2]
    assert (c.name, c.zone, c.ssh_port, c.ssh_user) == ("c", "az1", 3, "ops")


def test_yaml_own_key_twice_after_a_merge_is_still_a_duplicate():
    text = """\
        hosts:
          - &base {name: kvm1, address: 10.0.0.1}
          - {<<: *base, name: kvm2, name: kvm3}
        """
    assert error(text) == "inv.yaml:3:29: duplicate key 'name'"


# -- the built-in default and the lookup order -------------------------------------------------------


def test_builtin_default_is_this_machine_over_local_transport_with_nova_classic_flavors(monkeypatch, tmp_path):
    monkeypatch.setattr(socket, "gethostname", lambda: "node7.lab.example.org")
    monkeypatch.chdir(tmp_path)
    inv = load_inventory(None)
    assert inv.path == "<built-in default>"
    assert inv.hosts == [HostConfig(name="node7", address="localhost", transport="local", driver="libvirt")]
    assert inv.hosts[0].libvirt_uri == "qemu:///system"
    assert [(f.id, f.name, f.ram, f.disk, f.vcpus) for f in inv.flavors] == [
        ("1", "m1.tiny", 512, 1, 1),
        ("2", "m1.small", 2048, 20, 1),
        ("3", "m1.medium", 4096, 40, 2),
        ("4", "m1.large", 8192, 80, 4),
        ("5", "m1.xlarge", 16384, 160, 8),
    ]
    assert inv.scheduler == SchedulerConfig()
    assert inv.source_dir == tmp_path
    assert builtin_inventory() == inv
    assert len(CLASSIC_FLAVORS) == 5


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A cwd and a HOME of their own, no $NOVACTL_INVENTORY: nothing of the real machine is found."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    (home / ".config/novactl").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NOVACTL_INVENTORY", raising=False)
    return cwd, home / ".config/novactl/inventory.yaml"


def test_lookup_finds_nothing_then_uses_the_builtin_default(places):
    assert find_inventory(None) is None


def test_lookup_user_config_when_nothing_else(places):
    _, user = places
    user.write_text(ONE_FAKE_HOST)
    assert find_inventory(None) == str(user)


def test_lookup_cwd_inventory_beats_user_config(places):
    cwd, user = places
    user.write_text(ONE_FAKE_HOST)
    (cwd / "inventory.yaml").write_text(ONE_FAKE_HOST)
    assert find_inventory(None) == "inventory.yaml"
    assert Path(find_inventory(None)).resolve() == cwd / "inventory.yaml"


def test_lookup_a_directory_named_inventory_yaml_is_skipped(places):
    cwd, user = places
    (cwd / "inventory.yaml").mkdir()
    user.write_text(ONE_FAKE_HOST)
    assert find_inventory(None) == str(user)


def test_lookup_environment_beats_cwd_and_user_config(places, monkeypatch):
    cwd, user = places
    user.write_text(ONE_FAKE_HOST)
    (cwd / "inventory.yaml").write_text(ONE_FAKE_HOST)
    monkeypatch.setenv("NOVACTL_INVENTORY", "/srv/site.yaml")
    assert find_inventory(None) == "/srv/site.yaml"


def test_lookup_empty_environment_variable_is_ignored(places, monkeypatch):
    cwd, _ = places
    (cwd / "inventory.yaml").write_text(ONE_FAKE_HOST)
    monkeypatch.setenv("NOVACTL_INVENTORY", "")
    assert find_inventory(None) == "inventory.yaml"


def test_lookup_explicit_option_beats_everything(places, monkeypatch):
    cwd, user = places
    user.write_text(ONE_FAKE_HOST)
    (cwd / "inventory.yaml").write_text(ONE_FAKE_HOST)
    monkeypatch.setenv("NOVACTL_INVENTORY", "/srv/site.yaml")
    assert find_inventory("mine.yaml") == "mine.yaml"


# -- errors: FILE:LINE:COLUMN: what is wrong ---------------------------------------------------------


def test_unknown_top_level_key():
    assert error(ONE_FAKE_HOST + "colour: red\n") == f"inv.yaml:3:1: unknown key 'colour' (allowed here: {TOP_KEYS})"


def test_unknown_key_in_a_host_points_at_the_key():
    text = """\
        hosts:
          - name: a
            driver: fake
            colour: red
        """
    assert error(text) == f"inv.yaml:4:5: unknown key 'hosts[0].colour' (allowed here: {HOST_KEYS})"


def test_unknown_key_in_a_flavor():
    text = (
        ONE_FAKE_HOST
        + """\
flavors:
  - {name: ok, ram: 1, disk: 1, vcpus: 1}
  - name: small
    ram: 512
    disk: 1
    vcpus: 1
    cpus: 2
"""
    )
    assert error(text) == f"inv.yaml:9:5: unknown key 'flavors[1].cpus' (allowed here: {FLAVOR_KEYS})"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("defaults:\n  user: x\n" + ONE_FAKE_HOST, "inv.yaml:2:3: unknown key 'defaults.user' (allowed here: "),
        ("scheduler:\n  filter: []\n" + ONE_FAKE_HOST, "inv.yaml:2:3: unknown key 'scheduler.filter' (allowed here: "),
        ("hosts:\n  - {name: a, driver: fake, facts: {ram: 1}}\n", "inv.yaml:2:37: unknown key 'hosts[0].facts.ram' (allowed here: "),
    ],
)
def test_unknown_key_in_other_sections(text, expected):
    assert error(text).startswith(expected)


def test_wrong_type_points_at_the_value():
    text = """\
        hosts:
          - name: a
            driver: fake
            ssh_port: "22"
        """
    assert error(text) == "inv.yaml:4:15: hosts[0].ssh_port: expected integer, got str '22'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ONE_FAKE_HOST + "flavors: 3\n", "inv.yaml:3:10: flavors: expected array, got int 3"),
        (
            ONE_FAKE_HOST + "scheduler:\n  ram_allocation_ratio: high\n",
            "inv.yaml:4:25: scheduler.ram_allocation_ratio: expected number, got str 'high'",
        ),
        ("hosts:\n  - {name: a, driver: fake, facts: {up: 'no'}}\n", "inv.yaml:2:41: hosts[0].facts.up: expected boolean, got str 'no'"),
        ("hosts:\n  - {name: a, driver: docker}\n", "inv.yaml:2:23: hosts[0].driver: 'docker' is not one of ['libvirt', 'fake']"),
        ("hosts:\n  - {driver: fake}\n", "inv.yaml:2:5: hosts[0]: 'name' is a required property"),
        (
            ONE_FAKE_HOST + "flavors:\n  - {name: x, ram: 0, disk: 1, vcpus: 1}\n",
            "inv.yaml:4:20: flavors[0].ram: 0 is less than the minimum of 1",
        ),
    ],
)
def test_other_schema_violations(text, expected):
    assert error(text) == expected


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "1.0e+999"])
@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("scheduler:\n  ram_allocation_ratio: {}\n", "2:25: scheduler.ram_allocation_ratio"),
        ("scheduler:\n  cpu_weight_multiplier: {}\n", "2:26: scheduler.cpu_weight_multiplier"),
        ("defaults:\n  connect_timeout: {}\n", "2:20: defaults.connect_timeout"),
        ("hosts:\n  - {{name: a, driver: fake, facts: {{cpu_info: {{clock: {}}}}}}}\n", "2:55: hosts[0].facts.cpu_info.clock"),
    ],
)
def test_non_finite_numbers_are_rejected_anywhere(text, where, value):
    assert error(text.format(value) + ONE_FAKE_HOST) == f"inv.yaml:{where}: {value} is not a finite number"


def test_integers_are_numbers():
    inv = parse(f"{ONE_FAKE_HOST}scheduler:\n  ram_weight_multiplier: {10**6}\n")
    assert inv.scheduler.ram_weight_multiplier == 10**6


@pytest.mark.parametrize("name", ["a;rm -rf /", "$(x)", "`id`", "a b", "-rf", "../etc", "a" * 64])
def test_hostile_host_name(name):
    text = f"hosts:\n  - name: {yaml.safe_dump(name).splitlines()[0]}\n    driver: fake\n"
    assert error(text) == f"inv.yaml:2:11: hosts[0].name: {name!r} is not a valid host name"


@pytest.mark.parametrize(
    ("section", "item", "message"),
    [
        ("flavors", "{name: 'x;y', ram: 1, disk: 1, vcpus: 1}", "4:12: flavors[0].name: 'x;y' is not a safe name (letters, digits, "),
        ("networks", "{name: lan, bridge: 'br0; reboot'}", "4:25: networks[0].bridge: 'br0; reboot' is not a valid interface name"),
        ("server_groups", "{name: '$(x)', policy: affinity}", "4:12: server_groups[0].name: '$(x)' is not a safe name (letters, "),
        ("images", "{id: 'x', name: c, file: c.img}", "4:10: images[0].id: 'x' is not a UUID"),
    ],
)
def test_hostile_names_in_other_sections(section, item, message):
    assert error(f"{ONE_FAKE_HOST}{section}:\n  - {item}\n").startswith(f"inv.yaml:{message}")


@pytest.mark.parametrize("value", ["relative/dir", "/srv/$(reboot)", "/srv/a b", "/srv;rm", "~/instances"])
@pytest.mark.parametrize("key", ["instances_path", "state_path"])
def test_hostile_host_paths(key, value):
    text = f"defaults:\n  {key}: {yaml.safe_dump(value).splitlines()[0]}\n{ONE_FAKE_HOST}"
    col = 5 + len(key)
    assert error(text) == f"inv.yaml:2:{col}: defaults.{key}: {value!r} is not an absolute path without '..' or special characters"


@pytest.mark.parametrize("value", ["/var/../etc", "/srv/nova/..", "/./etc", "/srv/."])
def test_dot_dot_in_host_paths_is_rejected(value):
    text = f"hosts:\n  - name: a\n    driver: fake\n    instances_path: {value}\n"
    assert error(text) == f"inv.yaml:4:21: hosts[0].instances_path: {value!r} is not an absolute path without '..' or special characters"


def test_long_host_path_with_a_bad_character_is_rejected_at_once():
    # The former pattern, "(x+/?)*", backtracked exponentially: 25 characters took seconds, 40 hours.
    value = "/srv/" + "a" * 40 + ";"
    assert error(f"defaults:\n  state_path: {value}\n{ONE_FAKE_HOST}").startswith("inv.yaml:2:15: defaults.state_path: ")


@pytest.mark.parametrize(
    ("item", "subject", "words"),
    [
        ('{name: "a\\n"}', "name: 'a\\n'", "a valid host name"),
        ('{name: a, zone: "az1\\n"}', "zone: 'az1\\n'", "a safe name (letters, digits, '.', '_', '-'; at most 63 characters)"),
        ('{name: a, instances_path: "/srv\\n"}', "instances_path: '/srv\\n'", "an absolute path without '..' or special characters"),
        ('{name: a, bridge: "br0\\n"}', "bridge: 'br0\\n'", "a valid interface name (at most 15 characters)"),
    ],
)
def test_trailing_newline_does_not_pass_a_pattern(item, subject, words):
    # Python's `$` matches before a final newline, hence the patterns' \Z.
    assert error(f"hosts:\n  - {item}\n").endswith(f": hosts[0].{subject} is not {words}")


def test_duplicate_host_name():
    text = """\
        hosts:
          - name: a
            driver: fake
          - name: b
            driver: fake
          - name: a
            driver: fake
        """
    assert error(text) == "inv.yaml:6:11: duplicate host name 'a' (first at line 2)"


def test_duplicate_flavor_name():
    text = ONE_FAKE_HOST + "flavors:\n  - {name: x, ram: 1, disk: 1, vcpus: 1}\n  - {name: x, ram: 2, disk: 1, vcpus: 1}\n"
    assert error(text) == "inv.yaml:5:12: duplicate flavor name 'x' (first at line 4)"


def test_duplicate_flavor_id_integer_and_string():
    text = ONE_FAKE_HOST + "flavors:\n  - {id: 1, name: x, ram: 1, disk: 1, vcpus: 1}\n  - {id: '1', name: y, ram: 1, disk: 1, vcpus: 1}\n"
    assert error(text) == "inv.yaml:5:10: duplicate flavor id '1' (first at line 4)"


def test_duplicate_flavor_id_implicit_from_name():
    text = ONE_FAKE_HOST + "flavors:\n  - {name: a, ram: 1, disk: 1, vcpus: 1}\n  - {id: a, name: b, ram: 1, disk: 1, vcpus: 1}\n"
    assert error(text) == "inv.yaml:5:10: duplicate flavor id 'a' (first at line 4)"


def test_duplicate_flavor_id_explicit_then_implicit():
    text = ONE_FAKE_HOST + "flavors:\n  - {id: b, name: a, ram: 1, disk: 1, vcpus: 1}\n  - {name: b, ram: 1, disk: 1, vcpus: 1}\n"
    assert error(text) == "inv.yaml:5:5: duplicate flavor id 'b' (first at line 4)"


def test_duplicate_image_id():
    text = (
        ONE_FAKE_HOST
        + """\
images:
  - id: 11111111-2222-3333-4444-555555555555
    name: a
    file: a.img
  - id: 11111111-2222-3333-4444-555555555555
    name: b
    file: b.img
"""
    )
    assert error(text) == "inv.yaml:7:9: duplicate image id '11111111-2222-3333-4444-555555555555' (first at line 4)"


@pytest.mark.parametrize(
    ("section", "item", "message"),
    [
        ("networks", "{name: lan, bridge: br0}", "inv.yaml:5:12: duplicate network name 'lan' (first at line 4)"),
        ("server_groups", "{name: lan, policy: affinity}", "inv.yaml:5:12: duplicate server_group name 'lan' (first at line 4)"),
    ],
)
def test_duplicate_network_and_server_group_names(section, item, message):
    assert error(f"{ONE_FAKE_HOST}{section}:\n  - {item}\n  - {item}\n") == message


def test_duplicate_yaml_key():
    text = """\
        hosts:
          - name: a
            driver: fake
            name: b
        """
    assert error(text) == "inv.yaml:4:5: duplicate key 'name'"


def test_duplicate_top_level_yaml_key():
    assert error(ONE_FAKE_HOST + "hosts: []\n") == "inv.yaml:3:1: duplicate key 'hosts'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "hosts: [{name: a, driver: fake}\n",
            "inv.yaml:2:1: invalid YAML: a '[' list that is never closed with ']' (YAML: expected ',' or ']', but got '<stream end>')",
        ),
        (
            "hosts:\n  - name: a\n   driver: fake\n",
            "inv.yaml:3:4: invalid YAML: this line's indentation does not match the lines above it "
            "(YAML: expected <block end>, but found '<block mapping start>')",
        ),
        (
            "hosts:\n  - name: a\n    zone: x: y\n",
            "inv.yaml:3:12: invalid YAML: a 'key: value' where none can start: indent this line like its neighbours, "
            "or quote a value holding ': ' (YAML: mapping values are not allowed here)",
        ),
        (
            "hosts:\n\t- name: a\n",
            "inv.yaml:2:1: invalid YAML: a character that cannot start a value here (a tab? YAML indents with spaces only)",
        ),
        ("hosts: 'unterminated\n", "inv.yaml:2:1: invalid YAML: a quoted string that is never closed"),
        ("hosts: !!python/object:os.system x\n", "inv.yaml:1:8: invalid YAML: a tag (!!...) that the safe loader refuses"),
        (ONE_FAKE_HOST + "---\nhosts: []\n", "inv.yaml:3:1: invalid YAML: a second document ('---'): an inventory is one document"),
        ("hosts: *nowhere\n", "inv.yaml:1:8: invalid YAML: found undefined alias 'nowhere'"),
        ("hosts: [{<<: [{a: 1}, 2]}]\n", "inv.yaml:1:23: invalid YAML: expected a mapping or list of mappings for merging"),
    ],
)
def test_invalid_yaml_syntax(text, expected):
    assert error(text).startswith(expected)


def test_unknown_scheduler_filter():
    known = ", ".join(FILTERS)
    text = ONE_FAKE_HOST + "scheduler:\n  filters: [RamFilter, RAMFilter]\n"
    assert error(text) == f"inv.yaml:4:24: unknown filter 'RAMFilter' (known: {known})"


def test_unknown_scheduler_weigher():
    known = ", ".join(WEIGHERS)
    text = ONE_FAKE_HOST + "scheduler:\n  weighers:\n    - RAMWeigher\n    - RamWeigher\n"
    assert error(text) == f"inv.yaml:6:7: unknown weigher 'RamWeigher' (known: {known})"


def test_every_registered_filter_and_weigher_is_accepted():
    text = f"{ONE_FAKE_HOST}scheduler:\n  filters: [{', '.join(FILTERS)}]\n  weighers: [{', '.join(WEIGHERS)}]\n"
    inv = parse(text)
    assert (inv.scheduler.filters, inv.scheduler.weighers) == (list(FILTERS), list(WEIGHERS))


def test_fake_instance_with_unknown_flavor():
    text = """\
        flavors:
          - {name: small, ram: 512, disk: 1, vcpus: 1}
        hosts:
          - name: a
            driver: fake
            facts:
              instances:
                - {name: ok, flavor: small}
                - {name: bad, flavor: m1.huge}
        """
    assert error(text) == "inv.yaml:9:31: unknown flavor 'm1.huge'"


def test_libvirt_host_over_ssh_needs_an_address():
    text = """\
        hosts:
          - name: kvm0
            transport: local
          - name: kvm1
            transport: ssh
        """
    assert error(text) == "inv.yaml:4:5: host 'kvm1' needs an address"


def test_ssh_transport_from_defaults_also_needs_an_address():
    assert error("defaults:\n  ssh_port: 22\nhosts:\n  - name: kvm1\n    transport: ssh\n") == "inv.yaml:4:5: host 'kvm1' needs an address"


def test_fake_host_needs_no_address():
    (host,) = parse("hosts:\n  - {name: f, driver: fake, transport: ssh}\n").hosts
    assert (host.transport, host.address) == ("ssh", "")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "hosts: []\n", "defaults: {ssh_port: 22}\n"])
def test_empty_inventory(text):
    assert error(text) == "inv.yaml:1:1: the inventory defines no hosts"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "inv.yaml:1:1: inventory: expected a mapping (hosts:, flavors:, ...), got list"),
        ("just words\n", "inv.yaml:1:1: inventory: expected a mapping (hosts:, flavors:, ...), got str"),
        ("42\n", "inv.yaml:1:1: inventory: expected a mapping (hosts:, flavors:, ...), got int"),
    ],
)
def test_document_that_is_not_a_mapping(text, expected):
    assert error(text) == expected


def test_unreadable_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(path))
    assert str(raised.value) == f"{path}: cannot read inventory: No such file or directory"


def test_unreadable_directory(tmp_path):
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(tmp_path))
    assert str(raised.value) == f"{tmp_path}: cannot read inventory: Is a directory"


def test_unreadable_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("hosts:\n  - {name: caf\xe9, driver: fake}\n".encode("latin-1"))
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(path))
    assert str(raised.value) == f"{path}: not UTF-8 text (byte 0xe9 on line 2)"


def test_several_errors_one_line_each_in_file_order():
    text = """\
        hosts:
          - name: a
            driver: fake
            zone: "b c"
            ssh_port: x
        flavors: 3
        """
    assert error(text).splitlines() == [
        "inv.yaml:4:11: hosts[0].zone: 'b c' is not a safe name (letters, digits, '.', '_', '-'; at most 63 characters)",
        "inv.yaml:5:15: hosts[0].ssh_port: expected integer, got str 'x'",
        "inv.yaml:6:10: flavors: expected array, got int 3",
    ]


def test_at_most_ten_errors_are_reported():
    hosts = "".join(f"  - {{name: h{i}, driver: fake, ssh_port: x}}\n" for i in range(15))
    lines = error("hosts:\n" + hosts).splitlines()
    assert len(lines) == 10
    assert lines[0] == "inv.yaml:2:40: hosts[0].ssh_port: expected integer, got str 'x'"
    assert lines[9] == "inv.yaml:11:40: hosts[9].ssh_port: expected integer, got str 'x'"


def test_error_names_the_file_as_given(write_inventory):
    path = write_inventory("colour: red\n", name="sub/site.yaml")
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(path))
    assert str(raised.value).startswith(f"{path}:1:1: unknown key 'colour'")


# -- known crashes: every malformed input must become an InventoryError -----------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("? [a]\n: 1\n", "inv.yaml:1:3: unhashable key: a list cannot be a mapping key"),
        ("{[a]: 1}\n", "inv.yaml:1:2: unhashable key: a list cannot be a mapping key"),
        ("{{a: 1}: 2}\n", "inv.yaml:1:2: unhashable key: a dict cannot be a mapping key"),
        ("hosts:\n  - {name: a, driver: fake, facts: {!!set {x}: 1}}\n", "inv.yaml:2:37: unhashable key: a set cannot be a mapping key"),
    ],
)
def test_unhashable_mapping_key_is_an_inventory_error(text, expected):
    assert error(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hosts: &h [*h]\n", "inv.yaml:1:8: recursive alias: the node contains itself"),
        ("hosts:\n  - &h {name: a, driver: fake, capabilities: {x: [*h]}}\n", "inv.yaml:2:5: recursive alias: the node contains itself"),
    ],
)
def test_recursive_alias_is_an_inventory_error(text, expected):
    assert error(text) == expected


@pytest.mark.parametrize("text", ["hosts: " + "[" * 5000 + "]" * 5000, "hosts: [{name: a, facts: " + "{x: " * 2000 + "}" * 2000 + "}]"])
def test_deep_nesting_is_an_inventory_error(text):
    assert error(text) == "inv.yaml: invalid YAML: nested too deeply"


def billion_laughs(levels: int) -> str:
    """A host's capabilities holding `levels` lists of nine aliases each: 9**levels strings from a few lines."""
    anchors = "".join(f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, levels + 1))
    return f"hosts:\n  - name: a\n    driver: fake\n    capabilities:\n      l0: &l0 lol\n{anchors}      all: *l{levels}\n"


def test_aliases_share_their_value_so_a_few_levels_load_quickly():
    (host,) = parse(billion_laughs(4)).hosts
    assert host.capabilities["all"] is host.capabilities["l4"]  # built once, as safe_load does
    assert host.capabilities["all"][8][8][8][8] == "lol"


def test_billion_laughs_is_refused_without_expanding_it():
    started = time.monotonic()
    message = error(billion_laughs(9))
    assert time.monotonic() - started < 1  # 9**9 values if expanded; 6 levels took 2.7 s before sharing
    assert message == "inv.yaml:10:11: the document expands to more than 100,000 values (aliases of aliases?)"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\ufffe"])
def test_non_printable_character_is_an_inventory_error(char):
    message = error(f"hosts:\n  - name: a{char}\n")
    assert message == f"inv.yaml:2:12: invalid YAML: unacceptable character #x{ord(char):04x}: special characters are not allowed"


# -- property: parse_inventory only ever raises InventoryError, each line naming the file -------------

# Fragments that steer random text towards YAML that parses, so the schema and later checks run too.
FRAGMENTS = st.sampled_from(
    [
        "hosts:", "\n", "\n  - ", "  ", "name: ", "driver: fake", "facts:", "instances:", "flavor: ", "flavors:", "images:",
        "networks:", "server_groups:", "defaults:", "scheduler:", "{", "}", "[", "]", ", ", ": ", "- ", "&a ", "*a", "<<: ",
        "ram: 1", "disk: 0", "vcpus: 1", "id: 1", "ssh_port: ", "address: ", "transport: ssh", "'", '"', "#", "~", "!!str ",
        "null", "true", "1.5", "-1", ".nan", "2020-01-01",
    ]
)  # fmt: skip


def assert_parse_is_clean(text: str) -> None:
    try:
        result = parse_inventory(text, "some/inv.yaml")
    except InventoryError as exc:
        message = str(exc)
        assert message
        for line in message.splitlines():
            assert line.startswith("some/inv.yaml:"), message
    else:
        assert isinstance(result, Inventory)
        assert result.hosts


PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.text())
def test_property_arbitrary_text(text):
    assert_parse_is_clean(text)


@PROPERTY
@given(st.lists(FRAGMENTS | st.text(max_size=3), max_size=40).map("".join))
def test_property_yaml_like_text(text):
    assert_parse_is_clean(text)


_KEYS = sorted(
    {
        *SCHEMA["properties"],
        *SCHEMA["properties"]["hosts"]["items"]["properties"],
        *SCHEMA["properties"]["hosts"]["items"]["properties"]["facts"]["properties"],
        *SCHEMA["properties"]["flavors"]["items"]["properties"],
        *SCHEMA["properties"]["images"]["items"]["properties"],
        *SCHEMA["properties"]["scheduler"]["properties"],
    }
)
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.sampled_from(["fake", "m1.tiny", "a", "ssh"])
_KEY = st.sampled_from(_KEYS) | st.text(max_size=6) | st.integers() | st.booleans() | st.none()
NESTED = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEY, inner, max_size=5), max_leaves=25)


@PROPERTY
@given(NESTED)
def test_property_arbitrary_nested_data(data):
    assert_parse_is_clean(yaml.safe_dump(data))


_HOST = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "a;b"]), "driver": st.sampled_from(["fake", "libvirt"])},
    optional={"facts": st.dictionaries(_KEY, NESTED, max_size=3), "address": _SCALARS, "transport": _SCALARS, "zone": _SCALARS},
)


@PROPERTY
@given(st.fixed_dictionaries({"hosts": st.lists(_HOST, max_size=3)}, optional={"flavors": NESTED, "defaults": NESTED, "images": NESTED}))
def test_property_nearly_valid_inventories(data):
    assert_parse_is_clean(yaml.safe_dump(data))


# -- inventory.example.yaml ---------------------------------------------------------------------------


def _schema_paths(schema: dict, prefix: tuple = ()) -> list[tuple]:
    """Every key path the schema names: dict keys, '[]' for list items, '*' for free-form keys."""
    paths = []
    for key, sub in schema.get("properties", {}).items():
        paths.append((*prefix, key))
        paths.extend(_schema_paths(sub, (*prefix, key)))
    if isinstance(schema.get("items"), dict):
        paths.extend(_schema_paths(schema["items"], (*prefix, "[]")))
    if isinstance(schema.get("additionalProperties"), dict):
        paths.extend(_schema_paths(schema["additionalProperties"], (*prefix, "*")))
    return paths


def _has_path(data, path: tuple) -> bool:
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head == "[]":
        return isinstance(data, list) and any(_has_path(item, rest) for item in data)
    if head == "*":
        return isinstance(data, dict) and any(_has_path(value, rest) for value in data.values())
    return isinstance(data, dict) and head in data and _has_path(data[head], rest)


def test_example_inventory_is_valid():
    inv = load_inventory(str(REPO / "inventory.example.yaml"))
    assert len(inv.hosts) >= 3
    assert {h.driver for h in inv.hosts} == {"libvirt", "fake"}
    assert any(h.facts.get("instances") for h in inv.hosts)
    assert inv.flavors and inv.images and inv.networks and inv.server_groups


def test_example_inventory_documents_every_key():
    data = yaml.safe_load((REPO / "inventory.example.yaml").read_text())
    missing = [".".join(p) for p in _schema_paths(SCHEMA) if not _has_path(data, p)]
    assert missing == [], "inventory.example.yaml lacks these keys (add each with a comment)"


def test_example_inventory_comments_every_section():
    text = (REPO / "inventory.example.yaml").read_text()
    for section in SCHEMA["properties"]:
        line = text.index(f"\n{section}:")
        assert text[:line].rstrip().splitlines()[-1].startswith("#"), f"section {section} has no comment above it"
