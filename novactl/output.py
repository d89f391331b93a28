"""The one place results become text: table (Nova's CLI look), json, yaml, csv, value.

Commands return a `Listing` (columns + rows, like cliff's Lister) or a `ShowOne` (one object's
fields, printed as Nova's Property | Value table); this module selects columns (-c), sorts
(--sort-column, by the value's type) and renders with openstackclient's formatter options.
Values stay typed for machines (numbers, lists, null); `Shown` gives one a different face in tables,
and `Listing.notes` are rows only tables show. Colour only on a terminal, and never with NO_COLOR.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from novactl.errors import UsageError, unknown

SHOW_WIDTH = 80  # widest Value cell of a Property | Value table
MIN_FIT_WIDTH = 4  # a column squeezed to fit the terminal keeps at least this many characters
QUOTING = ("all", "minimal", "none", "nonnumeric")  # --quote NAME is csv's QUOTE_NAME


@dataclass(frozen=True, eq=False, repr=False)
class Shown:
    """A value with its own face in tables: machine formats get `value`, tables `text`
    (e.g. None shown as "-", None as "unbounded", a list joined with commas)."""

    value: Any
    text: str


@dataclass(eq=False, repr=False)
class Listing:
    """Rows under columns (cliff's Lister), with what a table shows besides and what stderr gets."""

    columns: list[str]
    rows: list[list[Any]]
    # Text for humans after a table (e.g. a dry run's explanation); never in machine formats.
    footer: str = ""
    exit_code: int = 0  # printed output can still mean failure (a dry run that found no host)
    error: str = ""  # why it failed, for stderr (ERROR: first line, details indented), in every format
    warnings: list[str] = field(default_factory=list)  # for stderr, one WARNING: line each, in every format
    # What -f json/yaml print, when richer than the rows (e.g. a rebalance plan with its scores).
    document: Any = None
    # Rows only a table shows, after the sorted rows: a total, a down host's unknown instances.
    notes: list[list[Any]] = field(default_factory=list)
    # Column pairs a table on a terminal draws as usage bars; every other format keeps the plain columns.
    gauges: list[Gauge] = field(default_factory=list)


@dataclass(frozen=True, eq=False, repr=False)
class Gauge:
    """A used/limit column pair drawn as a usage bar on a terminal table."""

    label: str  # the bar's column heading
    used: str  # the column holding the amount used
    limit: str  # the column holding what may be used (total x allocation ratio)
    unit: str = ""


@dataclass(eq=False, repr=False)
class ShowOne:
    """One object's fields (cliff's ShowOne), printed as Nova's Property | Value table."""

    fields: dict[str, Any]
    footer: str = ""
    # What -f json/yaml print, when richer than the fields (e.g. a dry run's whole plan).
    document: Any = None
    exit_code: int = 0
    error: str = ""  # as Listing.error
    warnings: list[str] = field(default_factory=list)  # as Listing.warnings


@dataclass(eq=False, repr=False)
class Style:
    """openstackclient's formatter options."""

    descending: bool = False  # --sort-descending
    noindent: bool = False  # json on one line
    max_width: int = 0  # table width to fit (0: as wide as the cells)
    quote: str = "minimal"  # csv quoting


def render(
    result: Listing | ShowOne,
    fmt: str = "table",
    columns: tuple[str, ...] = (),
    sort_column: tuple[str, ...] = (),
    tty: bool = False,
    style: Style | None = None,
    colour: bool = True,
) -> str:
    """The result as text; `tty` (a terminal) draws usage bars, and colours the table unless `colour` is
    off (--no-color, NO_COLOR): the caller decides both."""
    style = style or Style()
    if isinstance(result, ShowOne):
        return _render_show(result, fmt, columns, tty and colour, style)
    return _render_listing(result, fmt, columns, sort_column, tty, style, colour)


def _render_show(result: ShowOne, fmt: str, columns: tuple[str, ...], tty: bool, style: Style) -> str:
    keys = list(result.fields)
    wanted = {keys[_column_index(keys, c)] for c in columns}
    picked = [k for k in keys if k in wanted] if columns else keys  # in the object's order
    if fmt in ("json", "yaml"):
        data = result.document if result.document is not None and not columns else {k: _machine(result.fields[k]) for k in picked}
        return _dump(data, fmt, style)
    if fmt == "value":
        return "\n".join(_plain(_machine(result.fields[k])) for k in picked)
    if fmt == "csv":
        return _csv(["Property", "Value"], [[k, _machine(result.fields[k])] for k in picked], style)
    # structured values (cpu_info's JSON) wrap inside their row, not across the terminal
    listing = Listing(["Property", "Value"], [[k, _wrapped(result.fields[k])] for k in picked], result.footer)
    return _render_listing(listing, fmt, (), (), tty, style)


def _render_listing(
    listing: Listing, fmt: str, columns: tuple[str, ...], sort_column: tuple[str, ...], tty: bool, style: Style, colour: bool = True
) -> str:
    indexes = [_column_index(listing.columns, c) for c in columns] if columns else list(range(len(listing.columns)))
    rows = listing.rows
    for name in reversed(sort_column):
        key = _column_index(listing.columns, name)
        present = [r for r in rows if _machine(r[key]) is not None]
        absent = [r for r in rows if _machine(r[key]) is None]  # absent values last, either way
        rows = sorted(present, key=lambda r: _sortable(_machine(r[key])), reverse=style.descending) + absent
    names = [listing.columns[i] for i in indexes]
    if fmt in ("json", "yaml") and listing.document is not None and not columns:
        return _dump(listing.document, fmt, style)
    if fmt in ("json", "yaml", "csv", "value"):
        picked = [[_machine(row[i]) for i in indexes] for row in rows]
        if fmt in ("json", "yaml"):
            return _dump([dict(zip(names, row, strict=False)) for row in picked], fmt, style)
        if fmt == "csv":
            return _csv(names, picked, style)
        return "\n".join(" ".join(_plain(v) for v in row) for row in picked)
    if tty and listing.gauges and not columns:
        picked = [[row[i] for i in indexes] for row in rows]
        return _gauge_table(names, picked, listing.gauges, colour) + (f"\n{terminal_safe(listing.footer)}" if listing.footer else "")
    picked = [[row[i] for i in indexes] for row in rows + listing.notes]
    text = table(names, picked, style.max_width) if names else ""
    if tty and colour:
        text = _colour(text)
    return text + (f"\n{terminal_safe(listing.footer)}" if listing.footer else "")


def _csv(names: list[str], rows: list[list[Any]], style: Style) -> str:
    import csv  # json and csv are imported by the formats that use them: a table needs neither

    buffer = io.StringIO()
    # Only unquoted csv needs an escape character; with quoting, csv would escape backslashes too.
    escape = "\\" if style.quote == "none" else None
    writer = csv.writer(buffer, lineterminator="\n", quoting=getattr(csv, f"QUOTE_{style.quote.upper()}"), escapechar=escape)
    writer.writerow(names)
    writer.writerows([[v if _is_number(v) else _text(v) for v in row] for row in rows])
    return buffer.getvalue().rstrip("\n")


def table(columns: list[str], rows: list[list[Any]], max_width: int = 0) -> str:
    """prettytable's layout, as python-novaclient prints it: one space of padding, left-aligned,
    no number parsing; a header box even for an empty body."""
    heads, texts = list(columns), [[_text(v) for v in row] for row in rows]
    if max_width:
        heads, texts = _fit(heads, texts, max_width)
    head_lines = _row_lines(heads)
    body = [line for row in texts for line in _row_lines(row)]
    widths = [max(len(line[i]) for line in head_lines + body) for i in range(len(heads))]
    edge = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def draw(line: list[str]) -> str:
        return "|" + "|".join(f" {cell:<{w}} " for cell, w in zip(line, widths, strict=True)) + "|"

    return "\n".join([edge, *map(draw, head_lines), edge, *map(draw, body), edge])


def _row_lines(row: list[Any]) -> list[list[str]]:
    """A row as the table lines it takes: a multi-line cell goes on below, inside the same box row, as
    prettytable draws it."""
    cell_lines = [str(v).splitlines() or [""] for v in row]
    return [list(line) for line in zip_longest(*cell_lines, fillvalue="")]


def _fit(columns: list[str], rows: list[list[str]], max_width: int) -> tuple[list[str], list[list[str]]]:
    """Wrap headers and cells so the table is at most max_width wide: the widest column gives way first."""
    cells = [columns, *rows]
    widths = [max(len(line) for row in cells for line in row[i].splitlines() or [""]) for i in range(len(columns))]
    floors = [min(MIN_FIT_WIDTH, w) for w in widths]
    while sum(widths) + 3 * len(widths) + 1 > max_width:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break  # as narrow as it gets
        widths[widest] -= 1
    wrapped = [["\n".join(_wrap(cell, width)) for cell, width in zip(row, widths, strict=True)] for row in cells]
    return wrapped[0], wrapped[1:]


def _wrap(cell: str, width: int) -> list[str]:
    import textwrap  # only tables narrower than their cells wrap

    lines = []
    for line in cell.splitlines() or [""]:
        lines += textwrap.wrap(line, width, break_on_hyphens=False) or [""]
    return lines


def _column_index(columns: list[str], name: str) -> int:
    for i, column in enumerate(columns):
        if column.lower() == name.lower():
            return i
    raise UsageError(unknown(f"no column {name!r} (columns: {', '.join(columns)})", name, columns))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sortable(value: Any) -> Any:
    # By the value's type: numbers by value, then text; never compare an int with a str.
    return (0, value, "") if _is_number(value) else (1, 0, _text(value))


def _machine(value: Any) -> Any:
    return value.value if isinstance(value, Shown) else value


def _wrapped(value: Any) -> Any:
    if isinstance(value, Shown) or not isinstance(value, (dict, list)):
        return value
    import textwrap

    return textwrap.fill(_text(value), SHOW_WIDTH, break_on_hyphens=False, break_long_words=False)


def _plain(value: Any) -> str:
    """-f value: a list of names as `a, b`, null as nothing, a mapping as JSON."""
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(_text(v) for v in value)
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, Shown):
        return terminal_safe(value.text)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True)
    return terminal_safe(str(value))


# Control characters other than newline (\r\n too) and tab, and the invisible format characters (bidi
# overrides): in a name read from a host they would move the cursor, retitle the terminal or reorder text.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]|\r(?!\n)")


def terminal_safe(text: str) -> str:
    """Text fit for a terminal: each unsafe character shown as its escape (ESC as \\x1b), never sent raw."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _dump(data: Any, fmt: str, style: Style) -> str:
    import json

    if fmt == "json":
        # allow_nan=False: NaN and Infinity are not JSON; the inventory refuses them, so this never fires on input.
        return json.dumps(data, indent=None if style.noindent else 2, default=str, allow_nan=False)
    import yaml

    return yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False).rstrip("\n")


def _colour(text: str) -> str:
    """Down and disabled states stand out on a terminal; pipes get plain text."""
    red, green, reset = "\x1b[31m", "\x1b[32m", "\x1b[0m"
    for word, colour in ((" down ", red), (" XXX ", red), (" disabled ", red), (" up ", green), (" :-) ", green)):
        text = text.replace(word, f"{colour}{word}{reset}")
    return text


GAUGE_WIDTH = 16  # characters of a usage bar


def _gauge_table(columns: list[str], rows: list[list[Any]], gauges: list[Gauge], colour: bool) -> str:
    """The table with each gauge's used/limit columns drawn as one bar (rich), for a terminal; with no
    colour the bars stay, drawn with no escape sequence at all."""
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
            used, limit = (_machine(row[columns.index(name)]) for name in (gauge.used, gauge.limit))
            cells.append(_bar(used, limit, gauge.unit, Text))
        drawn.add_row(*cells)
    console = Console(
        file=io.StringIO(),
        force_terminal=True,
        color_system="auto" if colour else None,  # None: no escape sequence, not even dim
        width=shutil.get_terminal_size().columns,
        highlight=False,
    )
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
