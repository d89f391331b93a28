"""Machine formats hold data, not display text: strict JSON from every command, typed values, no
placeholder strings or display-only rows; formatter options as openstackclient's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.runner import invoke, run

# Every command that prints a result, on the FAKE_CLUSTER inventory (conftest.py); nothing is built.
READ_COMMANDS = [
    ["service-list"],
    ["flavor-list"],
    ["flavor-show", "m1.special"],
    ["image-list"],
    ["hypervisor-list"],
    ["hypervisor-show", "compute1"],
    ["hypervisor-show", "compute3"],
    ["hypervisor-stats"],
    ["availability-zone-list"],
    ["list"],
    ["list", "--long"],
    ["show", "web1"],
    ["capacity", "--flavor", "m1.tiny"],
    ["server-group-list"],
    ["boot", "vm", "--flavor", "m1.tiny", "--image", "cirros", "--dry-run"],
    ["evacuate", "compute1", "--dry-run"],
    ["rebalance"],
]
PLACEHOLDERS = {"-", "?", "unbounded", "(total)"}


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


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_json_of_every_command_is_strict_and_holds_no_placeholders(fake_cluster: Path, args: list[str]) -> None:
    done = run("-i", fake_cluster, *args, "-f", "json")
    assert done.exit_code in (0, 1, 3), done.stderr
    data = strict_json(done.stdout)
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
