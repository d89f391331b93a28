"""Declarative XML: one dataclass per element, whose fields say where each value lives.

The same description builds the element and parses it back (virt-manager's virtinst does this with
XMLBuilder and XMLProperty), so writer and reader cannot drift apart. A field's path is relative to
its element:

- `value("@type")`: an attribute; `value("name")`: a child's text; `value("os/type/@arch")`: an
  attribute of a descendant. Descendants are created in field order, and found again by later fields.
- `flag("features/acpi")`: the element is present (True) or absent (False).
- `child("devices")`: nested element(s) of the field's XMLElement type inside a container ("" for
  the element itself); a `list[...]` field holds every such element.
- `attrs("fault")`: every attribute of a descendant, as a dict (free-form records).

An absent value (None, False, an empty list or dict) writes nothing, and nothing found parses to the
field's default. Text is parsed to the field's type (`int` or `str`).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
import xml.etree.ElementTree as ET
from typing import Any, ClassVar, Self

_KEY = "novactl.xml"


@dataclasses.dataclass(frozen=True)
class _Where:
    kind: str  # value | flag | child | attrs
    path: str


def value(path: str, default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={_KEY: _Where("value", path)})


def flag(path: str, default: bool = True) -> Any:
    return dataclasses.field(default=default, metadata={_KEY: _Where("flag", path)})


def child(container: str = "", many: bool = True) -> Any:
    if many:
        return dataclasses.field(default_factory=list, metadata={_KEY: _Where("child", container)})
    return dataclasses.field(default=None, metadata={_KEY: _Where("child", container)})


def attrs(path: str) -> Any:
    return dataclasses.field(default=None, metadata={_KEY: _Where("attrs", path)})


class XMLElement:
    """Base of the declarative classes: set TAG (and NAMESPACE), declare fields with the helpers above."""

    TAG: ClassVar[str]
    NAMESPACE: ClassVar[str | None] = None

    @classmethod
    def _q(cls, tag: str) -> str:
        return f"{{{cls.NAMESPACE}}}{tag}" if cls.NAMESPACE else tag

    def to_element(self) -> ET.Element:
        root = ET.Element(self._q(self.TAG))
        for f, where in _described(type(self)):
            data = getattr(self, f.name)
            if data is None or data is False or (isinstance(data, (list, dict)) and not data):
                continue
            steps, attr = _split(where.path)
            element = self._descend(root, steps, create=True)
            assert element is not None
            if where.kind == "child":
                element.extend(item.to_element() for item in (data if isinstance(data, list) else [data]))
            elif where.kind == "attrs":
                element.attrib.update({k: str(v) for k, v in data.items()})
            elif where.kind == "value" and attr:
                element.set(attr, str(data))
            elif where.kind == "value":
                element.text = str(data)
        return root

    @classmethod
    def from_element(cls, root: ET.Element) -> Self:
        hints = _hints(cls)
        found: dict[str, Any] = {}
        for f, where in _described(cls):
            steps, attr = _split(where.path)
            element = cls._descend(root, steps, create=False)
            if where.kind == "child":
                item_type, many = _item_type(hints[f.name])
                items = [] if element is None else element.findall(item_type._q(item_type.TAG))
                if many:
                    found[f.name] = [item_type.from_element(e) for e in items]
                elif items:
                    found[f.name] = item_type.from_element(items[0])
            elif where.kind == "flag":
                found[f.name] = element is not None
            elif element is not None and where.kind == "attrs":
                found[f.name] = dict(element.attrib)
            elif element is not None:
                raw = element.get(attr) if attr else element.text
                if raw is not None:
                    found[f.name] = int(raw) if _scalar_type(hints[f.name]) is int else raw
        return cls(**found)

    @classmethod
    def _descend(cls, root: ET.Element, steps: list[str], create: bool) -> ET.Element | None:
        element = root
        for step in steps:
            below = element.find(cls._q(step))
            if below is None:
                if not create:
                    return None
                below = ET.SubElement(element, cls._q(step))
            element = below
        return element


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # evaluated once per class: a poll parses every guest's metadata


@functools.cache
def _described(cls: type) -> list[tuple[dataclasses.Field, _Where]]:
    return [(f, f.metadata[_KEY]) for f in dataclasses.fields(cls) if _KEY in f.metadata]


def _split(path: str) -> tuple[list[str], str | None]:
    steps = [s for s in path.split("/") if s]
    if steps and steps[-1].startswith("@"):
        return steps[:-1], steps[-1][1:]
    return steps, None


def _item_type(hint: Any) -> tuple[type[XMLElement], bool]:
    """(element class, many) of a child field typed `list[C]`, `C` or `C | None`."""
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    return _scalar_type(hint), False


def _scalar_type(hint: Any) -> Any:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint
