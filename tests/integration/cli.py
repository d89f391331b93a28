"""Run the installed `novactl` as an operator would: a subprocess, exit code and streams captured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The checkout's own code, not whatever `pip install -e` last pointed at: PYTHONPATH comes before the
# editable-install finder, so a second worktree tests its own tree; PYTHONSAFEPATH keeps `-m` from
# putting the working directory first, where pytest started in another checkout would test that one.
REPO = Path(__file__).resolve().parents[2]
NOVACTL = [sys.executable, "-m", "novactl"]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONSAFEPATH": "1"}


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


def novactl_stopped_at(inventory: Path, step: str, *args: str, timeout: float = 120) -> subprocess.Popen:
    """Start novactl with the test-only stop point `step`; returns once it has stopped itself there
    (SIGSTOP). Continue it with `novactl_continued`."""
    env = {**ENV, "NOVACTL_TEST_STOP_AT": step, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen([*NOVACTL, "-i", str(inventory), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + timeout
    while _state(proc.pid) != "T":
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _out, err = proc.communicate()
            raise AssertionError(f"novactl {' '.join(args)} did not stop at {step} (exit {proc.returncode}):\n{err[-800:]}")
        time.sleep(0.05)
    return proc


def novactl_continued(proc: subprocess.Popen, timeout: float) -> subprocess.CompletedProcess:
    """SIGCONT a novactl stopped by `novactl_stopped_at` and wait (at most `timeout` s) for its end."""
    proc.send_signal(signal.SIGCONT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack: where it hangs
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        raise AssertionError(f"novactl did not finish within {timeout} s after continuing:\n{err[-8000:]}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _state(pid: int) -> str:
    """A process's state letter from /proc (T: stopped); "" once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rindex(")") + 2]
