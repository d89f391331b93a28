"""Edits of the user's inventory file as text: add or remove one item of a top-level list.

The user's file is never re-serialised, so comments, order and quoting stay as written. Only a plain
block sequence (`images:` followed by `- ...` items) is edited; where a list is flow style (`[...]`)
or the edit would not load back, nothing is written and False is returned, and the caller tells the
user what to change by hand. On the built-in default, `writable_inventory` first writes the default
out to the user's config, so there is a file to edit.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from novactl.errors import NovactlError
from novactl.models import Inventory

USER_INVENTORY = Path("~/.config/novactl/inventory.yaml")


def writable_inventory(inventory: Inventory) -> Path:
    """The file to edit: the inventory's own, or, on the built-in default, that default written out
    to ~/.config/novactl/inventory.yaml (which `find_inventory` then reads from now on)."""
    from novactl.inventory import BUILTIN, builtin_text

    if inventory.path != BUILTIN:
        return Path(inventory.path)
    path = USER_INVENTORY.expanduser()
    if not path.exists():  # find_inventory read it if it existed; a race with another novactl loses nothing
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(builtin_text())
    return path


def append_item(path: Path, section: str, entry: dict) -> bool:
    """Add `entry` as the last item of the file's block-style `section:` list (a new section if none)."""
    text = path.read_text()
    root = yaml.compose(text)
    if root is not None and (not isinstance(root, yaml.MappingNode) or root.flow_style):
        return False
    items = _section(root, section)
    body = text if text.endswith("\n") or not text else text + "\n"  # the only change to what the user wrote
    lines = body.splitlines(keepends=True)
    item = yaml.safe_dump([entry], sort_keys=False, default_flow_style=False, width=1 << 16)  # a key stays one line
    if items is None:
        new = body + f"{section}:\n" + _indent(item, 2)
    elif isinstance(items, yaml.SequenceNode) and not items.flow_style and items.value:
        at = _item_end(lines, items, len(items.value) - 1)
        new = "".join(lines[:at]) + _indent(item, items.start_mark.column) + "".join(lines[at:])
    else:
        return False
    return _write_checked(path, text, new)


def remove_item(path: Path, section: str, name: str) -> bool:
    """Remove the item named `name` from the file's block-style `section:` list; the section's key
    too when that was its only item (an empty block list would read as null)."""
    text = path.read_text()
    root = yaml.compose(text)
    items = _section(root, section) if isinstance(root, yaml.MappingNode) else None
    if not isinstance(items, yaml.SequenceNode) or items.flow_style:
        return False
    index = next((i for i, node in enumerate(items.value) if _named(node, name)), None)
    if index is None:
        return False
    lines = text.splitlines(keepends=True)
    if len(items.value) == 1:
        key = next(k for k, v in root.value if v is items)
        start = key.start_mark.line
    else:
        start = items.value[index].start_mark.line
    new = "".join(lines[:start]) + "".join(lines[_item_end(lines, items, index) :])
    return _write_checked(path, text, new)


def _section(root: yaml.Node | None, section: str) -> yaml.Node | None:
    if root is None:
        return None
    return next((value for key, value in root.value if key.value == section), None)


def _named(node: yaml.Node, name: str) -> bool:
    return isinstance(node, yaml.MappingNode) and any(k.value == "name" and v.value == name for k, v in node.value)


def _item_end(lines: list[str], items: yaml.SequenceNode, index: int) -> int:
    """The line after item `index`, less the comments and blank lines that introduce what follows it.
    A block item's own end mark lies on the next item's line, so the next item's start bounds it."""
    node = items.value[index]
    last = index + 1 == len(items.value)
    at = node.end_mark.line + (1 if node.end_mark.column else 0) if last else items.value[index + 1].start_mark.line
    while at > node.start_mark.line + 1 and (not lines[at - 1].strip() or lines[at - 1].lstrip().startswith("#")):
        at -= 1
    return at


def _write_checked(path: Path, old: str, new: str) -> bool:
    from novactl.inventory import load_inventory

    path.write_text(new)
    try:
        load_inventory(str(path))
    except NovactlError:
        path.write_text(old)  # never leave the user's inventory unreadable
        return False
    return True


def _indent(block: str, column: int) -> str:
    return "".join(" " * column + line if line.strip() else line for line in block.splitlines(keepends=True))
