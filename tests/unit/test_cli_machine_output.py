"""Machine formats hold data, not display text: strict JSON from every command, typed values, no
placeholder strings or display-only rows; formatter options as openstackclient's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.runner import invoke, run

# Every command that prints a result and runs on fake hosts, on the FAKE_CLUSTER inventory (conftest.py)
# with a keypair, two server groups and a cached image added; nothing is built. (args, exit codes allowed)
COVERED: list[tuple[list[str], tuple[int, ...]]] = [
    (["service-list"], (0,)),
    (["flavor-list"], (0,)),
    (["flavor-show", "m1.special"], (0,)),
    (["image-list"], (0,)),
    (["keypair-list"], (0,)),
    (["keypair-show", "ops"], (0,)),
    (["image-cache-list", "--host", "compute1"], (0,)),
    (["image-cache-list", "--host", "compute1", "--host", "compute3"], (1,)),  # a down host's row
    (["image-cache-prune", "--dry-run", "--host", "compute1", "--min-age", "0"], (0,)),
    (["inventory-show"], (0,)),
    (["hypervisor-list"], (0,)),
    (["hypervisor-list", "--long"], (0,)),
    (["hypervisor-show", "compute1"], (0,)),
    (["hypervisor-show", "compute3"], (1,)),  # down: what it last said
    (["hypervisor-servers", "compute1"], (0,)),
    (["hypervisor-stats"], (0,)),
    (["availability-zone-list"], (0,)),
    (["list"], (0,)),
    (["list", "--long"], (0,)),
    (["show", "web1"], (0,)),
    (["capacity", "--flavor", "m1.tiny"], (0,)),
    (["server-group-list"], (0,)),
    (["server-group-show", "web"], (0,)),
    (["server-group-show", "db"], (0,)),
    (["boot", "vm", "--flavor", "m1.tiny", "--image", "cirros", "--dry-run"], (0,)),
    (["boot", "vm", "--flavor", "m1.tiny", "--image", "cirros", "--dry-run", "--max-count", "2"], (0,)),
    (["boot", "vm", "--flavor", "m1.special", "--image", "cirros", "--dry-run", "--availability-zone", "az2:compute2"], (0,)),
    (["evacuate", "compute1", "--dry-run"], (0, 1, 3)),
    (["rebalance"], (0,)),
    (["rebalance", "--dry-run"], (0,)),
    (["doctor"], (0,)),
    (["cleanup", "--dry-run"], (1,)),  # compute3 is down: its row says so
    # The fake driver refuses to change an instance; the per-instance result rows are still strict JSON.
    (["delete", "web1"], (2,)),
    (["stop", "web1"], (2,)),
    (["pause", "web1"], (2,)),
    (["suspend", "web1"], (2,)),
    (["reboot", "web1"], (2,)),
    (["reset-state", "web1"], (2,)),
]
# Registered commands with no JSON to check on fake hosts, and why. A new command must go in one list.
SKIPPED = {
    "help": "prints help text; no -f",
    "export": "prints a script (export openstack); no -f",
    "console-log": "prints the guest's console text; no -f",
    "console": "an interactive terminal session; no -f",
    "ssh": "an SSH session to a guest; no -f",
    "keypair-delete": "prints nothing; no -f",
    "keypair-add": "writes a private key under ~/.config and the inventory",
    "server-group-create": "fake clusters declare groups in the inventory: refused before any output",
    "server-group-delete": "as server-group-create",
    "service-disable": "fake hosts take their status from the inventory: refused before any output",
    "service-enable": "as service-disable",
    "start": "only from SHUTOFF, and fake instances are ACTIVE: refused before any output",
    "unpause": "only from PAUSED: refused before any output",
    "resume": "only from SUSPENDED: refused before any output",
    "resize-confirm": "only from VERIFY_RESIZE: refused before any output",
    "resize-revert": "only from VERIFY_RESIZE: refused before any output",
    "resize": "the fake driver cannot build: refused before any output",
    "migrate": "no dry run; the fake driver cannot build",
    "live-migration": "no dry run; the fake driver cannot move instances",
    "image-create": "the fake driver cannot snapshot: refused before any output",
    "image-upload": "needs a disk image file and a libvirt host to store it on",
    "image-cache-warm": "copies an image to hosts; fake hosts keep no cache to write",
}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINjMJamD4Gmo6fGT/c6XtvN+Cn4Ewlgu83Q6NrkA1Hsu"
CIRROS = "11111111-2222-3333-4444-555555555555"
PLACEHOLDERS = {"-", "?", "", "unbounded", "(total)", "None", "null", "n/a", "N/A"}


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.fixture
def full_cluster(fake_cluster: Path) -> Path:
    """FAKE_CLUSTER with a keypair, server groups (web1 in web) and cirros cached on compute1."""
    text = fake_cluster.read_text()
    text = text.replace("      local_gb: 100\n", f"      local_gb: 100\n      cached_images: [{CIRROS}]\n", 1)
    text = text.replace("{name: web1, flavor: m1.tiny}", f"{{name: web1, flavor: m1.tiny, group: web, image: {CIRROS}}}")
    text += f"keypairs:\n  - {{name: ops, public_key: {KEY}}}\n"
    text += "server_groups:\n  - {name: web, policy: anti-affinity}\n  - {name: db, policy: affinity}\n"
    fake_cluster.write_text(text)
    return fake_cluster


def test_every_registered_command_is_covered_or_skipped_with_a_reason() -> None:
    from novactl.commands.index import COMMANDS

    covered = {args[0] for args, _ in COVERED}
    assert covered & set(SKIPPED) == set()
    assert covered | set(SKIPPED) == set(COMMANDS)


@pytest.mark.parametrize(("args", "codes"), COVERED, ids=[" ".join(a) for a, _ in COVERED])
def test_json_of_every_command_is_strict_and_holds_no_placeholders(full_cluster: Path, args: list[str], codes: tuple[int, ...]) -> None:
    done = run("-i", full_cluster, *args, "-f", "json")
    assert done.exit_code in codes, done.stderr
    data = strict_json(done.stdout)
    assert data not in ([], {}), "nothing to check: the inventory should give this command something to print"
    found = [s for s in strings(data) if s in PLACEHOLDERS or s.startswith("(instances on")]
    assert found == []


def test_list_json_has_no_row_for_a_down_host_the_table_has_one(fake_cluster: Path) -> None:
    rows = strict_json(invoke(fake_cluster, "list", "-f", "json"))
    assert [r["Name"] for r in rows] == ["db1", "web1", "web2"]
    assert rows[0]["Task State"] is None
    assert isinstance(rows[0]["Networks"], dict)
    assert invoke(fake_cluster, "list", "-f", "value", "-c", "Name").split() == ["db1", "web1", "web2"]
    table = invoke(fake_cluster, "list", "-c", "ID", "-c", "Name")
    assert "| ?  " in table and "(instances on compute3)" in table


def test_service_list_json_nulls(fake_cluster: Path) -> None:
    rows = {r["Host"]: r for r in strict_json(invoke(fake_cluster, "service-list", "-f", "json"))}
    assert rows["compute1"]["Disabled Reason"] is None
    assert rows["compute2"]["Disabled Reason"] == "maintenance"
    assert "| -               |" in invoke(fake_cluster, "service-list", "-c", "Host", "-c", "Disabled Reason")


def test_sort_is_by_type_and_descending(write_inventory) -> None:
    text = "hosts:\n  - {name: a, driver: fake}\nflavors:\n" + "".join(
        f'  - {{id: "{i}", name: f{i}, ram: 512, disk: 1, vcpus: 1}}\n' for i in (1, 10, 2)
    )
    path = write_inventory(text)
    # IDs are text, as Nova's flavor ids: sorted as text; RAM-like numbers sort as numbers.
    assert invoke(path, "flavor-list", "--sort-column", "ID", "-f", "value", "-c", "ID") == "1\n10\n2\n"
    assert invoke(path, "flavor-list", "--sort-column", "ID", "--sort-descending", "-f", "value", "-c", "ID") == "2\n10\n1\n"


def test_noindent(fake_cluster: Path) -> None:
    assert invoke(fake_cluster, "hypervisor-list", "-c", "ID", "-f", "json", "--noindent") == '[{"ID": 1}, {"ID": 2}, {"ID": 3}]\n'


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("minimal", "ID,Hypervisor hostname\n1,compute1\n"),
        ("all", '"ID","Hypervisor hostname"\n"1","compute1"\n'),
        ("nonnumeric", '"ID","Hypervisor hostname"\n1,"compute1"\n'),
        ("none", "ID,Hypervisor hostname\n1,compute1\n"),
    ],
)
def test_csv_quote(fake_cluster: Path, quote: str, expected: str) -> None:
    out = invoke(fake_cluster, "hypervisor-list", "-f", "csv", "--quote", quote, "-c", "ID", "-c", "Hypervisor hostname")
    assert "\n".join(out.splitlines()[:2]) + "\n" == expected


def test_max_width_wraps_the_widest_column(fake_cluster: Path) -> None:
    out = invoke(fake_cluster, "image-list", "-c", "Name", "-c", "File", "--max-width", "30")
    assert all(len(line) <= 30 for line in out.splitlines())
    assert out.splitlines()[:4] == [
        "+--------+-------------------+",
        "| Name   | File              |",
        "+--------+-------------------+",
        out.splitlines()[3],
    ]
    assert "cirros.qcow2" in out.replace("\n", "").replace("|", "").replace(" ", "")


def test_unknown_column_is_exit_2_on_key_value_tables_too(fake_cluster: Path) -> None:
    done = run("-i", fake_cluster, "hypervisor-show", "compute1", "-c", "free_ram")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.startswith("ERROR: no column 'free_ram' (columns: cpu_info, ")
    assert done.stderr.endswith("). Did you mean 'free_ram_mb'?\n")
    done = run("-i", fake_cluster, "boot", "vm", "--flavor", "m1.tiny", "--image", "cirros", "--dry-run", "-c", "chosn", "-f", "json")
    assert (done.exit_code, done.stdout, done.stderr) == (
        2,
        "",
        "ERROR: no column 'chosn' (columns: chosen, selections, limits). Did you mean 'chosen'?\n",
    )


def test_colour_only_on_a_terminal_and_never_with_no_color(fake_cluster: Path, monkeypatch) -> None:
    monkeypatch.setattr("novactl.commands.common.on_terminal", lambda: True)
    red = "\x1b[31m"
    assert red in invoke(fake_cluster, "hypervisor-list")
    assert red not in invoke(fake_cluster, "hypervisor-list", "--no-color")
    assert red not in invoke(fake_cluster, "--no-color", "hypervisor-list")
    assert red not in run("-i", fake_cluster, "hypervisor-list", env={"NO_COLOR": "1"}).stdout
    monkeypatch.setattr("novactl.commands.common.on_terminal", lambda: False)
    assert red not in invoke(fake_cluster, "hypervisor-list")


def test_a_terminal_gets_tables_as_wide_as_it_is(fake_cluster: Path, monkeypatch) -> None:
    monkeypatch.setattr("novactl.commands.common.on_terminal", lambda: True)
    out = run("-i", fake_cluster, "--no-color", "list", "--long", env={"COLUMNS": "80"}).stdout
    table = [line for line in out.splitlines() if line.startswith(("+", "|"))]
    assert max(len(line) for line in table) <= 80
    monkeypatch.setattr("novactl.commands.common.on_terminal", lambda: False)
    wide = run("-i", fake_cluster, "list", "--long").stdout  # not a terminal: as wide as the cells
    assert max(len(line) for line in wide.splitlines()) > 80


def test_usage_bars_on_a_terminal_keep_their_shape_and_lose_their_colour_with_no_color(fake_cluster: Path, monkeypatch) -> None:
    monkeypatch.setattr("novactl.commands.common.on_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")  # the bars fit; rich would wrap them on a narrow terminal
    coloured = invoke(fake_cluster, "hypervisor-list", "--long")
    assert "\x1b[" in coloured and "░" in coloured
    for plain in (
        invoke(fake_cluster, "hypervisor-list", "--long", "--no-color"),
        run("-i", fake_cluster, "hypervisor-list", "--long", env={"NO_COLOR": "1"}).stdout,
    ):
        assert "\x1b" not in plain
        assert "░" in plain and "3072/12288 MB 25%" in plain  # the same bars, only uncoloured
        assert plain.count("\n") == coloured.count("\n")
