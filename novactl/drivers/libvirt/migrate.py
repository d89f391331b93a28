"""Moving an instance between libvirt hosts: cold (resize, migrate), live, and disk snapshots.

Names follow nova/virt/libvirt/driver.py. Cold moves keep the source's directory as `<uuid>_resize`
(with the inactive domain XML in it) until the move is confirmed or reverted, as Nova does.

No secret ever goes to a host, so hosts cannot reach each other over SSH: disk files are relayed
through the machine running novactl, and live migration is client-managed (novactl holds both
libvirt connections) with QEMU's stream and the NBD disk copy going host-to-host on ports the target
libvirtd opens for that one migration.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from typing import TYPE_CHECKING

import libvirt

from novactl.drivers.libvirt import domain_xml, imagecache, paths, power, spawn
from novactl.errors import HostError, UsageError
from novactl.hoststate import InstanceInfo
from novactl.models import Image, Network
from novactl.remote import Connection

if TYPE_CHECKING:
    from novactl.drivers.libvirt.driver import LibvirtDriver

LOG = logging.getLogger("novactl.virt.libvirt.driver")
DISKS = (("disk", "vda"), ("disk.eph0", "vdb"), ("disk.swap", "vdc"))  # as spawn names them
LIVE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_NON_SHARED_INC  # copy the overlays only: the target has the same base
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)


def peer(dest: object) -> LibvirtDriver:
    """The other host of a move, which must be a libvirt host too."""
    from novactl.drivers.libvirt.driver import LibvirtDriver

    if not isinstance(dest, LibvirtDriver):
        raise UsageError(f"{getattr(dest, 'host', dest)}: instances move only between libvirt hosts")
    return dest


def resize_dir(driver: LibvirtDriver, instance_uuid: str) -> str:
    return paths.instance_dir(driver.host, instance_uuid) + "_resize"


# -- cold moves --------------------------------------------------------------------------------------


@power.host_errors
def migrate_disk_and_power_off(src: LibvirtDriver, dst: LibvirtDriver, instance: InstanceInfo, timeout: float) -> None:
    """Stop the guest, keep the source as `<uuid>_resize`, copy its disks into the target's directory.

    On failure the source is put back (defined, not started: the caller decides) and the target's
    directory removed.
    """
    dom = power.domain(src, instance.uuid)
    directory, kept = paths.instance_dir(src.host, instance.uuid), resize_dir(src, instance.uuid)
    power.power_off(src, instance, timeout)
    src.connection.write_file(f"{directory}/libvirt.xml", dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
    src.connection.run(["mv", "-T", "--", directory, kept])
    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    target = paths.instance_dir(dst.host, instance.uuid)
    try:
        dst.connection.run(["mkdir", "-m", "0755", "--", target])
        present = src.connection.run(["ls", "-1", "--", kept]).stdout.split()
        for name, _dev in DISKS:
            if name in present:
                copy_file(src, f"{kept}/{name}", dst, f"{target}/{name}")
    except Exception as exc:
        with contextlib.suppress(HostError):
            dst.connection.run(["rm", "-rf", "--", target])
        finish_revert_migration(src, instance, power_on=False)
        if not isinstance(exc, (HostError, OSError)):
            raise
        raise HostError(dst.host.name, f"copying the disks of {instance.uuid} failed: {getattr(exc, 'reason', exc)}") from None


def finish_migration(
    driver: LibvirtDriver, instance: InstanceInfo, image: Image, image_source: str, network: Network, power_on: bool
) -> None:
    """On the target: base image cached, copied disks re-pointed and grown to the flavor, domain defined."""
    conn, directory = driver.connection, paths.instance_dir(driver.host, instance.uuid)
    try:
        base, base_format = imagecache.ensure_base(conn, driver.host, image, image_source)
        present = conn.run(["ls", "-1", "--", directory]).stdout.split()
        root = f"{directory}/disk"
        # -u: the data is unchanged, only the backing path (the target's cache) is written.
        conn.run(["qemu-img", "rebase", "-u", "-f", "qcow2", "-F", base_format, "-b", base, "--", root])
        size = imagecache.virtual_size(conn, root, "qcow2")
        if instance.flavor.disk * 1024**3 > size:
            conn.run(["qemu-img", "resize", "-f", "qcow2", "--", root, f"{instance.flavor.disk}G"])
        _extra_disks(conn, instance, directory, present)
        _define(driver, instance, directory, network, power_on)
    except Exception as exc:
        spawn.destroy(driver, instance.uuid)
        if not isinstance(exc, (HostError, UsageError, libvirt.libvirtError)):
            raise
        raise HostError(driver.host.name, f"finishing the move failed: {_reason(exc)}") from None


def _extra_disks(conn: Connection, instance: InstanceInfo, directory: str, present: list[str]) -> None:
    """Ephemeral and swap for the (new) flavor: kept when copied, made when the flavor adds them."""
    flavor = instance.flavor
    wanted = {"disk.eph0": f"{flavor.ephemeral}G" if flavor.ephemeral else None, "disk.swap": f"{flavor.swap}M" if flavor.swap else None}
    for name, size in wanted.items():
        if size and name not in present:
            conn.run(["qemu-img", "create", "-f", "qcow2", "--", f"{directory}/{name}", size])
        elif not size and name in present:
            conn.run(["rm", "-f", "--", f"{directory}/{name}"])


@power.host_errors
def finish_revert_migration(driver: LibvirtDriver, instance: InstanceInfo, power_on: bool) -> None:
    """On the source: `<uuid>_resize` back into place and its saved domain defined again."""
    conn, directory = driver.connection, paths.instance_dir(driver.host, instance.uuid)
    conn.run(["mv", "-T", "--", resize_dir(driver, instance.uuid), directory])
    xml = conn.read_file(f"{directory}/libvirt.xml")
    if xml is None:
        raise HostError(driver.host.name, f"{directory}/libvirt.xml is missing; cannot define the instance again")
    dom = driver.libvirt.defineXML(xml.decode())
    if power_on:
        dom.create()


def confirm_migration(driver: LibvirtDriver, instance_uuid: str) -> None:
    driver.connection.run(["rm", "-rf", "--", resize_dir(driver, instance_uuid)])


def copy_file(src: LibvirtDriver, src_path: str, dst: LibvirtDriver, dst_path: str) -> None:
    if src.host.name == dst.host.name:
        src.connection.run(["cp", "--sparse=always", "--", src_path, dst_path])
        return
    with tempfile.TemporaryDirectory(prefix="novactl-") as tmp:
        local = os.path.join(tmp, "disk")
        src.connection.get_file(src_path, local)
        dst.connection.put_file(local, dst_path)


# -- live migration ----------------------------------------------------------------------------------


def live_migration(
    src: LibvirtDriver, dst: LibvirtDriver, instance: InstanceInfo, image: Image, image_source: str, network: Network
) -> float:
    """Block-migrate a running guest; returns the seconds libvirt took. The source is untouched on failure."""
    if src.host.instances_path != dst.host.instances_path:
        raise UsageError(f"{src.host.name} and {dst.host.name} have different instances_path; live migration keeps disk paths")
    dom = power.domain(src, instance.uuid)
    directory = paths.instance_dir(dst.host, instance.uuid)
    try:
        _pre_live_migration(src, dst, instance, image, image_source, network)
        started = time.monotonic()
        # Client-managed (not peer-to-peer): the source libvirtd needs no credentials for the target.
        params = {libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://{dst.host.address}"}
        dom.migrate3(dst.libvirt, params, LIVE_FLAGS)
        elapsed = time.monotonic() - started
    except Exception as exc:
        LOG.error("[instance: %s] Live migration to %s failed: %s", instance.uuid, dst.host.name, _reason(exc))
        _rollback_live_migration_at_destination(dst, instance.uuid, directory)
        if not isinstance(exc, (HostError, UsageError, libvirt.libvirtError)):
            raise
        raise HostError(src.host.name, f"live migration of {instance.uuid} to {dst.host.name} failed: {_reason(exc)}") from None
    src.connection.run(["rm", "-rf", "--", paths.instance_dir(src.host, instance.uuid)], check=False)
    LOG.info("[instance: %s] Migrating instance to %s finished successfully in %.1f s.", instance.uuid, dst.host.name, elapsed)
    return elapsed


def _pre_live_migration(
    src: LibvirtDriver, dst: LibvirtDriver, instance: InstanceInfo, image: Image, image_source: str, network: Network
) -> None:
    """Base in the target's cache, empty overlays of the source's sizes on the same base path, bridge."""
    conn, directory = dst.connection, paths.instance_dir(dst.host, instance.uuid)
    base, base_format = imagecache.ensure_base(conn, dst.host, image, image_source)
    conn.run(["mkdir", "-m", "0755", "--", directory])
    source_dir = paths.instance_dir(src.host, instance.uuid)
    present = src.connection.run(["ls", "-1", "--", source_dir]).stdout.split()
    for name, _dev in DISKS:
        if name in present:
            size = str(_disk_size(src.connection, f"{source_dir}/{name}"))
            backing = ["-F", base_format, "-b", base] if name == "disk" else []
            conn.run(["qemu-img", "create", "-f", "qcow2", *backing, "--", f"{directory}/{name}", size])
    spawn.ensure_bridge(dst, network.bridge, network.physical_interface)


def _rollback_live_migration_at_destination(dst: LibvirtDriver, instance_uuid: str, directory: str) -> None:
    with contextlib.suppress(libvirt.libvirtError, HostError):
        spawn.undefine(dst.libvirt.lookupByUUIDString(instance_uuid))
    with contextlib.suppress(HostError):
        dst.connection.run(["rm", "-rf", "--", directory])


def _disk_size(conn: Connection, path: str) -> int:
    # -U: the running guest holds the image's write lock; only the header is read.
    return int(json.loads(conn.run(["qemu-img", "info", "-U", "--output=json", "--", path]).stdout)["virtual-size"])


# -- snapshot ----------------------------------------------------------------------------------------


@power.host_errors
def snapshot(driver: LibvirtDriver, instance: InstanceInfo, image_id: str, local_path: str) -> None:
    """Nova's cold snapshot: managed-save a running guest, flatten its disk into a qcow2, restore."""
    dom = power.domain(driver, instance.uuid)
    conn = driver.connection
    was_active = bool(dom.isActive())
    out = f"{driver.host.state_path}/snapshots/{image_id}.qcow2"
    try:
        if was_active:
            dom.managedSave(0)
        conn.run(["mkdir", "-p", "--", os.path.dirname(out)])
        # No -B: the result carries the base's data too, a standalone image.
        disk = f"{paths.instance_dir(driver.host, instance.uuid)}/disk"
        conn.run(["qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", "--", disk, out], timeout=3600)
    finally:
        if was_active:
            dom.create()
    try:
        conn.get_file(out, local_path)
    finally:
        conn.run(["rm", "-f", "--", out], check=False)


# -- shared ------------------------------------------------------------------------------------------


def _define(driver: LibvirtDriver, instance: InstanceInfo, directory: str, network: Network, power_on: bool) -> None:
    assert driver._node is not None, "poll() first"
    node = driver._node
    present = driver.connection.run(["ls", "-1", "--", directory]).stdout.split()
    spawn.ensure_bridge(driver, network.bridge, network.physical_interface)
    xml = domain_xml.build(
        domain_xml.DomainSpec(
            instance=instance,
            virt_type=spawn.virt_type(node, driver.host.virt_type),
            cpu_mode=driver.host.cpu_mode,
            arch=node.cpu_info.get("arch", "x86_64"),
            instance_dir=directory,
            disks=[(f"{directory}/{name}", dev) for name, dev in DISKS if name in present],
            bridge=network.bridge,
            mac=next(iter(instance.networks.values()))[0],
            tap=spawn.tap_name(instance.uuid),
        )
    )
    driver.connection.write_file(f"{directory}/libvirt.xml", xml.encode())
    dom = driver.libvirt.defineXML(xml)
    driver.drop_claim(instance.uuid)  # the defined domain now accounts for the resources
    if power_on:
        dom.create()


def _reason(exc: Exception) -> str:
    return exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else getattr(exc, "reason", str(exc))
