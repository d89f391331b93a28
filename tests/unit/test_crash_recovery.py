"""Crash recovery without hosts: claim liveness (builder locks) and cleanup's decisions."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.cli import cli
from novactl.drivers.base import ClusterView
from novactl.drivers.libvirt import builders
from novactl.drivers.libvirt.leftovers import SECTION, Facts, Step, decide, parse_scan

U1 = "11111111-1111-4111-8111-111111111111"
U2 = "22222222-2222-4222-8222-222222222222"
LIVE, DEAD = "a" * 16, "b" * 16


def future() -> float:
    """Ten minutes from now, read when a test runs (the suite may run long after collection)."""
    return time.time() + 600


def claim(uuid: str, builder: str | None = LIVE, expires: float | None = None) -> dict:
    record = {"uuid": uuid, "expires": future() if expires is None else expires}
    if builder is not None:
        record["builder"] = builder
    return record


# -- liveness -------------------------------------------------------------------------------------------


def test_a_claim_counts_only_while_its_builder_lives_and_it_has_not_expired() -> None:
    assert builders.is_live(claim(U1), {LIVE})
    assert not builders.is_live(claim(U1, DEAD), {LIVE})
    assert not builders.is_live(claim(U1, expires=time.time() - 1), {LIVE})
    assert builders.is_live(claim(U1, builder=None), set())  # written before builder locks: expiry only
    assert not builders.is_live(claim(U1, builder=None, expires=time.time() - 1), set())


@pytest.mark.parametrize("bad", [["x"], {"a": 1}, 7, None])
def test_strange_builder_or_expiry_values_never_count_and_never_crash(bad: object) -> None:
    assert not builders.is_live({"uuid": U1, "expires": future(), "builder": bad}, {LIVE}) or bad is None
    assert not builders.is_live({"uuid": U1, "expires": bad, "builder": LIVE}, {LIVE})
    assert not builders.in_flight({"uuid": U1, "expires": future(), "builder": bad}, {LIVE}) or bad is None


def test_in_flight_ignores_expiry_while_the_builder_lives() -> None:
    assert builders.in_flight(claim(U1, expires=0), {LIVE})
    assert not builders.in_flight(claim(U1, DEAD), {LIVE})


def test_only_well_formed_lock_names_are_live_builders() -> None:
    listing = f"builder-{LIVE}.lock\nbuilder-../x.lock\nhost.lock\nbuilder-{DEAD}.lockx\n"
    assert builders.parse_live(listing) == {LIVE}


def test_the_live_builders_script_lists_held_locks_only(tmp_path) -> None:
    held, free = tmp_path / f"builder-{LIVE}.lock", tmp_path / f"builder-{DEAD}.lock"
    free.touch()
    holder = subprocess.Popen(["flock", str(held), "sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        while not held.exists() or subprocess.run(["flock", "-n", str(held), "true"]).returncode == 0:
            assert time.monotonic() < deadline, "flock never took the lock"
            time.sleep(0.05)
        out = subprocess.run(["sh", "-c", f'L="$1"; {builders.LIVE_BUILDERS}; exit 0', "sh", str(tmp_path)], capture_output=True, text=True)
    finally:
        holder.kill()
        holder.wait()
    assert builders.parse_live(out.stdout) == {LIVE}


def test_a_dead_builder_stays_dead_while_another_poll_probes_its_lock(tmp_path) -> None:
    """Two polls probe the same locks at once; one's probe must not make the other see a live builder."""
    dead = tmp_path / f"builder-{DEAD}.lock"
    dead.touch()
    with open(dead) as probing:  # another poll's probe, caught in its instant on the lock
        fcntl.flock(probing, fcntl.LOCK_SH)
        out = subprocess.run(["sh", "-c", f'L="$1"; {builders.LIVE_BUILDERS}; exit 0', "sh", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert builders.parse_live(out.stdout) == set()


# -- cleanup's decisions ---------------------------------------------------------------------------------


def verbs(steps: list[Step]) -> dict[str, str]:
    return {step.name: step.verb for step in steps}


def test_a_dead_builders_claim_directory_and_build_domain_go_a_live_builds_stay() -> None:
    facts = Facts(
        claims={f"{U1}.json": claim(U1, DEAD), f"{U2}.json": claim(U2, LIVE)},
        live_builders={LIVE},
        builder_locks=[f"builder-{DEAD}.lock", f"builder-{LIVE}.lock"],
        dirs={U1: "x", U2: "-"},
        domains={U1: "building"},
    )
    assert verbs(decide("h1", facts, ClusterView(), set())) == {
        f"{U1}.json": "remove-claim",
        f"builder-{DEAD}.lock": "remove-lock",
        U1: "remove-domain",  # and its directory; U2 (directory, no domain yet) is a build in flight
    }


def test_a_build_in_flight_on_another_host_protects_its_uuid_here() -> None:
    facts = Facts(dirs={U1: "-"})
    assert decide("h1", facts, ClusterView(live_claims={U1}), set()) == []


def test_directories_without_a_domain() -> None:
    facts = Facts(dirs={U1: "xd", U2: "-"})
    assert verbs(decide("h1", facts, ClusterView(), set())) == {U1: "remove-dir", U2: "remove-dir"}
    # A finished build's directory whose domain is on another host: a move's leftover.
    facts = Facts(dirs={U1: "x"}, xml_states={U1: "active"})
    assert verbs(decide("h1", facts, ClusterView(domains={U1: "h2"}), set())) == {U1: "remove-dir"}
    # No domain anywhere: maybe the only copy -> defined again; kept while a host is down.
    assert verbs(decide("h1", facts, ClusterView(), set())) == {U1: "define"}
    assert verbs(decide("h1", facts, ClusterView(down=["h3"]), set())) == {U1: "keep"}
    # libvirt.xml still says BUILD: the build died between writing it and defining.
    facts = Facts(dirs={U1: "x"}, xml_states={U1: "building"})
    assert verbs(decide("h1", facts, ClusterView(domains={}), set())) == {U1: "remove-dir"}


def test_a_resize_source_is_kept_in_verify_resize_and_restored_otherwise() -> None:
    source = f"{U1}_resize"
    assert decide("h1", Facts(dirs={source: "x"}), ClusterView(domains={U1: "h2"}), set()) == []
    assert decide("h1", Facts(dirs={source: "x"}), ClusterView(live_claims={U1}), set()) == []
    assert verbs(decide("h1", Facts(dirs={source: "x"}), ClusterView(), set())) == {source: "move-back"}
    assert verbs(decide("h1", Facts(dirs={source: "x"}), ClusterView(down=["h2"]), set())) == {source: "keep"}
    # Killed between the rename and the undefine: the domain is still here.
    facts = Facts(dirs={source: "x"}, domains={U1: "active"})
    assert verbs(decide("h1", facts, ClusterView(domains={U1: "h1"}), set())) == {source: "move-back"}
    # Same-host resize killed mid-copy: the partial target goes first, then the source comes back.
    facts = Facts(dirs={source: "x", U1: "-"})
    steps = decide("h1", facts, ClusterView(), set())
    assert [(s.name, s.verb) for s in steps] == [(U1, "remove-dir"), (source, "move-back")]


def test_partial_bases_taps_and_bridges() -> None:
    facts = Facts(
        partial_bases=["a" * 40 + ".part-0123abcd"],
        taps=["tap11111111-11", "tap22222222-22"],
        links={U2: {"tap22222222-22", "br-used"}},
        bridges={
            "br-novactl": ("novactl", set()),
            "br-admin": ("-", set()),
            "br-used": ("novactl", set()),
            "br-ports": ("novactl", {"eth1"}),
        },
    )
    found = verbs(decide("h1", facts, ClusterView(), {"br-novactl", "br-admin", "br-used", "br-ports"}))
    assert found == {"a" * 40 + ".part-0123abcd": "remove-part", "tap11111111-11": "remove-link", "br-novactl": "remove-link"}
    # A bridge used only by a BUILD domain that goes now goes too.
    facts.domains, facts.links = {U2: "building"}, {U2: {"br-used", "tap22222222-22"}}
    facts.bridges["br-used"] = ("novactl", {"tap22222222-22"})  # the BUILD domain's port goes with it
    assert verbs(decide("h1", facts, ClusterView(), {"br-used"}))["br-used"] == "remove-link"
    # A directory that stays (here a cold move's source, restored now) will need the bridge again.
    facts.dirs = {f"{U1}_resize": "x"}
    assert "br-used" not in verbs(decide("h1", facts, ClusterView(), {"br-used"}))
    facts.dirs = {}
    # A build in flight on the host may be about to use the bridge.
    facts.claims = {f"{U1}.json": claim(U1)}
    facts.live_builders = {LIVE}
    assert "br-novactl" not in verbs(decide("h1", facts, ClusterView(), {"br-novactl"}))


def test_unreadable_claim_files_are_removed() -> None:
    facts = Facts(claims={f"{U1}.json": None, f"{U1}.json.tmp-0123abcd": None})
    assert set(verbs(decide("h1", facts, ClusterView(), set())).values()) == {"remove-claim"}


# -- commands ---------------------------------------------------------------------------------------------


def test_cleanup_and_reset_state_are_commands_with_documented_exit_codes(tmp_path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "hosts:\n  - {name: f1, address: 10.0.0.1, driver: fake, facts: {memory_mb: 4096, vcpus: 4, local_gb: 40,"
        " instances: [{name: vm1, flavor: m1.tiny}]}}\n"
        "flavors:\n  - {id: '1', name: m1.tiny, ram: 512, disk: 1, vcpus: 1}\n"
    )
    runner = CliRunner()
    done = runner.invoke(cli, ["-i", str(inventory), "cleanup", "--dry-run", "-f", "json"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "[]"  # a fake host keeps nothing
    assert runner.invoke(cli, ["-i", str(inventory), "cleanup", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["-i", str(inventory), "reset-state", "nope"]).exit_code == 4
    done = runner.invoke(cli, ["-i", str(inventory), "reset-state", "vm1"])
    assert done.exit_code == 2  # a fake host cannot change instances
    assert "cannot change instances" in done.output


def test_a_kill_point_kills_only_at_its_step() -> None:
    code = "from novactl import crashpoints; crashpoints.step('a'); print('alive'); crashpoints.step('b'); print('not reached')"
    env = {**os.environ, "NOVACTL_TEST_KILL_AT": "b"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == -9 and done.stdout == "alive\n"


def test_a_delete_killed_before_the_undefine_leaves_the_instance_unmarked() -> None:
    facts = Facts(dirs={U1: "xd"}, domains={U1: "active"})
    assert verbs(decide("h1", facts, ClusterView(domains={U1: "h1"}), set())) == {U1: "unmark"}


# -- what a host says is validated like input ---------------------------------------------------------------

SAFE = re.compile(r"[0-9a-f-]{36}(_resize)?")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=60), max_size=12), st.integers(0, 6))
def test_any_scan_output_parses_and_keeps_only_names_novactl_makes(lines: list[str], sections: int) -> None:
    text = "\n".join(lines[: len(lines) // 2] + [SECTION] * sections + lines[len(lines) // 2 :]) + "\n"
    facts = parse_scan(text)
    assert all(SAFE.fullmatch(name) for name in facts.dirs)
    assert all("/" not in name and not name.startswith(".") for name in [*facts.claims, *facts.builder_locks, *facts.partial_bases])
    assert all(record is None or isinstance(record, dict) for record in facts.claims.values())
    decide("h1", facts, ClusterView(), {"br-novactl"})  # never raises on what it parsed


def test_a_claim_naming_another_uuid_or_a_path_is_not_a_claim() -> None:
    text = "\n".join(
        [
            f"../{U1} x",
            SECTION,
            f'{U1}.json {{"uuid": "../victim", "expires": 1e300}}',
            f'{U2}.json {{"uuid": "{U2}", "builder": "{LIVE}", "expires": 1e300}}',
            SECTION,
            f"builder-{LIVE}.lock",
        ]
    )
    facts = parse_scan(text)
    assert facts.dirs == {} and facts.claims[f"{U1}.json"] is None and facts.claims[f"{U2}.json"]["uuid"] == U2
    assert verbs(decide("h1", facts, ClusterView(), set())) == {f"{U1}.json": "remove-claim"}


def test_a_late_defined_copy_of_a_failed_cold_move_goes_the_put_back_source_stays() -> None:
    """A frozen target libvirtd defines the moved instance after the move failed and put it back."""
    facts = Facts(dirs={U1: "x"}, domains={U1: "resized"})
    view = ClusterView(domains={U1: "h1"}, copies={U1: {"h1", "h2"}})
    assert verbs(decide("h2", facts, view, set())) == {U1: "remove-domain"}
    assert decide("h1", Facts(dirs={U1: "x"}, domains={U1: "active"}), view, set()) == []  # the source
    assert decide("h2", facts, ClusterView(domains={U1: "h2"}), set()) == []  # VERIFY_RESIZE: the only domain
    assert decide("h2", facts, ClusterView(domains={U1: "h1"}, copies={U1: {"h1", "h2"}}, live_claims={U1}), set()) == []
