"""Connection.put_file and get_file against a lab host over SSH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from novactl.errors import HostError
from novactl.inventory import load_inventory
from novactl.remote import connect
from tests.lab import Lab


@pytest.fixture
def conn(lab: Lab, tmp_path: Path):
    inventory = load_inventory(str(lab.write_inventory(tmp_path / "inventory.yaml")))
    connection = connect(inventory.hosts[0])
    connection.run(["mkdir", "-p", "--", "/var/lib/novactl/transfer-test"])
    try:
        yield connection
    finally:
        connection.run(["rm", "-rf", "--", "/var/lib/novactl/transfer-test"], check=False)
        connection.close()


def test_put_then_get_round_trips_8_mib_byte_identical(conn, tmp_path: Path) -> None:
    source, back = tmp_path / "source", tmp_path / "back" / "copy"
    back.parent.mkdir()
    source.write_bytes(os.urandom(8 * 1024 * 1024))
    remote = "/var/lib/novactl/transfer-test/a file's copy"
    conn.put_file(str(source), remote)
    got: list[int] = []
    conn.get_file(remote, str(back), got.append)
    assert back.read_bytes() == source.read_bytes()
    assert sum(got) == 8 * 1024 * 1024
    assert os.listdir(back.parent) == ["copy"]  # no temporary left beside it
    assert conn.run(["echo", "alive"]).stdout == "alive\n"  # the connection's shell is unharmed


def test_get_of_a_missing_path_raises_host_error_and_leaves_no_local_file(conn, tmp_path: Path) -> None:
    target = tmp_path / "out" / "copy"
    target.parent.mkdir()
    with pytest.raises(HostError, match=r"No such file") as raised:
        conn.get_file("/var/lib/novactl/transfer-test/absent", str(target))
    assert raised.value.host == conn.host.name
    assert os.listdir(target.parent) == []
