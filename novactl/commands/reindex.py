"""Writes index.py from the command modules: `python3 -m novactl.commands.reindex` after adding,
renaming or re-describing a command (tests/unit/test_command_index.py fails until then).

The index lets `novactl --help` list every command, and `novactl CMD` find CMD's module, without
importing the other command modules (each pulls in click options, output and parts of the core).
"""

from __future__ import annotations

import json
import pkgutil
from importlib import import_module
from pathlib import Path

import click

from novactl import commands
from novactl.commands.common import Listed

INDEX = Path(commands.__file__).with_name("index.py")
LINE_LENGTH = 140  # ruff.toml's
SUMMARY_LIMIT = 200  # a command's first sentence in --help, wrapped rather than cut off

HEADER = '''"""Every command: name -> (module, attribute, --help heading, --help summary or None when hidden).

Written by `python3 -m novactl.commands.reindex` from the command modules; do not edit by hand.
"""
'''


def scan() -> dict[str, tuple[str, str, str, str | None]]:
    """Every command defined at the top level of a module of novactl.commands, by name."""
    found: dict[str, tuple[str, str, str, str | None]] = {}
    for module_info in pkgutil.iter_modules(commands.__path__):
        module_name = f"{commands.__name__}.{module_info.name}"
        if module_info.name in ("index", "reindex"):
            continue
        for attribute, value in vars(import_module(module_name)).items():
            if not isinstance(value, Listed) or not isinstance(value, click.Command):
                continue
            if getattr(value.callback, "__module__", module_name) != module_name:
                continue  # imported from the module that defines it
            assert value.name is not None
            if value.name in found:
                raise ValueError(f"command {value.name!r} is defined in {found[value.name][0]} and {module_name}")
            summary = None if value.hidden else value.get_short_help_str(limit=SUMMARY_LIMIT)
            found[value.name] = (module_name, attribute, value.help_group, summary)
    return dict(sorted(found.items()))


def render() -> str:
    """index.py's text, as ruff format leaves it: an entry on one line if it fits, else one part a line."""
    lines = [HEADER, "COMMANDS = {"]
    for name, entry in scan().items():
        parts = [_literal(part) for part in entry]
        line = f"    {_literal(name)}: ({', '.join(parts)}),"
        if len(line) <= LINE_LENGTH:
            lines.append(line)
        else:
            lines += [f"    {_literal(name)}: (", *(f"        {part}," for part in parts), "    ),"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _literal(value: str | None) -> str:
    return "None" if value is None else json.dumps(value, ensure_ascii=False)


if __name__ == "__main__":
    INDEX.write_text(render())
