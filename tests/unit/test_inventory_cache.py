"""The remembered schema check: a text that passed is not checked again; errors are unchanged; what is
remembered counts only when it is private to this user and holds exactly the schema and the text."""

from __future__ import annotations

import os

import pytest

from novactl import inventory as inventory_module
from novactl.errors import InventoryError
from novactl.inventory import parse_inventory

VALID = "hosts:\n  - {name: a, driver: fake}\n"
INVALID = "hosts:\n  - {name: a, driver: fake, ssh_port: x}\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "novactl" / "valid-inventories"


def _no_validator():
    raise AssertionError("the schema check ran")


def test_a_text_that_passed_is_not_checked_again(cache, monkeypatch):
    assert parse_inventory(VALID, "inv.yaml").hosts[0].name == "a"
    assert len(list(cache.iterdir())) == 1
    monkeypatch.setattr(inventory_module, "_validator", _no_validator)
    assert parse_inventory(VALID, "other.yaml").hosts[0].name == "a"
    with pytest.raises(AssertionError, match="the schema check ran"):
        parse_inventory(VALID + "# changed\n", "inv.yaml")


def test_a_failing_text_leaves_no_mark_and_fails_alike_each_time(cache):
    for _ in range(2):
        with pytest.raises(InventoryError) as error:
            parse_inventory(INVALID, "inv.yaml")
        assert str(error.value) == "inv.yaml:2:39: hosts[0].ssh_port: expected integer, got str 'x'"
    assert not cache.exists() or not list(cache.iterdir())


def test_checks_after_the_schema_still_run_on_a_remembered_text(cache):
    duplicate = VALID + "  - {name: a, driver: fake}\n"
    for _ in range(2):
        with pytest.raises(InventoryError, match=r"^inv.yaml:3:"):
            parse_inventory(duplicate, "inv.yaml")


def test_a_new_schema_checks_afresh(cache, monkeypatch):
    parse_inventory(VALID, "inv.yaml")
    monkeypatch.setattr(inventory_module, "_schema_text", lambda: b"another schema")
    monkeypatch.setattr(inventory_module, "_validator", _no_validator)
    with pytest.raises(AssertionError, match="the schema check ran"):
        parse_inventory(VALID, "inv.yaml")


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert parse_inventory(VALID, "inv.yaml").hosts[0].name == "a"
    assert parse_inventory(VALID, "inv.yaml").hosts[0].name == "a"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: not used
    assert parse_inventory(VALID, "inv.yaml").hosts[0].name == "a"
    assert not (tmp_path / "relative").exists()


def _entry(cache):
    (entry,) = [p for p in cache.iterdir() if not p.name.startswith(".")]
    return entry


def test_the_remembered_file_is_private_and_holds_schema_and_text(cache):
    parse_inventory(VALID, "inv.yaml")
    entry = _entry(cache)
    assert (os.stat(cache).st_mode & 0o777, os.stat(entry).st_mode & 0o777) == (0o700, 0o600)
    assert entry.read_bytes().endswith(b"\0" + VALID.encode())


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda cache, entry: entry.chmod(0o644), id="file readable by others"),
        pytest.param(lambda cache, entry: entry.chmod(0o620), id="file writable by the group"),
        pytest.param(lambda cache, entry: cache.chmod(0o755), id="directory open to others"),
        pytest.param(lambda cache, entry: entry.write_bytes(entry.read_bytes()[:-1] + b"X"), id="other content, same name"),
        pytest.param(lambda cache, entry: entry.write_bytes(entry.read_bytes() + b"\n"), id="longer content"),
        pytest.param(lambda cache, entry: (entry.unlink(), entry.mkdir(mode=0o700)), id="a directory"),
        pytest.param(lambda cache, entry: (entry.rename(cache / "real"), entry.symlink_to(cache / "real")), id="a symlink"),
        pytest.param(
            lambda cache, entry: os.chown(entry, 12345, -1),
            id="owned by someone else",
            marks=pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root"),
        ),
    ],
)
def test_a_remembered_file_that_is_not_private_or_not_exact_is_not_trusted(cache, monkeypatch, spoil):
    parse_inventory(VALID, "inv.yaml")
    spoil(cache, _entry(cache))
    monkeypatch.setattr(inventory_module, "_validator", _no_validator)
    with pytest.raises(AssertionError, match="the schema check ran"):
        parse_inventory(VALID, "inv.yaml")
