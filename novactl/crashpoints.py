"""Test-only kill points: `NOVACTL_TEST_KILL_AT=<step>` makes the process SIGKILL itself at that step.

The crash-recovery tests kill a command at every named step of boot, delete and the moves, then run
`cleanup` and check that nothing is left behind. SIGKILL, not an exception: no `finally`, no undo,
no atexit runs, exactly as when the machine running novactl loses power. Unset, a step costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "NOVACTL_TEST_KILL_AT"


def step(name: str) -> None:
    """Die here if the tests asked for it (`name` is e.g. "boot.defined")."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
