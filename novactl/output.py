"""The one place results become text: table (Nova's CLI look), json, yaml, csv, value.

Commands return a `Listing` (columns + rows, like cliff's Lister) or a `ShowOne` (one object's
fields, printed as Nova's Property | Value table); this module selects columns (-c), sorts
(--sort-column) and renders. Colour only when stdout is a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from novactl.errors import UsageError

SHOW_WIDTH = 80  # widest Value cell of a Property | Value table


@dataclass
class Listing:
    columns: list[str]
    rows: list[list[Any]]
    # Text for humans after a table (e.g. a dry run's explanation); never in machine formats.
    footer: str = ""
    exit_code: int = 0  # printed output can still mean failure (a dry run that found no host)
    # What -f json/yaml print, when richer than the rows (e.g. a rebalance plan with its scores).
    document: Any = None
    # Column pairs a table on a terminal draws as usage bars; every other format keeps the plain columns.
    gauges: list[Gauge] = field(default_factory=list)


@dataclass(frozen=True)
class Gauge:
    label: str  # the bar's column heading
    used: str  # the column holding the amount used
    limit: str  # the column holding what may be used (total x allocation ratio)
    unit: str = ""


@dataclass
class ShowOne:
    fields: dict[str, Any]
    footer: str = ""
    # What -f json/yaml print, when richer than the fields (e.g. a dry run's whole plan).
    document: Any = None
    exit_code: int = 0


def render(
    result: Listing | ShowOne, fmt: str = "table", columns: tuple[str, ...] = (), sort_column: tuple[str, ...] = (), tty: bool = False
) -> str:
    if isinstance(result, ShowOne):
        if fmt in ("json", "yaml") and result.document is not None:
            return _dump(result.document, fmt)
        listing = Listing(["Property", "Value"], [[k, _cell(v)] for k, v in result.fields.items()], result.footer)
        if columns:
            wanted = set(columns)
            listing.rows = [row for row in listing.rows if row[0] in wanted]
        if fmt in ("json", "yaml"):
            return _dump({row[0]: result.fields[row[0]] for row in listing.rows}, fmt)
        if fmt == "value":
            return "\n".join(_text(row[1]) for row in listing.rows)
        if fmt == "table":  # structured values (cpu_info's JSON) wrap inside their row, not across the terminal
            listing.rows = [[key, _wrapped(result.fields[key])] for key, _value in listing.rows]
        return _render_listing(listing, fmt, (), (), tty)
    if fmt in ("json", "yaml") and result.document is not None:
        return _dump(result.document, fmt)
    return _render_listing(result, fmt, columns, sort_column, tty)


def _render_listing(listing: Listing, fmt: str, columns: tuple[str, ...], sort_column: tuple[str, ...], tty: bool) -> str:
    indexes = [_column_index(listing.columns, c) for c in columns] if columns else list(range(len(listing.columns)))
    rows = listing.rows
    for name in reversed(sort_column):
        key = _column_index(listing.columns, name)
        rows = sorted(rows, key=lambda r: (r[key] is None, _sortable(r[key])))
    names = [listing.columns[i] for i in indexes]
    picked = [[row[i] for i in indexes] for row in rows]
    if fmt in ("json", "yaml"):
        return _dump([dict(zip(names, row, strict=False)) for row in picked], fmt)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[_text(v) for v in row] for row in picked])
        return buffer.getvalue().rstrip("\n")
    if fmt == "value":
        return "\n".join(" ".join(_text(v) for v in row) for row in picked)
    if tty and listing.gauges and not columns:
        return _gauge_table(names, picked, listing.gauges) + (f"\n{terminal_safe(listing.footer)}" if listing.footer else "")
    text = table(names, picked) if names else ""
    if tty:
        text = _colour(text)
    return text + (f"\n{terminal_safe(listing.footer)}" if listing.footer else "")


def table(columns: list[str], rows: list[list[Any]]) -> str:
    cells = [line for row in rows for line in _row_lines(row)]
    if not cells:  # tabulate draws no box for an empty body; Nova still prints the header box
        width = [len(c) for c in columns]
        line = "+" + "+".join("-" * (w + 2) for w in width) + "+"
        head = "|" + "|".join(f" {c} " for c in columns) + "|"
        return "\n".join([line, head, line, line])
    # Imported here, as yaml below: start-up time matters for a CLI run from scripts.
    import tabulate
    from tabulate import DataRow, Line, TableFormat

    tabulate.MIN_PADDING = 0  # prettytable (Nova's CLI) pads a cell by one space, not three
    edge = Line("+", "-", "+", "+")
    nova_table = TableFormat(  # prettytable's layout, as python-novaclient prints it
        lineabove=edge,
        linebelowheader=edge,
        linebetweenrows=None,
        linebelow=edge,
        headerrow=DataRow("|", "|", "|"),
        datarow=DataRow("|", "|", "|"),
        padding=1,
        with_header_hide=None,
    )
    return tabulate.tabulate(cells, headers=columns, tablefmt=nova_table, stralign="left", numalign="left", disable_numparse=True)


def _row_lines(row: list[Any]) -> list[list[str]]:
    """A row as the table lines it takes: a multi-line cell goes on below, inside the same box row, as
    prettytable draws it (tabulate folds lines only for its named formats, not a custom TableFormat)."""
    cell_lines = [_text(v).splitlines() or [""] for v in row]
    return [list(line) for line in zip_longest(*cell_lines, fillvalue="")]


def _column_index(columns: list[str], name: str) -> int:
    for i, column in enumerate(columns):
        if column.lower() == name.lower():
            return i
    raise UsageError(f"no column {name!r} (columns: {', '.join(columns)})")


def _sortable(value: Any) -> Any:
    return (0, value) if isinstance(value, (int, float)) else (1, _text(value))  # numbers first: never compare int with str


def _wrapped(value: Any) -> Any:
    if not isinstance(value, (dict, list)):
        return value
    return textwrap.fill(_text(value), SHOW_WIDTH, break_on_hyphens=False, break_long_words=False)


def _cell(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return terminal_safe(str(value))


# Control characters other than newline (\r\n too) and tab, and the invisible format characters (bidi
# overrides): in a name read from a host they would move the cursor, retitle the terminal or reorder text.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]|\r(?!\n)")


def terminal_safe(text: str) -> str:
    """Text fit for a terminal: each unsafe character shown as its escape (ESC as \\x1b), never sent raw."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        # allow_nan=False: NaN and Infinity are not JSON; the inventory refuses them, so this never fires on input.
        return json.dumps(data, indent=2, default=str, allow_nan=False)
    import yaml

    return yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False).rstrip("\n")


def _colour(text: str) -> str:
    """Down and disabled states stand out on a terminal; pipes get plain text."""
    red, green, reset = "\x1b[31m", "\x1b[32m", "\x1b[0m"
    for word, colour in ((" down ", red), (" XXX ", red), (" disabled ", red), (" up ", green), (" :-) ", green)):
        text = text.replace(word, f"{colour}{word}{reset}")
    return text


GAUGE_WIDTH = 16  # characters of a usage bar


def _gauge_table(columns: list[str], rows: list[list[Any]], gauges: list[Gauge]) -> str:
    """The table with each gauge's used/limit columns drawn as one bar (rich), for a terminal."""
    import shutil

    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    hidden = {g.used for g in gauges} | {g.limit for g in gauges}
    plain = [i for i, name in enumerate(columns) if name not in hidden]
    drawn = Table(box=box.ASCII, show_lines=False, pad_edge=True)
    for i in plain:
        drawn.add_column(columns[i])
    for gauge in gauges:
        drawn.add_column(gauge.label, no_wrap=True)
    for row in rows:
        cells: list[Any] = [Text(terminal_safe(_text(row[i]))) for i in plain]
        for gauge in gauges:
            cells.append(_bar(row[columns.index(gauge.used)], row[columns.index(gauge.limit)], gauge.unit, Text))
        drawn.add_row(*cells)
    console = Console(file=io.StringIO(), force_terminal=True, width=shutil.get_terminal_size().columns, highlight=False)
    console.print(drawn)
    return console.file.getvalue().rstrip("\n")  # type: ignore[attr-defined]


def _bar(used: Any, limit: Any, unit: str, text_type: Any) -> Any:
    if not isinstance(used, (int, float)) or not isinstance(limit, (int, float)) or limit <= 0:
        return text_type("-")
    share = used / limit
    filled = min(GAUGE_WIDTH, round(share * GAUGE_WIDTH))
    style = "green" if share < 0.7 else "yellow" if share < 0.9 else "red"
    bar = text_type("█" * filled, style=style)
    bar.append("░" * (GAUGE_WIDTH - filled), style="dim")
    bar.append(f" {used:g}/{limit:g}{' ' + unit if unit else ''} {share:.0%}")
    return bar
