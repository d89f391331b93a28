"""Run the installed `novactl` as an operator would: a subprocess, exit code and streams captured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

# The checkout's own code, not whatever `pip install -e` last pointed at: PYTHONPATH comes before the
# editable-install finder, so a second worktree tests its own tree.
REPO = Path(__file__).resolve().parents[2]
NOVACTL = [sys.executable, "-m", "novactl"]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def novactl(inventory: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*NOVACTL, "-i", str(inventory), *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def novactl_ok(inventory: Path, *args: str, timeout: float = 300) -> str:
    done = novactl(inventory, *args, timeout=timeout)
    assert done.returncode == 0, f"novactl {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def novactl_json(inventory: Path, *args: str) -> Any:
    return json.loads(novactl_ok(inventory, *args, "-f", "json"))


def novactl_killed_at(inventory: Path, step: str, *args: str, timeout: float = 300) -> None:
    """Run novactl with the test-only kill point `step` (novactl/crashpoints.py); it must die there."""
    env = {**ENV, "NOVACTL_TEST_KILL_AT": step}
    done = subprocess.run([*NOVACTL, "-i", str(inventory), *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == -signal.SIGKILL, f"{step}: exited {done.returncode}, not killed:\n{done.stderr[-800:]}"
