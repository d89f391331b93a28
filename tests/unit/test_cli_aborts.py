"""What the CLI does with the exceptions click's `main` would turn into a bare "Aborted." (exit 1): an
EOFError from novactl's own code is an internal error (one ERROR line, the traceback only with
--debug), Ctrl-C exits 130 (README's exit codes), and only a prompt's Ctrl-D is "Aborted."."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from tests.unit.runner import run


def _raising(exc: BaseException):
    def raise_it(*_args: object) -> None:
        raise exc

    return raise_it


@pytest.fixture
def flavor_list_raising(monkeypatch: pytest.MonkeyPatch):
    """flavor-list, its swap column raising the given exception (as a dropped SSH connection raises EOFError deep in a command)."""

    def rigged(exc: BaseException) -> None:
        monkeypatch.setattr("novactl.commands.catalog._swap", _raising(exc))

    return rigged


def test_an_eoferror_from_a_command_is_one_error_line_naming_it_and_exit_1(fake_cluster, flavor_list_raising):
    flavor_list_raising(EOFError())
    done = run("-i", fake_cluster, "flavor-list")
    assert done.exit_code == 1
    assert done.stderr == "ERROR: internal error: EOFError (no message); --debug shows where\n"
    assert done.stdout == ""


def test_an_eoferror_with_a_message_shows_it_and_debug_adds_the_traceback(fake_cluster, flavor_list_raising):
    flavor_list_raising(EOFError("Socket is closed"))
    done = run("-i", fake_cluster, "flavor-list")
    assert (done.exit_code, done.stderr) == (1, "ERROR: internal error: EOFError: Socket is closed; --debug shows where\n")
    # --debug in a process of its own: logging writes to the stderr it found when first configured.
    code = (
        "import novactl.commands.catalog as catalog\n"
        "def swap(flavor):\n    raise EOFError('Socket is closed')\n"
        "catalog._swap = swap\n"
        "from novactl.cli import main\n"
        f"main(['--debug', '-i', {str(fake_cluster)!r}, 'flavor-list'])\n"
    )
    debug = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = debug.stderr.splitlines()
    assert debug.returncode == 1 and "Aborted" not in debug.stderr, debug.stderr
    at = lines.index("Traceback (most recent call last):")
    assert lines[at - 1].endswith(" ERROR novactl [-] internal error") and '  File "<string>", line 3, in swap' in lines[at:]
    assert lines[-2:] == ["EOFError: Socket is closed", "ERROR: internal error: EOFError: Socket is closed; --debug shows where"]


def test_an_eoferror_click_catches_outside_a_command_is_an_internal_error_too(fake_cluster, monkeypatch):
    monkeypatch.setattr("novactl.cli.hoist_global_options", _raising(EOFError()))  # while click parses the arguments
    done = run("-i", fake_cluster, "flavor-list")
    assert done.exit_code == 1 and "Aborted" not in done.stderr
    assert done.stderr.strip() == "ERROR: internal error: EOFError (no message); --debug shows where"


def test_ctrl_c_exits_130_without_aborted_or_a_traceback(fake_cluster, flavor_list_raising):
    flavor_list_raising(KeyboardInterrupt())
    done = run("-i", fake_cluster, "flavor-list")
    assert (done.exit_code, done.stdout, done.stderr) == (130, "", "\n")


def test_a_prompts_ctrl_d_is_aborted_and_its_ctrl_c_130(fake_cluster, monkeypatch):
    # click.prompt reading the end of stdin (CliRunner's is empty) raises click.Abort `from None`.
    monkeypatch.setattr("novactl.commands.catalog._swap", lambda _flavor: click.prompt("Swap"))
    done = run("-i", fake_cluster, "flavor-list")
    assert done.exit_code == 1 and done.stderr.endswith("Aborted.\n") and "ERROR" not in done.stderr

    def interrupted_prompt(_flavor: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort() from None  # what click.prompt does with Ctrl-C

    monkeypatch.setattr("novactl.commands.catalog._swap", interrupted_prompt)
    assert run("-i", fake_cluster, "flavor-list").exit_code == 130
