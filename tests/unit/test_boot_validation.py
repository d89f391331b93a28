"""boot's checks before any host is contacted: Nova's API-level refusals, exit 2, one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.runner import invoke, run

INVENTORY = """\
hosts:
  - {name: h1, driver: fake, facts: {memory_mb: 8192, vcpus: 4, local_gb: 100}}
flavors:
  - {id: "1", name: small, ram: 512, disk: 1, vcpus: 1}
  - {id: "2", name: big, ram: 4096, disk: 20, vcpus: 2}
images:
  - {id: 8c5f0a4e-7d21-4b1e-9f3a-6e2d1c0b9a88, name: fat, file: fat.qcow2, min_ram: 2048, min_disk: 10}
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    (tmp_path / "fat.qcow2").write_bytes(b"not really an image")
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    return path


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_flavor_below_the_images_min_ram_is_refused(inventory: Path, dry_run: list[str]) -> None:
    done = run("-i", inventory, "boot", "vm", "--flavor", "small", "--image", "fat", *dry_run)
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "ERROR: flavor small's memory (512 MB) is below image fat's min_ram (2048 MB)\n"


def test_a_flavor_meeting_the_minimums_is_planned(inventory: Path) -> None:
    assert '"chosen": "h1"' in invoke(inventory, "boot", "vm", "--flavor", "big", "--image", "fat", "--dry-run", "-f", "json")


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINjMJamD4Gmo6fGT/c6XtvN+Cn4Ewlgu83Q6NrkA1Hsu"
KEYED = INVENTORY + f"keypairs:\n  - {{name: ops, public_key: {KEY}}}\n"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--key-name", "nope"], "Invalid key_name provided: 'nope'"),
        (["--user-data", "missing.txt"], "--user-data"),
        (["--user-data", "big.txt"], "User data too large. User data must be no larger than 65535 bytes once base64 encoded."),
        (["--meta", "=x"], "--meta"),
        (["--meta", "k=" + "v" * 256], "values at most 255"),
    ],
)
def test_bad_guest_data_is_exit_2_before_any_host(inventory: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], words: str) -> None:
    inventory.write_text(KEYED)
    (inventory.parent / "big.txt").write_bytes(b"x" * 49152)  # 65536 bytes once base64 encoded
    monkeypatch.chdir(inventory.parent)
    done = run("-i", inventory, "boot", "vm", "--flavor", "big", "--image", "fat", *args)
    assert done.exit_code == 2, done.stderr
    assert words in done.stderr and done.stdout == ""


def test_guest_data_within_novas_limits_is_planned(inventory: Path) -> None:
    inventory.write_text(KEYED)
    (inventory.parent / "ud.txt").write_bytes(b"x" * 49149)  # 65532 bytes once base64 encoded
    args = ["--key-name", "ops", "--user-data", str(inventory.parent / "ud.txt"), "--meta", "role=web", "--dry-run", "-f", "json"]
    assert '"chosen": "h1"' in invoke(inventory, "boot", "vm", "--flavor", "big", "--image", "fat", *args)
