"""Which inventory is in use, and why: inventory-show and --debug; a bad $NOVACTL_INVENTORY is named."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from novactl.inventory import BY_CWD, BY_DEFAULT, BY_OPTION, BY_USER_CONFIG, BY_VARIABLE
from tests.unit.runner import run

SMALL = "hosts:\n  - {name: a, driver: fake}\n"


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch) -> Path:
    """An empty working directory and home, and no $NOVACTL_INVENTORY."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NOVACTL_INVENTORY", raising=False)
    return tmp_path


def shown(*args: str, env: dict[str, str | None] | None = None) -> dict:
    done = run(*args, "inventory-show", "-f", "json", env=env)
    assert (done.exit_code, done.stderr) == (0, "")
    return json.loads(done.stdout)


def test_each_place_in_lookup_order(nowhere: Path) -> None:
    assert (shown()["path"], shown()["why"]) == (None, BY_DEFAULT)
    config = nowhere / "home/.config/novactl/inventory.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(SMALL)
    assert (shown()["path"], shown()["why"]) == (str(config), BY_USER_CONFIG)
    (nowhere / "inventory.yaml").write_text(SMALL)
    assert (shown()["path"], shown()["why"]) == ("inventory.yaml", BY_CWD)
    (nowhere / "other.yaml").write_text(SMALL)
    assert (shown(env={"NOVACTL_INVENTORY": "other.yaml"})["path"], shown(env={"NOVACTL_INVENTORY": "other.yaml"})["why"]) == (
        "other.yaml",
        BY_VARIABLE,
    )
    assert shown("-i", "other.yaml", env={"NOVACTL_INVENTORY": "inventory.yaml"})["why"] == BY_OPTION


def test_inventory_show_lists_what_it_holds_and_keeps_the_built_in_flavors(nowhere: Path) -> None:
    (nowhere / "inventory.yaml").write_text(SMALL)
    data = shown()
    assert data == {
        "path": "inventory.yaml",
        "why": BY_CWD,
        "hosts": ["a"],
        "flavors": ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"],  # no flavors: key
        "images": [],
        "networks": [],
        "server_groups": [],
    }
    assert "| path          | inventory.yaml" in run("inventory-show").stdout


def test_debug_logs_which_inventory_and_why(nowhere: Path, caplog) -> None:
    # In-process, pytest owns the root logger; the console script's format is tested in test_cli_readonly.
    caplog.set_level(logging.DEBUG, logger="novactl.inventory")
    (nowhere / "inventory.yaml").write_text(SMALL)
    assert run("flavor-list", "--debug", "-f", "value", "-c", "Name").exit_code == 0
    assert [r.getMessage() for r in caplog.records if r.name == "novactl.inventory"] == [f"Inventory inventory.yaml: {BY_CWD}"]


def test_a_bad_variable_is_named(nowhere: Path) -> None:
    done = run("flavor-list", env={"NOVACTL_INVENTORY": "missing.yaml"})
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == (
        "ERROR: missing.yaml: cannot read inventory: No such file or directory\n  (the file named by $NOVACTL_INVENTORY)\n"
    )
