"""LibvirtDriver against libvirt's test driver and a local scripted host (tests/unit/drivers/fakehost.py).

Commands really run (qemu-img, the poll script, mkdir/rm/mv), so each test checks the host's files
and libvirt's domains, not which functions were called.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import libvirt
import pytest

from novactl.claims import ClaimFailed
from novactl.drivers.base import SpawnRequest
from novactl.drivers.fake import FakeDriver
from novactl.drivers.libvirt import metadata, paths
from novactl.drivers.libvirt.driver import LibvirtDriver
from novactl.errors import HostError, UsageError
from novactl.hoststate import PAUSED, RUNNING, SHUTDOWN, InstanceInfo
from novactl.models import Flavor, HostConfig
from tests.unit.drivers.fakehost import IMAGE_ID, NETWORK, SPECIAL, TINY, FakeHost


def new_instance(host: str, flavor: Flavor = TINY, name: str = "vm") -> InstanceInfo:
    instance_uuid = str(uuid.uuid4())
    return InstanceInfo(
        uuid=instance_uuid,
        name=name,
        host=host,
        flavor=flavor,
        image_id=IMAGE_ID,
        instance_name=f"instance-{instance_uuid[:8]}",
        vm_state="building",
        created="2026-11-25T23:00:00Z",
        networks={NETWORK.name: ["52:54:00:00:00:01"]},
    )


def spawn(driver: LibvirtDriver, flavor: Flavor = TINY, name: str = "vm") -> InstanceInfo:
    instance = new_instance(driver.host.name, flavor, name)
    driver.claim(instance, {})
    image = driver.inventory.image(IMAGE_ID)
    built = driver.spawn(SpawnRequest(instance=instance, image=image, image_source=image.file, network=NETWORK))
    built.vm_state = "active"
    driver.save_state(built)
    return built


def domain(host: FakeHost, instance: InstanceInfo) -> libvirt.virDomain:
    return host.open_libvirt().lookupByUUIDString(instance.uuid)


def state(host: FakeHost, instance: InstanceInfo) -> int:
    return domain(host, instance).info()[0]


def entries(host: FakeHost, path: str) -> list[str]:
    """The names in a directory of the host."""
    here = host.path(path)
    return sorted(os.listdir(here)) if os.path.isdir(here) else []


# -- poll, service flag, groups, claims ----------------------------------------------------------------


def test_poll_reports_the_test_hypervisor_and_an_empty_host(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    report = driver.poll()
    assert (report.node.memory_mb, report.node.vcpus, report.node.hypervisor_type) == (8192, 4, "TEST")
    assert report.node.local_gb == os.statvfs(host.root).f_frsize * os.statvfs(host.root).f_blocks // 1024**3
    assert report.instances == [] and report.cached_images == set() and report.server_groups == []
    assert not report.disabled and report.disabled_reason is None


def test_service_flag_and_server_groups_are_read_back_by_the_next_poll(make_hosts) -> None:
    [(_host, driver)] = make_hosts()
    driver.set_service_status(True, "maintenance")
    record = {"name": "web", "id": "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e", "policy": "anti-affinity", "updated_at": "t", "deleted": False}
    driver.save_server_group(record)
    report = driver.poll()
    assert report.disabled and report.disabled_reason == "maintenance" and report.server_groups == [record]


def test_a_claim_counts_in_polls_until_dropped_and_a_full_host_refuses_the_next(make_hosts) -> None:
    [(_host, driver)] = make_hosts()
    instance = new_instance("compute1", SPECIAL)
    driver.claim(instance, {"memory_mb": 512 + 1024 + 1000})
    [claimed] = driver.poll().instances
    assert claimed.uuid == instance.uuid and claimed.flavor == SPECIAL and claimed.vm_state == "building"
    with pytest.raises(ClaimFailed, match=r"Free memory 1000\.00 MB < requested 1024 MB"):
        driver.claim(new_instance("compute1", SPECIAL), {"memory_mb": 512 + 1024 + 1000})
    driver.drop_claim(instance.uuid)
    assert driver.poll().instances == []


def test_an_expired_claim_no_longer_counts(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = new_instance("compute1")
    record = metadata.to_record(instance, expires=1.0)
    claims = Path(host.path(paths.claims_dir(host.config)))
    claims.mkdir(parents=True)
    (claims / f"{instance.uuid}.json").write_text(json.dumps(record))
    assert driver.poll().instances == []


def test_a_foreign_running_domain_counts_as_memory_and_vcpus_only(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    xml = "<domain type='test'><name>foreign</name><memory unit='MiB'>256</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>"
    host.open_libvirt().defineXML(xml).create()
    report = driver.poll()
    assert report.instances == []
    assert (report.node.extra_memory_mb_used, report.node.extra_vcpus_used) == (256, 2)


# -- spawn and destroy ---------------------------------------------------------------------------------


def test_spawn_builds_disks_xml_and_a_running_domain_and_the_next_poll_sees_it(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver, SPECIAL)
    directory = paths.instance_dir(host.config, instance.uuid)
    assert entries(host, directory) == ["disk", "disk.eph0", "disk.info", "disk.swap", "libvirt.xml"]
    assert entries(host, host.config.base_path) == [paths.base_name(IMAGE_ID)]
    assert state(host, instance) == libvirt.VIR_DOMAIN_RUNNING
    assert host.bridges == {NETWORK.bridge}
    xml = Path(host.path(directory), "libvirt.xml").read_text()
    assert f'<source file="{directory}/disk.swap" />' in xml and 'type="qemu"' in xml  # no KVM on the test driver
    report = driver.poll()
    [seen] = report.instances
    assert (seen.uuid, seen.name, seen.flavor, seen.power_state, seen.vm_state) == (instance.uuid, "vm", SPECIAL, RUNNING, "active")
    assert report.cached_images == {IMAGE_ID}
    assert entries(host, paths.claims_dir(host.config)) == []


def test_a_warm_boot_runs_few_commands(make_hosts) -> None:
    """Cached base and an existing bridge: each remaining command is one round trip over SSH."""
    [(host, driver)] = make_hosts()
    spawn(driver)
    before = len(host.commands)
    spawn(driver, name="second")
    warm = host.commands[before:]
    assert [argv[0] for argv in warm] == [
        *("lock_then_run", "write_file"),  # claim: host lock + live claims read, claim written (the unlock is posted)
        *("sh", "sh"),  # cache hit + directory + base size, disks
        *("ip", "write_files", "rm"),  # bridge up, libvirt.xml + disk.info, claim dropped after define
    ]


def test_a_failed_spawn_undoes_everything_it_made(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = new_instance("compute1", Flavor(id="9", name="m1.nano", ram=64, disk=0, vcpus=1))
    driver.claim(instance, {})
    image = driver.inventory.image(IMAGE_ID)
    host.open_libvirt().defineXML(  # a name clash makes defineXML fail after disks and bridge exist
        f"<domain type='test'><name>{instance.instance_name}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
    )
    with pytest.raises(HostError, match=r"^compute1: spawn failed: .*already exists"):
        driver.spawn(SpawnRequest(instance=instance, image=image, image_source=image.file, network=NETWORK))
    assert entries(host, host.config.instances_path) == ["_base"]  # the cache stays
    assert host.bridges == set() and entries(host, paths.claims_dir(host.config)) == []


def test_a_build_whose_builder_lock_was_lost_fails_and_is_undone(make_hosts) -> None:
    """Once the builder lock behind a claim is gone (over SSH: the remote shell holding it ended), any
    poll or `cleanup` may take the claim for a dead build's and give its capacity away: the build fails."""
    [(host, driver)] = make_hosts()
    instance = new_instance("compute1")
    driver.claim(instance, {})
    [conn] = host.connections
    conn.lose_holds()
    image = driver.inventory.image(IMAGE_ID)
    with pytest.raises(HostError, match=r"^compute1: spawn failed: .*the builder lock behind this build's claim was lost"):
        driver.spawn(SpawnRequest(instance=instance, image=image, image_source=image.file, network=NETWORK))
    assert host.open_libvirt().listAllDomains() == []
    assert entries(host, host.config.instances_path) == ["_base"] and entries(host, paths.claims_dir(host.config)) == []
    assert driver.poll().instances == []
    again = spawn(driver, name="again")  # the next claim takes a new builder lock, and its build succeeds
    assert [i.uuid for i in driver.poll().instances] == [again.uuid]


def test_a_flavor_smaller_than_the_image_fails_the_spawn(make_hosts, image_file) -> None:
    [(host, driver)] = make_hosts()
    big = host.root / "big.qcow2"
    os.system(f"qemu-img create -q -f qcow2 {big} 2G")
    driver.inventory.images[0] = driver.inventory.images[0].__class__(id=IMAGE_ID, name="big", file=str(big))
    instance = new_instance("compute1")
    with pytest.raises(HostError, match="disk \\(1 GB\\) is smaller than the image"):
        driver.spawn(SpawnRequest(instance=instance, image=driver.inventory.images[0], image_source=str(big), network=NETWORK))
    assert entries(host, host.config.instances_path) == ["_base"]


def test_a_spawn_never_touches_an_existing_instance_directory(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = new_instance("compute1")
    taken = Path(host.path(paths.instance_dir(host.config, instance.uuid)))
    taken.mkdir(parents=True)
    (taken / "theirs").write_text("x")
    image = driver.inventory.image(IMAGE_ID)
    with pytest.raises(HostError, match=r"^compute1: spawn failed: .*File exists"):
        driver.spawn(SpawnRequest(instance=instance, image=image, image_source=image.file, network=NETWORK))
    assert entries(host, paths.instance_dir(host.config, instance.uuid)) == ["theirs"]


def test_an_unreadable_base_fails_the_spawn_and_removes_the_new_directory(make_hosts) -> None:
    [(host, driver)] = make_hosts(force_raw_images=False)  # the base stays qcow2, so garbage is not a valid base
    first = spawn(driver)
    Path(host.path(paths.base_file(host.config, IMAGE_ID))).write_bytes(b"garbage")
    instance = new_instance("compute1")
    image = driver.inventory.image(IMAGE_ID)
    with pytest.raises(HostError, match=r"^compute1: spawn failed: .*qemu-img info"):
        driver.spawn(SpawnRequest(instance=instance, image=image, image_source=image.file, network=NETWORK))
    assert entries(host, host.config.instances_path) == sorted(["_base", first.uuid])


def test_destroy_removes_domain_and_directory(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver)
    driver.destroy(instance)
    assert host.open_libvirt().listAllDomains(0) == []
    assert entries(host, host.config.instances_path) == ["_base"]
    driver.destroy(instance)  # twice: nothing left to remove is fine


# -- power verbs and state ------------------------------------------------------------------------------


def test_power_verbs_move_the_domain_through_its_states(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver)
    assert driver.power_off(instance, timeout=5) is True and state(host, instance) == libvirt.VIR_DOMAIN_SHUTOFF
    driver.power_on(instance)
    assert state(host, instance) == libvirt.VIR_DOMAIN_RUNNING
    driver.pause(instance)
    assert state(host, instance) == libvirt.VIR_DOMAIN_PAUSED and driver.poll().instances[0].power_state == PAUSED
    assert driver.power_off(instance, timeout=5) is False  # a paused guest cannot see ACPI: destroyed
    driver.power_on(instance)
    driver.pause(instance)
    driver.unpause(instance)
    assert state(host, instance) == libvirt.VIR_DOMAIN_RUNNING


def test_soft_and_hard_reboot(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver)
    assert driver.reboot(instance, hard=False, timeout=5) == "soft"
    assert driver.reboot(instance, hard=True, timeout=5) == "hard"
    assert state(host, instance) == libvirt.VIR_DOMAIN_RUNNING


def test_suspend_is_a_managed_save_that_resume_restores_and_a_hard_reboot_discards(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver)
    driver.suspend(instance)
    assert state(host, instance) == libvirt.VIR_DOMAIN_SHUTOFF and domain(host, instance).hasManagedSaveImage(0)
    [seen] = driver.poll().instances
    assert seen.metadata == {"managed_save": "1"} and seen.power_state == SHUTDOWN
    driver.resume(instance)
    assert state(host, instance) == libvirt.VIR_DOMAIN_RUNNING and driver.poll().instances[0].metadata == {}
    driver.suspend(instance)
    assert driver.reboot(instance, hard=False, timeout=5) == "hard"  # not running: nothing to shut down softly
    assert not domain(host, instance).hasManagedSaveImage(0) and driver.poll().instances[0].metadata == {}


def test_save_state_writes_the_metadata_a_poll_reads(make_hosts) -> None:
    [(_host, driver)] = make_hosts()
    instance = spawn(driver)
    instance.vm_state, instance.task_state = "error", None
    instance.fault = {"code": "500", "message": "boom", "created": "t"}
    driver.save_state(instance)
    [seen] = driver.poll().instances
    assert seen.vm_state == "error" and seen.fault == instance.fault


def test_verbs_on_an_instance_without_a_domain_name_it(make_hosts) -> None:
    [(_host, driver)] = make_hosts()
    ghost = new_instance("compute1")
    for verb in (driver.power_on, driver.pause, driver.save_state):
        with pytest.raises(HostError, match=f"^compute1: instance {ghost.uuid} has no domain: "):
            verb(ghost)


def test_console_log_whole_or_last_lines(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver)
    Path(host.path(paths.instance_dir(host.config, instance.uuid)), "console.log").write_text("one\ntwo\nthree\n")
    assert driver.console_log(instance, None) == "one\ntwo\nthree\n"
    assert driver.console_log(instance, 2) == "two\nthree" and driver.console_log(instance, 0) == ""
    assert driver.console_log(new_instance("compute1"), None) == ""


# -- moves and snapshots -------------------------------------------------------------------------------


def test_cold_move_to_a_bigger_flavor_then_confirm(make_hosts) -> None:
    (src_host, src), (dst_host, dst) = make_hosts(2)
    instance = spawn(src)
    src.migrate_disk_and_power_off(instance, dst, timeout=5)
    kept = paths.instance_dir(src_host.config, instance.uuid) + "_resize"
    assert entries(src_host, kept) == ["disk", "disk.info", "libvirt.xml"] and src_host.open_libvirt().listAllDomains(0) == []
    moved = InstanceInfo(**{**instance.__dict__, "flavor": SPECIAL, "host": "compute2"})
    image = dst.inventory.image(IMAGE_ID)
    dst.finish_migration(moved, image, image.file, NETWORK, power_on=True)
    target = paths.instance_dir(dst_host.config, instance.uuid)
    assert entries(dst_host, target) == ["disk", "disk.eph0", "disk.swap", "libvirt.xml"]
    assert state(dst_host, instance) == libvirt.VIR_DOMAIN_RUNNING and dst.poll().instances[0].flavor == SPECIAL
    src.confirm_migration(instance.uuid)
    assert entries(src_host, src_host.config.instances_path) == ["_base"]


def test_cold_move_reverted_defines_the_source_again(make_hosts) -> None:
    (src_host, src), (_dst_host, dst) = make_hosts(2)
    instance = spawn(src)
    src.migrate_disk_and_power_off(instance, dst, timeout=5)
    src.finish_revert_migration(instance, power_on=True)
    assert state(src_host, instance) == libvirt.VIR_DOMAIN_RUNNING
    assert entries(src_host, paths.instance_dir(src_host.config, instance.uuid)) == ["disk", "disk.info", "libvirt.xml"]


def test_a_failed_disk_copy_puts_the_source_back_and_leaves_nothing_on_the_target(make_hosts) -> None:
    (src_host, src), (dst_host, dst) = make_hosts(2)
    instance = spawn(src)
    os.makedirs(dst_host.path(paths.instance_dir(dst_host.config, instance.uuid)))  # the target directory is taken
    with pytest.raises(HostError):
        src.migrate_disk_and_power_off(instance, dst, timeout=5)
    assert state(src_host, instance) == libvirt.VIR_DOMAIN_SHUTOFF  # defined again, not started
    assert entries(src_host, paths.instance_dir(src_host.config, instance.uuid)) != []


def test_a_move_whose_target_builder_lock_was_lost_fails_and_the_source_takes_it_back(make_hosts) -> None:
    (src_host, src), (dst_host, dst) = make_hosts(2)
    instance = spawn(src)
    moved = InstanceInfo(**{**instance.__dict__, "host": "compute2"})
    dst.claim(moved, {})
    src.migrate_disk_and_power_off(instance, dst, timeout=5)
    [conn] = dst_host.connections
    conn.lose_holds()
    image = dst.inventory.image(IMAGE_ID)
    with pytest.raises(HostError, match=r"^compute2: finishing the move failed: .*builder lock behind this build's claim was lost"):
        dst.finish_migration(moved, image, image.file, NETWORK, power_on=True)
    assert entries(dst_host, dst_host.config.instances_path) == ["_base"] and dst_host.open_libvirt().listAllDomains() == []
    src.finish_revert_migration(instance, power_on=True)
    assert state(src_host, instance) == libvirt.VIR_DOMAIN_RUNNING


def test_a_failed_finish_removes_what_it_made_on_the_target(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    instance = new_instance("compute1")
    os.makedirs(host.path(paths.instance_dir(host.config, instance.uuid)))  # no disk copied: rebase fails
    image = driver.inventory.image(IMAGE_ID)
    with pytest.raises(HostError, match=r"^compute1: finishing the move failed: "):
        driver.finish_migration(instance, image, image.file, NETWORK, power_on=True)
    assert entries(host, host.config.instances_path) == ["_base"]


def test_moves_only_between_libvirt_hosts(make_hosts) -> None:
    [(_host, driver)] = make_hosts()
    fake = FakeDriver(HostConfig(name="fake1", address="192.0.2.9", driver="fake"), driver.inventory)
    with pytest.raises(UsageError, match=r"^fake1: instances move only between libvirt hosts"):
        driver.migrate_disk_and_power_off(new_instance("compute1"), fake, timeout=5)


def test_live_migration_refused_by_the_hypervisor_leaves_the_target_clean(make_hosts) -> None:
    (src_host, src), (dst_host, dst) = make_hosts(2)
    instance = spawn(src, SPECIAL)
    image = dst.inventory.image(IMAGE_ID)
    with pytest.raises(HostError, match=f"^compute1: live migration of {instance.uuid} to compute2 failed: "):
        src.live_migration(instance, dst, image, image.file, NETWORK)
    assert entries(dst_host, dst_host.config.instances_path) == ["_base"] and dst_host.open_libvirt().listAllDomains(0) == []
    assert state(src_host, instance) == libvirt.VIR_DOMAIN_RUNNING


def test_live_migration_needs_the_same_instances_path(make_hosts, tmp_path) -> None:
    [(_h1, src)] = make_hosts()
    other = FakeHost(tmp_path / "elsewhere", name="compute9", instances_path="/var/lib/novactl/other")
    dst = other.driver(src.inventory)
    with pytest.raises(UsageError, match="different instances_path"):
        src.live_migration(new_instance("compute1"), dst, src.inventory.images[0], "", NETWORK)


def test_snapshot_flattens_the_root_disk_here_and_restores_the_guest(make_hosts, tmp_path) -> None:
    [(host, driver)] = make_hosts()
    instance = spawn(driver)
    out = tmp_path / "snap.qcow2"
    driver.snapshot(instance, "img-1", str(out))
    info = json.loads(os.popen(f"qemu-img info --output=json {out}").read())
    assert info["format"] == "qcow2" and "backing-filename" not in info
    assert state(host, instance) == libvirt.VIR_DOMAIN_RUNNING
    assert entries(host, f"{host.config.state_path}/snapshots") == []


def test_close_is_idempotent_and_closes_the_connection(make_hosts) -> None:
    [(host, driver)] = make_hosts()
    driver.close()
    driver.close()
    assert all(conn.closed for conn in host.connections)
