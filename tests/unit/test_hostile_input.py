"""Hostile and clumsy input (issue 8, part 5): each case crashed, hung or leaked before.

Every one must end in one clear error (exit 2, FILE:LINE:COL when it comes from the inventory) or a
correct answer: never a traceback, a hang, invalid JSON or raw terminal escapes.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from novactl.errors import InventoryError, UsageError
from novactl.images import check_disk_image
from novactl.inventory import MAX_INVENTORY_BYTES, load_inventory, parse_inventory
from novactl.inventory_schema import MAX_MB
from novactl.lifecycle import image_create
from novactl.models import HostConfig
from novactl.output import Listing, ShowOne, render, terminal_safe
from tests.unit.conftest import make_qcow2

FLAVOR = '{id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}'
HOST = "{name: c1, driver: fake, facts: {memory_mb: 8192, vcpus: 4, local_gb: 100}}"
IMAGE = "{id: 11111111-2222-3333-4444-555555555555, name: i, file: f"
BIG = "1" + "0" * 30
NOT_STRING_KEY = "a mapping key must be a string, not"
DRY_RUN = ("boot", "--dry-run", "--flavor", "m1.tiny", "--image", "cirros", "x")


def inventory(flavor: str = FLAVOR, host: str = HOST, scheduler: str = "{}", extra: str = "") -> str:
    return f"scheduler: {scheduler}\nflavors:\n  - {flavor}\nhosts:\n  - {host}\n{extra}"


def error(text: str) -> str:
    with pytest.raises(InventoryError) as raised:
        parse_inventory(text, "inv.yaml")
    assert raised.value.exit_code == 2
    return str(raised.value)


# -- numbers: bounded, integral where they must be, finite, and never past Python's int-string limit --------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (inventory(host=HOST.replace("8192", "1" + "0" * 400)), "inv.yaml:5:49: hosts[0].facts.memory_mb: integer of more than 40 digits"),
        (inventory(host=HOST.replace("8192", str(10**20))), f"hosts[0].facts.memory_mb: {10**20} is greater than the maximum of {MAX_MB}"),
        (inventory(host=HOST.replace("100", BIG)), f"hosts[0].facts.local_gb: {BIG} is greater than"),
        (inventory(host=HOST.replace("vcpus: 4", f"vcpus: {BIG}")), f"hosts[0].facts.vcpus: {BIG} is greater"),
        (inventory(scheduler="{ram_allocation_ratio: 1.0e+300}"), "scheduler.ram_allocation_ratio: 1e+300 is greater than the maximum of"),
        (inventory(scheduler=f"{{cpu_weight_multiplier: -{BIG}}}"), f"scheduler.cpu_weight_multiplier: -{BIG} is less"),
        (
            inventory(scheduler="{ram_weight_multiplier: " + "9" * 400 + "}"),
            "inv.yaml:1:36: scheduler.ram_weight_multiplier: integer of more than",
        ),
        (inventory(extra=f"images: [{IMAGE}, min_ram: " + "1" * 5000 + "}]\n"), "images[0].min_ram: integer of more than 40"),
        (
            inventory(host=HOST.replace("}}", ", cpu_info: {x: " + "7" * 4400 + "}}}")),
            "hosts[0].facts.cpu_info.x: integer of more than 40 digits",
        ),
        (inventory(scheduler="{host_subset_size: 2.0}"), "inv.yaml:1:31: scheduler.host_subset_size: expected integer, got float 2.0"),
        (inventory(scheduler="{max_attempts: 1000000}"), "scheduler.max_attempts: 1000000 is greater than the maximum of 100"),
    ],
)
def test_numbers_out_of_range_are_refused_at_their_position(text, expected):
    assert expected in error(text)


def test_hypervisor_version_requirement_of_5000_digits_is_refused_and_not_printed_whole():
    version = "1" * 5000
    message = error(inventory(extra=f"images:\n  - {{id: x, name: i, file: f, properties: {{img_hv_requested_version: '>={version}'}}}}\n"))
    assert "images[0].properties.img_hv_requested_version: '>=1111" in message
    assert "is not a version requirement such as '>=2.11,<3.0'" in message
    assert len(message) < 300


def test_hypervisor_version_requirement_that_parses():
    text = inventory(extra=f"images:\n  - {IMAGE}, properties: {{img_hv_requested_version: '>=6.2, <11.0'}}}}\n")
    assert parse_inventory(text, "inv.yaml").images[0].properties == {"img_hv_requested_version": ">=6.2, <11.0"}


# -- keys and values that are not JSON data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            inventory(flavor=FLAVOR.replace("}", ", extra_specs: {1: a}}")),
            "inv.yaml:3:73: flavors[0].extra_specs: a mapping key must be a string, not an integer '1'",
        ),
        (
            inventory(scheduler="{pci_alias: {1: {vendor_id: '8086', product_id: '1234'}}}"),
            f"scheduler.pci_alias: {NOT_STRING_KEY} an integer",
        ),
        (inventory(flavor=FLAVOR.replace("}", ", extra_specs: {2020-01-01: a}}")), "flavors[0].extra_specs: a date is not allowed here"),
        (inventory(flavor=FLAVOR.replace("}", ", extra_specs: {a: 2020-01-01}}")), "flavors[0].extra_specs.a: a date is not allowed here"),
        (inventory(host=HOST.replace("}}", ", cpu_info: {x: !!binary aGk=}}}")), "hosts[0].facts.cpu_info.x: binary is not allowed here"),
        (inventory(host=HOST.replace("}}", ", cpu_info: {null: 1}}}")), f"hosts[0].facts.cpu_info: {NOT_STRING_KEY} null"),
    ],
)
def test_non_string_keys_and_non_json_values_are_refused(text, expected):
    assert expected in error(text)


def test_nesting_is_bounded_so_yaml_output_cannot_recurse_without_end():
    deep = "{a: " * 330 + "1" + "}" * 330
    message = error(inventory(host=HOST.replace("}}", f", cpu_info: {deep}}}}}")))
    assert message == "inv.yaml:5:206: hosts[0].facts.cpu_info: nested more than 32 levels deep (the limit for any value)"


def test_an_alias_counts_the_depth_of_the_value_it_shares():
    deep = "{a: " * 28 + "1" + "}" * 28
    text = f"scheduler: {{pci_alias: {{x: &d {deep}}}}}\n" + inventory(host=HOST.replace("}}", ", cpu_info: {x: {y: *d}}}}"))[14:]
    # The anchor is 3 levels down (and of no valid shape, but depth is checked first); the alias 5.
    assert "nested more than 32 levels deep" in error(text)


# -- the file itself: a regular file, of bounded size ----------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "inv.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(fifo))
    assert str(raised.value) == f"{fifo}: cannot read inventory: not a regular file"


def test_a_character_device_is_refused_unread():
    with pytest.raises(InventoryError) as raised:
        load_inventory("/dev/zero")
    assert str(raised.value) == "/dev/zero: cannot read inventory: not a regular file"


def test_a_file_past_the_cap_is_refused_unparsed(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("hosts: []\n" + "#" * MAX_INVENTORY_BYTES)
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(path))
    assert str(raised.value) == f"{path}: the inventory is larger than 2 MiB; refusing to parse it"


def test_errors_do_not_quote_a_secret_file_given_by_mistake(tmp_path):
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$s3cr3tHash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    with pytest.raises(InventoryError) as raised:
        load_inventory(str(shadow))
    assert "s3cr3t" not in str(raised.value)
    allowed = "defaults, flavors, hosts, images, keypairs, networks, scheduler, server_groups"
    assert str(raised.value) == f"{shadow}:1:1: unknown key (allowed here: {allowed})"


def test_a_scalar_document_is_not_quoted_either(tmp_path):
    assert error("hunter2 is my password\n") == "inv.yaml:1:1: inventory: expected a mapping (hosts:, flavors:, ...), got str"


# -- libvirt URIs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "qemu+ext:///system?command=/tmp/prog",
        "qemu+libssh://root@h/system?known_hosts_verify=ignore",
        "qemu+ssh://h/system",
        "qemu:///system?socket=/tmp/x",
        "test:///default",
    ],
)
def test_only_local_libvirt_uris_are_accepted(uri):
    assert "hosts[0].libvirt_uri: " in error(inventory(host=HOST.replace("driver: fake", f"driver: fake, libvirt_uri: '{uri}'")))
    with pytest.raises(UsageError):
        HostConfig(name="h", address="h", libvirt_uri=uri)


def test_the_local_libvirt_uris_load():
    for uri in ("qemu:///system", "qemu:///session"):
        (host,) = parse_inventory(inventory(host=HOST.replace("driver: fake", f"driver: fake, libvirt_uri: '{uri}'")), "i").hosts
        assert host.libvirt_uri == uri


# -- the CLI: arguments ------------------------------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            scheduler: {pci_alias: {gpu: {vendor_id: '10de', product_id: '1db4'}}}
            flavors:
              - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
              - {id: "2", name: gpu, ram: 512, disk: 1, vcpus: 1, extra_specs: {"pci_passthrough:alias": "gpu:²"}}
            images: [{id: 11111111-2222-3333-4444-555555555555, name: cirros, file: cirros.qcow2}]
            hosts:
              - {name: c1, driver: fake, facts: {memory_mb: 8192, vcpus: 4, local_gb: 100}}
              - {name: c2, driver: fake, facts: {memory_mb: 8192, vcpus: 4, local_gb: 100}}
            """
        )
    )
    return path


def test_hypervisor_show_of_an_empty_name_is_an_unknown_host(cluster, run_main):
    result = run_main("-i", str(cluster), "hypervisor-show", "")
    assert (result.exit_code, result.stderr) == (2, "ERROR: unknown host '' (known: c1, c2)\n")


def test_max_count_is_capped(cluster, run_main):
    result = run_main("-i", str(cluster), *DRY_RUN, "--max-count", "100000")
    assert (result.exit_code, result.stderr) == (2, "ERROR: --max-count 100000 is more than 1000, the most one boot request may ask for\n")


def test_superscript_pci_count_is_a_usage_error(cluster, run_main):
    result = run_main("-i", str(cluster), "boot", "--dry-run", "--flavor", "gpu", "--image", "cirros", "x")
    assert (result.exit_code, result.stderr) == (2, "ERROR: flavor gpu: pci_passthrough:alias entry 'gpu:²' is not ALIAS:COUNT\n")


@pytest.mark.parametrize("name", ["x\n", "x\n\n", "x-", "x y", "x" * 64])
def test_boot_names_are_matched_whole(cluster, run_main, name):
    result = run_main("-i", str(cluster), "boot", "--dry-run", "--flavor", "m1.tiny", "--image", "cirros", name)
    assert result.exit_code == 2
    assert result.stderr.startswith("ERROR: instance name ")


def test_image_create_name_with_a_trailing_newline_is_refused(cluster):
    inv = load_inventory(str(cluster))
    with pytest.raises(UsageError, match="is not safe"):
        image_create(inv, "web1", "snap\n")


# -- output: strict JSON, nothing raw to the terminal ---------------------------------------------------


def test_json_output_refuses_nan_instead_of_printing_invalid_json():
    with pytest.raises(ValueError):
        render(ShowOne({"x": float("nan")}), "json")


@pytest.mark.parametrize("fmt", ["table", "value", "csv"])
def test_terminal_escapes_in_names_are_shown_escaped(fmt):
    evil = "web\x1b]0;owned\x07\x1b[2J\u202egnp.exe\r"
    text = render(Listing(["Name"], [[evil]], footer="down: \x1b[31m"), fmt)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\r" not in text
    assert "web\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe\\r" in text


def test_json_output_escapes_control_characters():
    text = render(Listing(["Name"], [["a\x1bb"]]), "json")
    assert "\x1b" not in text and json.loads(text) == [{"Name": "a\x1bb"}]


def test_terminal_safe_keeps_newlines_and_tabs():
    assert terminal_safe("a\tb\r\nc\nd") == "a\tb\r\nc\nd"


def test_error_lines_are_terminal_safe(cluster, run_main):
    result = run_main("-i", str(cluster), "flavor-show", "\x1b[2Jx")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\\x1b[2Jx" in result.stderr


# -- image files: what qemu-img says they are, before anything is sent ------------------------------------


def test_a_key_file_declared_raw_is_refused(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(UsageError, match=r"is not a raw disk image \(whole sectors with an MBR or GPT boot sector\)"):
        check_disk_image(key, "raw", "stolen")
    key.write_bytes(key.read_bytes().ljust(4096, b"\0"))  # whole sectors, still no boot sector
    with pytest.raises(UsageError, match="is not a raw disk image"):
        check_disk_image(key, "raw", "stolen")


def test_a_qcow2_declared_raw_is_refused_and_a_real_raw_disk_passes(tmp_path):
    qcow2 = make_qcow2(tmp_path / "disk.qcow2")
    with pytest.raises(UsageError, match=r"image i: .*disk.qcow2 is qcow2, not raw as the inventory says"):
        check_disk_image(qcow2, "raw", "i")
    check_disk_image(qcow2, "qcow2", "i")
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"\0" * 510 + b"\x55\xaa" + b"\0" * 512)
    check_disk_image(raw, "raw", "i")


def test_boot_refuses_an_image_file_that_is_not_its_format_before_anything_is_claimed(cluster, run_main):
    (cluster.parent / "cirros.qcow2").write_text("not an image\n")
    result = run_main("-i", str(cluster), "boot", "--flavor", "m1.tiny", "--image", "cirros", "x")
    assert result.exit_code == 2
    source = cluster.parent / "cirros.qcow2"
    assert result.stderr == f"ERROR: image cirros: {source} is raw, not qcow2 as the inventory says (qemu-img info)\n"
