"""keypair-add/list/show/delete and image-upload: the inventory edited as text, Nova's fingerprints."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from novactl.inventory import load_inventory
from novactl.inventory_edit import remove_item

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC = RSA_KEY.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own, and a cwd without inventory.yaml: the built-in default applies."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NOVACTL_INVENTORY", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


def nova_fingerprint(public_key: str) -> str:
    """nova/crypto.py's generate_fingerprint, written out independently of novactl's."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def test_generated_key_on_the_default_writes_the_inventory_and_a_private_key_only_here(home, run_main):
    done = run_main("keypair-add", "mykey", "-f", "json")
    assert done.exit_code == 0, done.stderr
    shown = yaml.safe_load(done.stdout)
    private = home / ".config/novactl/keys/mykey"
    assert shown["private_key"] == str(private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    loaded = serialization.load_ssh_private_key(private.read_bytes(), password=None)
    public = loaded.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    assert shown["public_key"].startswith(public + " ")
    assert shown["fingerprint"] == nova_fingerprint(public)
    written = home / ".config/novactl/inventory.yaml"
    inventory = load_inventory(str(written))
    assert inventory.flavors[0].name == "m1.tiny"  # the built-in default, then the key
    assert [(k.name, k.fingerprint) for k in inventory.keypairs] == [("mykey", nova_fingerprint(public))]
    assert "PRIVATE" not in written.read_text()


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen")
def test_imported_key_fingerprint_is_ssh_keygen_md5(fake_cluster, run_main, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
    listed = subprocess.run(["ssh-keygen", "-E", "md5", "-lf", str(tmp_path / "id.pub")], capture_output=True, text=True, check=True)
    assert run_main("-i", str(fake_cluster), "keypair-add", "k", "--pub-key", str(tmp_path / "id.pub")).exit_code == 0
    done = run_main("-i", str(fake_cluster), "keypair-list", "-f", "value")
    assert done.stdout.split() == ["k", "ssh", listed.stdout.split()[1].removeprefix("MD5:")]


def test_list_show_delete_keep_the_users_comments(write_inventory, run_main, tmp_path):
    (tmp_path / "rsa.pub").write_text(RSA_PUBLIC + " me@laptop\n")
    path = write_inventory(
        """\
        # my cluster
        hosts:
          - {name: h1, driver: fake, facts: {memory_mb: 1024, vcpus: 1, local_gb: 10}}
        keypairs:
          # the first one
          - {name: old, public_key: "KEY"}
        # flavors below
        flavors:
          - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
        """.replace("KEY", RSA_PUBLIC)
    )
    before = path.read_text()
    assert run_main("-i", str(path), "keypair-add", "new", "--pub-key", str(tmp_path / "rsa.pub")).exit_code == 0
    assert path.read_text().startswith(before.split("# flavors below")[0])
    assert "# flavors below\nflavors:" in path.read_text()
    listing = run_main("-i", str(path), "keypair-list", "-f", "json")
    assert [(k["Name"], k["Type"], k["Fingerprint"]) for k in yaml.safe_load(listing.stdout)] == [
        ("old", "ssh", nova_fingerprint(RSA_PUBLIC)),
        ("new", "ssh", nova_fingerprint(RSA_PUBLIC)),
    ]
    shown = yaml.safe_load(run_main("-i", str(path), "keypair-show", "new", "-f", "json").stdout)
    assert shown["public_key"] == RSA_PUBLIC + " me@laptop"
    assert run_main("-i", str(path), "keypair-delete", "old").exit_code == 0
    assert run_main("-i", str(path), "keypair-delete", "new").exit_code == 0
    assert path.read_text() == "# my cluster\nhosts:\n  - {name: h1, driver: fake, facts: {memory_mb: 1024, vcpus: 1, local_gb: 10}}\n" + (
        '# flavors below\nflavors:\n  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}\n'
    )
    assert run_main("-i", str(path), "keypair-show", "new").exit_code == 4


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "not one OpenSSH public key line"),
        ("ssh-rsa AAAA\nssh-rsa AAAA\n", "not one OpenSSH public key line"),
        (RSA_PUBLIC.replace("ssh-rsa", "ssh-ed25519"), "invalid"),  # the blob says ssh-rsa
        ("ssh-rsa !!!!", "not one OpenSSH public key line"),
    ],
)
def test_a_bad_public_key_is_exit_2_and_the_inventory_unchanged(fake_cluster, run_main, tmp_path, content, words):
    (tmp_path / "bad.pub").write_text(content)
    before = fake_cluster.read_text()
    done = run_main("-i", str(fake_cluster), "keypair-add", "k", "--pub-key", str(tmp_path / "bad.pub"))
    assert done.exit_code == 2
    assert words in done.stderr and done.stderr.startswith("ERROR: ")
    assert fake_cluster.read_text() == before


def test_duplicate_and_unsafe_names_are_exit_2(home, run_main):
    assert run_main("keypair-add", "k").exit_code == 0
    again = run_main("keypair-add", "k")
    assert (again.exit_code, again.stderr) == (2, "ERROR: Key pair 'k' already exists.\n")
    assert run_main("keypair-add", "../k").exit_code == 2
    assert not (home / ".config/novactl/keys/../k").exists()


def test_inventory_load_refuses_a_key_whose_blob_names_another_type(write_inventory):
    from novactl.errors import InventoryError

    path = write_inventory(
        "hosts: [{name: h1, driver: fake}]\nkeypairs:\n  - {name: k, public_key: " + RSA_PUBLIC.replace("ssh-rsa", "ssh-dss") + "}\n"
    )
    with pytest.raises(InventoryError, match=r":3:\d+: keypairs\[0\].public_key: the key data is not a ssh-dss key"):
        load_inventory(str(path))


def test_remove_item_leaves_a_flow_list_to_the_user(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts: [{name: h1, driver: fake}]\nkeypairs: [{name: k, public_key: " + RSA_PUBLIC + "}]\n")
    before = path.read_text()
    assert not remove_item(path, "keypairs", "k")
    assert path.read_text() == before


# -- image-upload ------------------------------------------------------------------------------------

needs_qemu_img = pytest.mark.skipif(not shutil.which("qemu-img"), reason="needs qemu-img")


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


@needs_qemu_img
def test_image_upload_on_the_default_records_format_and_md5(home, run_main, tmp_path):
    image = tmp_path / "disk.img"
    qemu_img("create", "-f", "qcow2", str(image), "16M")
    done = run_main("image-upload", "deb", "--file", str(image), "--property", "default_user=debian", "--min-disk", "2", "-f", "json")
    assert done.exit_code == 0, done.stderr
    entry = yaml.safe_load(done.stdout)
    assert entry["disk_format"] == "qcow2"
    assert entry["checksum"] == hashlib.md5(image.read_bytes()).hexdigest()
    inventory = load_inventory(str(home / ".config/novactl/inventory.yaml"))
    (loaded,) = inventory.images
    assert (loaded.name, loaded.min_disk, loaded.properties) == ("deb", 2, {"default_user": "debian"})
    assert inventory.source_dir / loaded.file == image


@needs_qemu_img
def test_image_upload_raw_is_detected(fake_cluster, run_main, tmp_path):
    image = tmp_path / "raw.img"
    image.write_bytes(b"\0" * 510 + b"\x55\xaa" + b"\0" * (1024 * 1024 - 512))  # a disk: sectors and a boot sector
    done = run_main("-i", str(fake_cluster), "image-upload", "r", "--file", str(image), "--disk-format", "raw", "-f", "value", "-c", "file")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == "raw.img"  # next to the inventory: stored relative to it
    assert load_inventory(str(fake_cluster)).image("r").disk_format == "raw"


@needs_qemu_img
@pytest.mark.parametrize("case", ["backing", "declared-raw", "missing", "vmdk"])
def test_image_upload_refusals_are_exit_2_and_leave_the_inventory(fake_cluster, run_main, tmp_path, case):
    base, image = tmp_path / "base.qcow2", tmp_path / "top.img"
    qemu_img("create", "-f", "qcow2", str(base), "16M")
    disk_format = "auto"
    if case == "backing":
        qemu_img("create", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(image))
    elif case == "declared-raw":
        shutil.copy(base, image)
        disk_format = "raw"
    elif case == "vmdk":
        qemu_img("create", "-f", "vmdk", str(image), "16M")
    before = fake_cluster.read_text()
    done = run_main("-i", str(fake_cluster), "image-upload", "x", "--file", str(image), "--disk-format", disk_format)
    assert done.exit_code == 2, done.stderr
    assert done.stderr.startswith("ERROR: ") and done.stderr.count("\n") == 1
    assert fake_cluster.read_text() == before


def test_image_upload_refuses_an_existing_name(fake_cluster, run_main, tmp_path):
    (tmp_path / "x.img").write_bytes(b"\0" * 512)
    done = run_main("-i", str(fake_cluster), "image-upload", "cirros", "--file", str(tmp_path / "x.img"))
    assert (done.exit_code, done.stderr) == (2, "ERROR: the inventory already has an image 'cirros'\n")
    assert not os.path.exists(tmp_path / "home")


@needs_qemu_img
def test_image_upload_refuses_a_key_file_as_raw(fake_cluster, run_main, tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    done = run_main("-i", str(fake_cluster), "image-upload", "k", "--file", str(key), "--disk-format", "raw")
    assert done.exit_code == 2
    assert done.stderr == f"ERROR: image k: {key} is not a raw disk image (whole sectors with an MBR or GPT boot sector)\n"
