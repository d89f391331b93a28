"""cleanup on a scripted libvirt host (fakehost.py): the scan script runs for real, the host's files
and libvirt's domains are checked afterwards."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from novactl.drivers.base import ClusterView
from novactl.drivers.libvirt import guest, metadata, paths
from novactl.models import Network
from tests.unit.drivers.test_libvirt_driver import entries, new_instance, spawn

DEAD = "f" * 16


def test_cleanup_removes_what_a_dead_builder_left_and_keeps_a_live_build_and_a_whole_instance(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    config = host.config
    whole = spawn(driver)  # a finished instance: untouched
    # A build in flight in this process: its claim's builder lock is held, its directory just made.
    live = new_instance("compute1", name="live")
    driver.claim(live, {})
    os.makedirs(host.path(paths.instance_dir(config, live.uuid)))
    # What a SIGKILLed builder left: its claim, an empty directory, a domain still in BUILD, a half-sent base.
    dead = new_instance("compute1", name="dead")
    claims = Path(host.path(paths.claims_dir(config)))
    (claims / f"{dead.uuid}.json").write_text(json.dumps(metadata.to_record(dead, time.time() + 600) | {"builder": DEAD}))
    (Path(host.path(paths.locks_dir(config))) / f"builder-{DEAD}.lock").touch()
    orphan = new_instance("compute1", name="orphan")
    os.makedirs(host.path(paths.instance_dir(config, orphan.uuid)))
    stuck = new_instance("compute1", name="stuck")
    os.makedirs(host.path(paths.instance_dir(config, stuck.uuid)))
    guest.define(driver._host, stuck, [], Network("test", "br-test"), "52:54:00:00:00:02")
    part = Path(host.path(config.base_path)) / f"{paths.base_name('x')}.part-0123abcd"
    part.write_bytes(b"half")

    view = ClusterView(domains={whole.uuid: "compute1", stuck.uuid: "compute1"})
    planned = driver.clean_up(lambda: view, view, dry_run=True)
    assert all(found.action.startswith("would be removed") for found in planned), planned
    assert part.exists() and (claims / f"{dead.uuid}.json").exists()  # a dry run changes nothing

    done = {(found.kind, os.path.basename(found.name)) for found in driver.clean_up(lambda: view, view, dry_run=False)}
    assert done == {
        ("claim", f"{dead.uuid}.json"),
        ("builder lock", f"builder-{DEAD}.lock"),
        ("instance directory", orphan.uuid),
        ("domain", stuck.uuid),
        ("partial base", part.name),
    }
    assert sorted(entries(host, config.instances_path)) == sorted(["_base", whole.uuid, live.uuid])
    assert entries(host, paths.claims_dir(config)) == [f"{live.uuid}.json"]
    assert [d.UUIDString() for d in host.open_libvirt().listAllDomains(0)] == [whole.uuid]
    assert not part.exists()
    assert driver.clean_up(lambda: view, view, dry_run=False) == []  # nothing left to do
