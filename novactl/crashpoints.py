"""Test-only kill points: `NOVACTL_TEST_KILL_AT=<step>` makes the process SIGKILL itself at that step,
and `NOVACTL_TEST_STOP_AT=<step>` makes it SIGSTOP itself there.

The crash-recovery tests kill a command at every named step of boot, delete and the moves, then run
`cleanup` and check that nothing is left behind. SIGKILL, not an exception: no `finally`, no undo,
no atexit runs, exactly as when the machine running novactl loses power. The host-failure tests
stop a command at a step, kill or freeze a host's sshd or libvirtd, then SIGCONT the command and
check that it ends in bounded time and leaves nothing `cleanup` cannot remove. Unset, a step costs
two dictionary lookups.
"""

from __future__ import annotations

import os
import signal

ENV = "NOVACTL_TEST_KILL_AT"
STOP_ENV = "NOVACTL_TEST_STOP_AT"


def step(name: str) -> None:
    """Die, or stop until continued, here if the tests asked for it (`name` is e.g. "boot.defined")."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(STOP_ENV) == name:
        del os.environ[STOP_ENV]  # once: a rescheduled attempt passes the same step again
        os.kill(os.getpid(), signal.SIGSTOP)
