"""novactl.output: Nova's CLI tables, the machine formats, column selection and sorting."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from novactl.errors import UsageError
from novactl.output import Listing, ShowOne, render, table

SERVERS = Listing(
    ["ID", "Name", "Status", "RAM"],
    [
        [3, "web-2", "ACTIVE", 2048],
        [1, "db", "SHUTOFF", 512],
        [2, "web-1", "ACTIVE", 16384],
    ],
    footer="1 host is down",
)


def test_table_is_prettytable_as_novaclient_prints_it():
    assert render(SERVERS) == (
        "+----+-------+---------+-------+\n"
        "| ID | Name  | Status  | RAM   |\n"
        "+----+-------+---------+-------+\n"
        "| 3  | web-2 | ACTIVE  | 2048  |\n"
        "| 1  | db    | SHUTOFF | 512   |\n"
        "| 2  | web-1 | ACTIVE  | 16384 |\n"
        "+----+-------+---------+-------+\n"
        "1 host is down"
    )


def test_table_cells_none_bool_dict_list_and_widths_from_the_widest_cell():
    listing = Listing(["A", "Long header"], [[None, True], [{"b": 1, "a": [2]}, ["x", None]], ["", False]])
    assert render(listing) == (
        "+--------------------+-------------+\n"
        "| A                  | Long header |\n"
        "+--------------------+-------------+\n"
        "|                    | True        |\n"
        '| {"a": [2], "b": 1} | ["x", null] |\n'
        "|                    | False       |\n"
        "+--------------------+-------------+"
    )


def test_table_keeps_numeric_looking_strings_as_text():
    # No number parsing: "1.10" stays "1.10", "007" stays "007", left-aligned like any text.
    assert table(["v"], [["1.10"], ["007"], ["1e3"]]) == "+------+\n| v    |\n+------+\n| 1.10 |\n| 007  |\n| 1e3  |\n+------+"


def test_multi_line_cell_stays_inside_the_box():
    assert render(Listing(["Host", "Reason"], [["a", "disk\nfull"]])) == (
        "+------+--------+\n| Host | Reason |\n+------+--------+\n| a    | disk   |\n|      | full   |\n+------+--------+"
    )


def test_multi_line_cells_in_several_columns_and_rows():
    assert table(["A", "B"], [["x\r\ny\nz", "1\n\n2"], ["", "w"]]) == (
        "+---+---+\n| A | B |\n+---+---+\n| x | 1 |\n| y |   |\n| z | 2 |\n|   | w |\n+---+---+"
    )


def test_empty_listing_still_prints_the_header_box():
    assert render(Listing(["ID", "Name"], [], footer="nothing here")) == (
        "+----+------+\n| ID | Name |\n+----+------+\n+----+------+\nnothing here"
    )


def test_empty_listing_in_machine_formats():
    empty = Listing(["ID", "Name"], [])
    assert render(empty, "json") == "[]"
    assert render(empty, "yaml") == "[]"
    assert render(empty, "csv") == "ID,Name"
    assert render(empty, "value") == ""


def test_json_is_a_list_of_objects_keyed_by_column_names_with_native_types():
    text = render(SERVERS, "json")
    assert json.loads(text) == [
        {"ID": 3, "Name": "web-2", "Status": "ACTIVE", "RAM": 2048},
        {"ID": 1, "Name": "db", "Status": "SHUTOFF", "RAM": 512},
        {"ID": 2, "Name": "web-1", "Status": "ACTIVE", "RAM": 16384},
    ]
    assert text.startswith('[\n  {\n    "ID": 3,\n    "Name": "web-2",')
    assert list(json.loads(text)[0]) == ["ID", "Name", "Status", "RAM"]  # column order kept
    assert "1 host is down" not in text


def test_json_keeps_none_bool_and_nested_values():
    listing = Listing(["A", "B"], [[None, {"k": [1, True]}]])
    assert json.loads(render(listing, "json")) == [{"A": None, "B": {"k": [1, True]}}]


def test_yaml():
    assert render(SERVERS, "yaml") == (
        "- ID: 3\n  Name: web-2\n  Status: ACTIVE\n  RAM: 2048\n"
        "- ID: 1\n  Name: db\n  Status: SHUTOFF\n  RAM: 512\n"
        "- ID: 2\n  Name: web-1\n  Status: ACTIVE\n  RAM: 16384"
    )
    assert yaml.safe_load(render(SERVERS, "yaml")) == json.loads(render(SERVERS, "json"))


def test_csv_has_a_header_row_and_quotes_where_needed():
    listing = Listing(["Name", "Note"], [["a,b", 'say "hi"'], ["c", None], ["d", {"x": 1}]], footer="not in csv")
    text = render(listing, "csv")
    assert text == 'Name,Note\n"a,b","say ""hi"""\nc,\nd,"{""x"": 1}"'
    assert list(csv.reader(io.StringIO(text))) == [["Name", "Note"], ["a,b", 'say "hi"'], ["c", ""], ["d", '{"x": 1}']]


def test_value_is_space_separated_without_header_or_footer():
    assert render(SERVERS, "value") == "3 web-2 ACTIVE 2048\n1 db SHUTOFF 512\n2 web-1 ACTIVE 16384"


def test_value_with_one_column_is_ready_for_scripts():
    assert render(SERVERS, "value", columns=("name",)) == "web-2\ndb\nweb-1"


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv", "value"])
def test_footer_only_in_table_format(fmt):
    assert "1 host is down" not in render(SERVERS, fmt)
    assert render(SERVERS, "table").endswith("\n1 host is down")


def test_no_footer_no_trailing_newline():
    assert render(Listing(["A"], [[1]])) == "+---+\n| A |\n+---+\n| 1 |\n+---+"


# -- -c and --sort-column ----------------------------------------------------------------------------


def test_column_selection_is_case_insensitive_and_keeps_the_requested_order():
    assert render(SERVERS, "table", columns=("name", "id")) == (
        "+-------+----+\n| Name  | ID |\n+-------+----+\n| web-2 | 3  |\n| db    | 1  |\n| web-1 | 2  |\n+-------+----+\n1 host is down"
    )
    assert json.loads(render(SERVERS, "json", columns=("STATUS",))) == [{"Status": "ACTIVE"}, {"Status": "SHUTOFF"}, {"Status": "ACTIVE"}]
    assert render(SERVERS, "csv", columns=("Ram", "Name")) == "RAM,Name\n2048,web-2\n512,db\n16384,web-1"


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "value"])
def test_unknown_column_is_a_usage_error(fmt):
    with pytest.raises(UsageError) as raised:
        render(SERVERS, fmt, columns=("Name", "Flavor"))
    assert str(raised.value) == "no column 'Flavor' (columns: ID, Name, Status, RAM)"
    assert raised.value.exit_code == 2


def test_unknown_sort_column_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^no column 'size' \(columns: ID, Name, Status, RAM\)$"):
        render(SERVERS, sort_column=("size",))


def test_sort_by_text_column():
    assert render(SERVERS, "value", columns=("Name",), sort_column=("name",)) == "db\nweb-1\nweb-2"


def test_sort_by_number_column_is_numeric_not_lexical():
    assert render(SERVERS, "value", columns=("RAM",), sort_column=("RAM",)) == "512\n2048\n16384"


def test_sort_by_several_columns_first_one_wins():
    listing = Listing(["Host", "Name"], [["b", "y"], ["a", "z"], ["b", "x"], ["a", "w"]])
    assert render(listing, "value", sort_column=("Host", "Name")) == "a w\na z\nb x\nb y"
    assert render(listing, "value", sort_column=("Name", "Host")) == "a w\nb x\nb y\na z"


def test_sort_is_stable_and_puts_none_last():
    listing = Listing(["K", "V"], [[None, "first-none"], [2, "two"], [1, "one-a"], [None, "second-none"], [1, "one-b"]])
    assert render(listing, "value", columns=("V",), sort_column=("K",)) == "one-a\none-b\ntwo\nfirst-none\nsecond-none"


def test_sort_a_column_mixing_numbers_and_text():
    # flavor-list's Swap column holds an int, or "" for a flavor without swap (as novaclient prints it).
    listing = Listing(["Name", "Swap"], [["a", ""], ["b", 1024], ["c", 512], ["d", ""]])
    assert render(listing, "value", columns=("Name",), sort_column=("Swap",)) == "c\nb\na\nd"


def test_sort_does_not_modify_the_listing():
    rows = [list(row) for row in SERVERS.rows]
    render(SERVERS, sort_column=("Name",))
    assert SERVERS.rows == rows


# -- ShowOne: Nova's Property | Value ------------------------------------------------------------------

FLAVOR = ShowOne(
    {"id": "1", "name": "m1.tiny", "ram": 512, "extra_specs": {"hw:cpu_policy": "dedicated"}, "swap": "", "is_public": True, "desc": None},
    footer="a footer",
)


def test_show_one_table_is_property_value():
    assert render(FLAVOR) == (
        "+-------------+--------------------------------+\n"
        "| Property    | Value                          |\n"
        "+-------------+--------------------------------+\n"
        "| id          | 1                              |\n"
        "| name        | m1.tiny                        |\n"
        "| ram         | 512                            |\n"
        '| extra_specs | {"hw:cpu_policy": "dedicated"} |\n'
        "| swap        |                                |\n"
        "| is_public   | True                           |\n"
        "| desc        |                                |\n"
        "+-------------+--------------------------------+\n"
        "a footer"
    )


def test_show_one_json_and_yaml_are_one_object_with_native_values():
    expected = {
        "id": "1",
        "name": "m1.tiny",
        "ram": 512,
        "extra_specs": {"hw:cpu_policy": "dedicated"},
        "swap": "",
        "is_public": True,
        "desc": None,
    }
    assert json.loads(render(FLAVOR, "json")) == expected
    assert list(json.loads(render(FLAVOR, "json"))) == list(expected)
    assert yaml.safe_load(render(FLAVOR, "yaml")) == expected
    assert render(FLAVOR, "yaml").splitlines()[:4] == ["id: '1'", "name: m1.tiny", "ram: 512", "extra_specs:"]


def test_show_one_csv_and_value():
    assert render(FLAVOR, "csv") == (
        'Property,Value\nid,1\nname,m1.tiny\nram,512\nextra_specs,"{""hw:cpu_policy"": ""dedicated""}"\nswap,\nis_public,True\ndesc,'
    )
    assert render(FLAVOR, "value") == '1\nm1.tiny\n512\n{"hw:cpu_policy": "dedicated"}\n\nTrue\n'


def test_show_one_column_selection_picks_properties():
    assert render(FLAVOR, "value", columns=("ram", "name")) == "m1.tiny\n512"  # in the object's order
    assert json.loads(render(FLAVOR, "json", columns=("ram",))) == {"ram": 512}
    assert render(FLAVOR, "table", columns=("name",)) == (
        "+----------+---------+\n| Property | Value   |\n+----------+---------+\n| name     | m1.tiny |\n+----------+---------+\na footer"
    )


def test_show_one_document_replaces_fields_in_json_and_yaml_only():
    plan = ShowOne({"host": "kvm1"}, document={"plan": [{"host": "kvm1", "weight": 1.0}]})
    assert json.loads(render(plan, "json")) == {"plan": [{"host": "kvm1", "weight": 1.0}]}
    assert yaml.safe_load(render(plan, "yaml")) == {"plan": [{"host": "kvm1", "weight": 1.0}]}
    assert render(plan, "value") == "kvm1"
    assert render(plan) == "+----------+-------+\n| Property | Value |\n+----------+-------+\n| host     | kvm1  |\n+----------+-------+"


def test_show_one_empty():
    assert render(ShowOne({})) == "+----------+-------+\n| Property | Value |\n+----------+-------+\n+----------+-------+"
    assert render(ShowOne({}), "json") == "{}"


# -- colour ---------------------------------------------------------------------------------------------


def test_colour_only_on_a_terminal():
    listing = Listing(["Host", "State", "Status"], [["a", "up", "enabled"], ["b", "down", "disabled"]])
    plain = render(listing)
    assert "\x1b[" not in plain
    coloured = render(listing, tty=True)
    assert "\x1b[32m up \x1b[0m" in coloured
    assert "\x1b[31m down \x1b[0m" in coloured
    assert "\x1b[31m disabled \x1b[0m" in coloured
    # Only the escapes differ: the box stays aligned.
    assert coloured.replace("\x1b[31m", "").replace("\x1b[32m", "").replace("\x1b[0m", "") == plain
    assert "\x1b[" not in render(listing, "json", tty=True)
