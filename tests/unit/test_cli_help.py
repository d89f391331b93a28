"""Help that teaches: commands grouped as novaclient groups them, examples, `novactl help CMD`,
global options after the command, and "did you mean" for a mistyped command."""

from __future__ import annotations

from novactl.cli import hoist_global_options, spell_long
from tests.unit.runner import invoke, run


def test_help_groups_commands_under_novaclients_headings_in_order():
    done = run("--help")
    assert (done.exit_code, done.stderr) == (0, "")
    headings = [line for line in done.stdout.splitlines() if line.endswith(":") and not line.startswith(" ")]
    groups = ["Servers:", "Scheduling:", "Hosts:", "Images and flavors:", "Server groups:", "Keypairs and access:", "Other:"]
    assert headings == ["Options:", *groups]
    server_groups = done.stdout.split("Server groups:\n")[1].split("\n\n")[0]
    assert server_groups == (
        "  server-group-create  Create a server group (stored on every reachable host).\n"
        "  server-group-delete  Delete a server group (refused while it has members).\n"
        "  server-group-list    List server groups with their members.\n"
        "  server-group-show    Show a server group: policy, members and the hosts they\n"
        "                       run on."
    )


def test_help_summaries_are_not_cut_off():
    commands = run("--help").stdout.split("Servers:\n")[1]
    assert "..." not in commands
    stop = "  stop            Stop servers: ACPI shutdown, destroyed after --timeout (Nova's\n                  clean shutdown).\n"
    assert stop in commands


def test_every_command_has_examples_that_name_it():
    listing = run("--help").stdout.split("Servers:\n")[1].splitlines()
    names = [line.split()[0] for line in listing if line.startswith("  ") and line[2] != " "]
    assert "boot" in names and "capacity" in names
    for name in names:
        text = run(name, "--help").stdout
        examples = text.split("Examples:\n")[1].splitlines()
        assert examples and all(line.startswith("  novactl ") for line in examples), name
        assert any(line.split()[1] == name for line in examples), name


def test_help_command_shows_a_commands_help():
    done = run("help", "help")
    assert (done.exit_code, done.stderr) == (0, "")
    assert done.stdout == (
        "Usage: novactl help [OPTIONS] COMMAND\n"
        "\n"
        "  Show the help of COMMAND (or of novactl).\n"
        "\n"
        "Options:\n"
        "  -h, --help  Show this message and exit.\n"
        "\n"
        "Examples:\n"
        "  novactl help boot\n"
        "  novactl help\n"
    )
    assert run("help", "flavor-show").stdout == run("flavor-show", "--help").stdout


def test_help_without_a_command_is_novactls_help():
    assert run("help").stdout == run("--help").stdout


def test_help_of_an_unknown_command_suggests_the_closest():
    done = run("help", "flavor-shwo")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "ERROR: No such command 'flavor-shwo'. Did you mean 'flavor-show'?\n  Try 'novactl --help' for help.\n"


def test_mistyped_command_suggests_the_closest():
    done = run("hypervisor-lst")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "ERROR: No such command 'hypervisor-lst'. Did you mean 'hypervisor-list'?\n  Try 'novactl --help' for help.\n"


def test_global_options_after_the_command(fake_cluster):
    expected = "m1.tiny\nm1.small\nm1.special\n"
    assert invoke(fake_cluster, "flavor-list", "-f", "value", "-c", "Name") == expected
    for args in (["-i", str(fake_cluster)], [f"--inventory={fake_cluster}"], ["--inventory", str(fake_cluster), "--no-color"]):
        done = run("flavor-list", "-f", "value", *args, "-c", "Name")
        assert (done.exit_code, done.stdout, done.stderr) == (0, expected, "")


def test_hoisting_moves_only_global_options_and_stops_at_double_dash():
    assert hoist_global_options(["show", "web1", "-i", "x.yaml", "--debug", "-f", "json"]) == [
        "-i",
        "x.yaml",
        "--debug",
        "show",
        "web1",
        "-f",
        "json",
    ]
    assert hoist_global_options(["-i", "a.yaml", "show", "--", "-i"]) == ["-i", "a.yaml", "show", "--", "-i"]
    assert hoist_global_options(["--debug"]) == ["--debug"]


def test_short_global_options_reach_click_spelled_long_with_the_same_values():
    assert spell_long(["-i", "-i", "--debug", "show", "-i", "x"]) == ["--inventory", "-i", "--debug", "show", "-i", "x"]
    assert spell_long(["-ix.yaml", "show"]) == ["--inventory=x.yaml", "show"]
    assert spell_long(["-i=x.yaml", "show"]) == ["--inventory==x.yaml", "show"]  # click's value "=x.yaml" either way
    assert spell_long(["--", "-i", "x"]) == ["--", "-i", "x"]
    assert spell_long(["-i"]) == ["--inventory"]  # click still says the option needs a value


def test_short_inventory_option_attached_or_after_the_command(fake_cluster):
    expected = invoke(fake_cluster, "flavor-list", "-f", "value", "-c", "Name")
    for args in ([f"-i{fake_cluster}", "flavor-list"], ["flavor-list", "-i", str(fake_cluster)]):
        done = run(*args, "-f", "value", "-c", "Name")
        assert (done.exit_code, done.stdout, done.stderr) == (0, expected, "")


def complete(fake_cluster, words: str) -> list[str]:
    """What bash completion offers for the last word of `novactl -i INVENTORY WORDS`."""
    line = f"novactl -i {fake_cluster} {words}"
    cword = len(line.split()) - (0 if line.endswith(" ") else 1)
    env = {"_NOVACTL_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(cword)}
    done = run(env=env)
    assert done.exit_code == 0, done.stderr
    return [item.split(",", 1)[1] for item in done.stdout.splitlines() if item]


def test_completion_offers_names_from_the_inventory(fake_cluster):
    assert complete(fake_cluster, "boot vm --flavor m1.s") == ["m1.small", "m1.special"]
    assert complete(fake_cluster, "boot vm --flavor m1.tiny --image ") == ["cirros", "ubuntu"]
    assert complete(fake_cluster, "hypervisor-show compute") == ["compute1", "compute2", "compute3"]
    assert complete(fake_cluster, "flavor-show m1.t") == ["m1.tiny"]
    assert complete(fake_cluster, "hypervisor-l") == ["hypervisor-list"]


def test_completion_of_a_broken_inventory_offers_nothing(write_inventory):
    assert complete(write_inventory("hosts: [\n"), "flavor-show ") == []
