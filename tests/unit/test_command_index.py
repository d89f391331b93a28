"""commands/index.py, from which --help lists commands and the CLI finds a command's module, says what
the command modules define; `novactl --help` and one command import no other command module."""

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
    """The novactl modules a fresh interpreter has imported after running `novactl ARGV`."""
    script = (
        "import json, sys\n"
        "from novactl.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('novactl'))), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *argv], cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(done.stderr.splitlines()[-1]))


def test_help_imports_no_command_module_and_a_command_only_its_own():
    commands = {m for m in _modules_after("--help") if m.startswith("novactl.commands.")}
    assert commands == {"novactl.commands.index"}
    commands = {m for m in _modules_after("flavor-list", "--help") if m.startswith("novactl.commands.")}
    assert commands == {"novactl.commands.index", "novactl.commands.catalog", "novactl.commands.common"}
