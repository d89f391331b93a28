"""The program's exit (`python -m novactl`, the console script: `cli.run`): the process ends as soon as the
command is done, without Python unloading its modules, and nothing it printed is lost on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _novactl(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"import sys\n{prelude}sys.argv = ['novactl', *{list(args)!r}]\nimport runpy\nrunpy.run_module('novactl', run_name='__main__')\n"
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def test_output_through_a_pipe_is_whole_and_the_exit_code_kept(fake_cluster: Path) -> None:
    done = _novactl("-i", str(fake_cluster), "flavor-list", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert {row["Name"] for row in json.loads(done.stdout)} >= {"m1.tiny"}
    missing = _novactl("-i", str(fake_cluster), "flavor-show", "no-such-flavor")
    assert missing.returncode == 2 and missing.stderr.startswith("ERROR: ") and missing.stdout == ""


def test_the_process_ends_without_python_tearing_itself_down(fake_cluster: Path) -> None:
    """An atexit handler is the first thing Python's own exit runs: it never does here."""
    done = _novactl("-i", str(fake_cluster), "flavor-list", prelude="import atexit\natexit.register(print, 'torn down')\n")
    assert done.returncode == 0 and "m1.tiny" in done.stdout and "torn down" not in done.stdout
