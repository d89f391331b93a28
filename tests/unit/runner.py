"""The one way unit tests run the CLI: click's CliRunner on novactl's group, exit codes included
(the group maps errors to README's codes itself, so 2, 3 and 4 are seen here as by a user)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from novactl.cli import cli


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run(*argv: str | Path, env: dict[str, str | None] | None = None) -> Run:
    """`novactl ARGV` in-process: exit code, stdout and stderr, separately."""
    result = CliRunner(env=env).invoke(cli, [os.fspath(a) for a in argv], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def invoke(inventory: Path, *args: str, code: int = 0) -> str:
    """`novactl -i INVENTORY ARGS`; asserts the exit code; its stdout."""
    done = run("-i", inventory, *args)
    assert done.exit_code == code, done.stdout + done.stderr
    return done.stdout
