"""Day-2 operations on the lab: rebalance really moves guests (checked with virsh on the hosts).

One shared 3-host lab; every test leaves it empty (the fixture deletes what is left and checks that no
domain, directory, claim or held lock remains anywhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli import novactl, novactl_json
from tests.integration.test_boot import assert_clean
from tests.lab import Lab


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict) -> Iterator[Path]:
    path = lab.write_inventory(tmp_path / "inventory.yaml", images=[marker_image])
    yield path
    leftover = novactl_json(path, "list")
    if leftover:
        novactl(path, "delete", *[row["ID"] for row in leftover])
    assert_clean(lab)


def running(lab: Lab, host: str) -> list[str]:
    return lab.virsh(host, "list", "--name", "--state-running").split()


def test_rebalance_spreads_guests_booted_onto_one_host(lab: Lab, inventory: Path) -> None:
    h1, h2, h3 = (h.name for h in lab.hosts)
    forced = ["--availability-zone", f"nova:{h1}", "--min-count", "3", "--max-count", "3"]
    novactl_json(inventory, "boot", "rb", "--flavor", "m1.tiny", "--image", "marker", *forced)
    domains = running(lab, h1)
    assert len(domains) == 3 and running(lab, h2) == running(lab, h3) == []

    plan = novactl_json(inventory, "rebalance", "--dry-run")
    assert plan["score_after"] < plan["score_before"]
    assert len(plan["moves"]) == 2 and {m["from"] for m in plan["moves"]} == {h1}
    assert {m["to"] for m in plan["moves"]} == {h2, h3}
    assert len(running(lab, h1)) == 3  # the dry run moved nothing

    done = novactl(inventory, "rebalance", "--execute", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert "[1/2] live-migrating" in done.stderr and "[2/2]" in done.stderr
    result = json.loads(done.stdout)
    assert [m["done"] for m in result["moves"]] == [True, True]
    assert sorted(len(running(lab, h)) for h in (h1, h2, h3)) == [1, 1, 1]
    assert sorted(running(lab, h1) + running(lab, h2) + running(lab, h3)) == sorted(domains)  # moved, not rebuilt
    for move in result["moves"]:
        (domain,) = running(lab, move["to"])
        assert lab.virsh(move["to"], "domstate", "--reason", domain).strip() == "running (migrated)"
    listed = {row["Name"]: row for row in novactl_json(inventory, "list", "--long")}
    assert {row["Host"] for row in listed.values()} == {h1, h2, h3}
    assert all(row["Status"] == "ACTIVE" for row in listed.values())
    assert novactl_json(inventory, "rebalance", "--dry-run")["moves"] == []  # balanced now
