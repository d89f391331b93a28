"""commands/index.py, from which --help lists commands and the CLI finds a command's module, says what
the command modules define; `novactl --help` and one command import no other command module, and a
command that reads only the inventory does not import logging (nothing it runs could log)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from novactl.commands import index, reindex
from tests.unit.runner import run

REPO = Path(__file__).resolve().parents[2]


def test_the_index_is_what_the_command_modules_define():
    assert Path(index.__file__).read_text() == reindex.render(), "run: python3 -m novactl.commands.reindex"


def test_every_indexed_command_runs_its_help():
    for name in index.COMMANDS:
        done = run(name, "--help")
        assert (done.exit_code, done.stderr) == (0, ""), name
        assert done.stdout.startswith(f"Usage: novactl {name} "), name


def _modules_after(*argv: str) -> set[str]:
    """The modules a fresh interpreter has imported after running `novactl ARGV` (which must succeed)."""
    script = (
        "import json, sys\n"
        "from novactl.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit as done:\n    code = done.code\n"
        "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *argv], cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    code, modules = json.loads(done.stderr.splitlines()[-1])
    assert code == 0, (argv, done.stderr)
    return set(modules)


def test_help_imports_no_command_module_and_a_command_only_its_own():
    commands = {m for m in _modules_after("--help") if m.startswith("novactl.commands.")}
    assert commands == {"novactl.commands.index"}
    commands = {m for m in _modules_after("flavor-list", "--help") if m.startswith("novactl.commands.")}
    assert commands == {"novactl.commands.index", "novactl.commands.catalog", "novactl.commands.common"}


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINjMJamD4Gmo6fGT/c6XtvN+Cn4Ewlgu83Q6NrkA1Hsu"


def test_inventory_only_commands_run_without_logging_and_the_others_set_it_up(fake_cluster):
    from importlib import import_module

    fake_cluster.write_text(fake_cluster.read_text() + f"keypairs:\n  - {{name: ops, public_key: {KEY}}}\n")
    arguments = {"flavor-show": ["m1.tiny"], "keypair-show": ["ops"]}
    inventory_only = [
        name for name, (module, attribute, *_) in index.COMMANDS.items() if getattr(import_module(module), attribute).inventory_only
    ]
    assert {"flavor-list", "flavor-show", "image-list", "keypair-list", "keypair-show", "inventory-show", "help"} <= set(inventory_only)
    for name in inventory_only:
        assert "logging" not in _modules_after("-i", str(fake_cluster), name, *arguments.get(name, [])), name
    assert "logging" in _modules_after("-i", str(fake_cluster), "--debug", "flavor-list")
    assert "logging" in _modules_after("-i", str(fake_cluster), "hypervisor-list")
