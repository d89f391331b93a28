"""image-create's edit of the user's inventory: a new `images:` item added as text, comments kept."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from novactl.inventory import load_inventory
from novactl.inventory_edit import append_item

ENTRY = {"id": "8d589108-215d-4489-8653-8d8af8183056", "name": "snap1", "file": "snap1.qcow2", "disk_format": "qcow2"}
BASE = """\
# my cluster
hosts:
  - {name: h1, driver: fake, facts: {memory_mb: 1024, vcpus: 1, local_gb: 10}}
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_appended_after_the_last_image_with_every_comment_kept(tmp_path: Path) -> None:
    images = "images:\n  # the golden one\n  - id: 11111111-2222-3333-4444-555555555555\n    name: cirros  # small\n    file: c.qcow2\n"
    path = write(tmp_path, BASE + images + "\n# networks follow\nnetworks: []\n")
    before = path.read_text()
    assert append_item(path, "images", ENTRY)
    after = path.read_text()
    assert after.startswith(before.split("\n# networks follow")[0])
    assert after.endswith("\n# networks follow\nnetworks: []\n")
    assert "  - id: 8d589108-215d-4489-8653-8d8af8183056\n    name: snap1\n" in after
    assert [i.name for i in load_inventory(str(path)).images] == ["cirros", "snap1"]


def test_indentless_list_at_the_end_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "images:\n- id: 11111111-2222-3333-4444-555555555555\n  name: cirros\n  file: c.qcow2")
    assert append_item(path, "images", ENTRY)
    added = "- id: 8d589108-215d-4489-8653-8d8af8183056\n  name: snap1\n  file: snap1.qcow2\n  disk_format: qcow2\n"
    assert path.read_text().endswith("  file: c.qcow2\n" + added)
    assert [i.name for i in load_inventory(str(path)).images] == ["cirros", "snap1"]


def test_no_images_section_gets_one(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert append_item(path, "images", ENTRY)
    assert path.read_text().startswith(BASE)
    assert yaml.safe_load(path.read_text())["images"] == [ENTRY]


def test_a_flow_style_list_is_left_to_the_user(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "images: []  # none yet\n")
    before = path.read_text()
    assert not append_item(path, "images", ENTRY)
    assert path.read_text() == before
