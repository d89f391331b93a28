"""Moving an instance between libvirt hosts: cold (resize, migrate) and live.

Names follow nova/virt/libvirt/driver.py. Cold moves keep the source's directory as `<uuid>_resize`
(with the inactive domain XML in it) until the move is confirmed or reverted, as Nova does.

No secret ever goes to a host, so hosts cannot reach each other over SSH: disk files are relayed
through the machine running novactl, and live migration is client-managed (novactl holds both
libvirt connections) with QEMU's stream and the NBD disk copy going host-to-host on ports the target
libvirtd opens for that one migration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time

import libvirt

from novactl import crashpoints
from novactl.drivers.libvirt import claims, guest, imagebackend, imagecache, paths, power, vif
from novactl.drivers.libvirt.errors import host_errors, reason
from novactl.drivers.libvirt.host import Host
from novactl.drivers.libvirt.spawn import destroy
from novactl.errors import HostError, UsageError
from novactl.hoststate import InstanceInfo
from novactl.models import Image, Network

LOG = logging.getLogger("novactl.virt.libvirt.driver")
LIVE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_NON_SHARED_INC  # copy the overlays only: the target has the same base
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)


def resize_dir(host: Host, instance_uuid: str) -> str:
    return paths.instance_dir(host.config, instance_uuid) + "_resize"


# -- cold moves --------------------------------------------------------------------------------------


@host_errors
def migrate_disk_and_power_off(src: Host, dst: Host, instance: InstanceInfo, timeout: float) -> None:
    """Stop the guest, keep the source as `<uuid>_resize`, copy its disks into the target's directory.

    On failure the source is put back (defined, not started: the caller decides) and the target's
    directory removed.
    """
    dom = guest.lookup(src, instance.uuid)
    directory, kept = paths.instance_dir(src.config, instance.uuid), resize_dir(src, instance.uuid)
    power.power_off(src, instance, timeout)
    crashpoints.step("move.powered-off")
    src.connection.write_file(f"{directory}/libvirt.xml", dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).encode())
    src.connection.run(["mv", "-T", "--", directory, kept])
    crashpoints.step("move.source-kept")
    dom.undefineFlags(guest.UNDEFINE_FLAGS)
    crashpoints.step("move.source-undefined")
    target = paths.instance_dir(dst.config, instance.uuid)
    try:
        imagebackend.make_directory(dst.connection, dst.config, instance.uuid)
        for name in _carried(src, kept, instance):
            copy_file(src, f"{kept}/{name}", dst, f"{target}/{name}")
            crashpoints.step("move.copying")
    except Exception as exc:
        with contextlib.suppress(HostError):
            dst.connection.run(["rm", "-rf", "--", target])
        finish_revert_migration(src, instance, power_on=False)
        if not isinstance(exc, (HostError, OSError)):
            raise
        raise HostError(dst.name, f"copying the disks of {instance.uuid} failed: {reason(exc)}") from None


def _carried(host: Host, directory: str, instance: InstanceInfo) -> list[str]:
    """The files a move copies: the disks, and the config drive when the instance has one."""
    config_drive = paths.config_drive(host.config, instance.uuid).rpartition("/")[2]
    return [*imagebackend.listed(host.connection, directory), *([config_drive] if instance.config_drive else [])]


def finish_migration(host: Host, instance: InstanceInfo, image: Image, image_source: str, network: Network, power_on: bool) -> None:
    """On the target: base image cached, copied disks re-pointed and grown to the flavor, domain defined."""
    conn, directory = host.connection, paths.instance_dir(host.config, instance.uuid)
    try:
        base, base_format = imagecache.ensure_base(conn, host.config, image, image_source)
        present = imagebackend.listed(conn, directory)
        root = f"{directory}/{imagebackend.ROOT}"
        # -u: the data is unchanged, only the backing path (the target's cache) is written.
        conn.run(["qemu-img", "rebase", "-u", "-f", "qcow2", "-F", base_format, "-b", base, "--", root])
        size = imagebackend.virtual_size(conn, root, "qcow2")
        if instance.flavor.disk * 1024**3 > size:
            conn.run(["qemu-img", "resize", "-f", "qcow2", "--", root, f"{instance.flavor.disk}G"])
        imagebackend.sync_extra_disks(conn, instance.flavor, directory, present)
        vif.ensure_bridge(host, network.bridge, network.physical_interface)
        disks = imagebackend.devices(directory, imagebackend.listed(conn, directory))
        dom = guest.define(host, instance, disks, network.bridge, next(iter(instance.networks.values()))[0])
        crashpoints.step("move.defined")
        if power_on:
            dom.create()
        claims.drop(host, instance.uuid)  # the domain now accounts for the resources
    except Exception as exc:
        destroy(host, instance.uuid)
        if not isinstance(exc, (HostError, UsageError, libvirt.libvirtError)):
            raise
        raise HostError(host.name, f"finishing the move failed: {reason(exc)}") from None


@host_errors
def finish_revert_migration(host: Host, instance: InstanceInfo, power_on: bool) -> None:
    """On the source: `<uuid>_resize` back into place and its saved domain defined again."""
    conn, directory = host.connection, paths.instance_dir(host.config, instance.uuid)
    conn.run(["mv", "-T", "--", resize_dir(host, instance.uuid), directory])
    xml = conn.read_file(f"{directory}/libvirt.xml")
    if xml is None:
        raise HostError(host.name, f"{directory}/libvirt.xml is missing; cannot define the instance again")
    dom = host.libvirt.defineXML(xml.decode())
    if power_on:
        dom.create()


def confirm_migration(host: Host, instance_uuid: str) -> None:
    host.connection.run(["rm", "-rf", "--", resize_dir(host, instance_uuid)])


def copy_file(src: Host, src_path: str, dst: Host, dst_path: str) -> None:
    if src.name == dst.name:
        src.connection.run(["cp", "--sparse=always", "--", src_path, dst_path])
        return
    with tempfile.TemporaryDirectory(prefix="novactl-") as tmp:
        local = os.path.join(tmp, "disk")
        src.connection.get_file(src_path, local)
        dst.connection.put_file(local, dst_path)


# -- live migration ----------------------------------------------------------------------------------


def live_migration(src: Host, dst: Host, instance: InstanceInfo, image: Image, image_source: str, network: Network) -> float:
    """Block-migrate a running guest; returns the seconds libvirt took. The source is untouched on failure."""
    if src.config.instances_path != dst.config.instances_path:
        raise UsageError(f"{src.name} and {dst.name} have different instances_path; live migration keeps disk paths")
    dom = guest.lookup(src, instance.uuid)
    directory = paths.instance_dir(dst.config, instance.uuid)
    try:
        _pre_live_migration(src, dst, instance, image, image_source, network)
        crashpoints.step("live.prepared")
        started = time.monotonic()
        # Client-managed (not peer-to-peer): the source libvirtd needs no credentials for the target.
        params = {libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://{dst.config.address}"}
        dom.migrate3(dst.libvirt, params, LIVE_FLAGS)
        elapsed = time.monotonic() - started
        crashpoints.step("live.migrated")
    except Exception as exc:
        LOG.error("[instance: %s] Live migration to %s failed: %s", instance.uuid, dst.name, reason(exc))
        _rollback_live_migration_at_destination(dst, instance.uuid, directory)
        if not isinstance(exc, (HostError, UsageError, libvirt.libvirtError)):
            raise
        raise HostError(src.name, f"live migration of {instance.uuid} to {dst.name} failed: {reason(exc)}") from None
    src.connection.run(["rm", "-rf", "--", paths.instance_dir(src.config, instance.uuid)], check=False)
    LOG.info("[instance: %s] Migrating instance to %s finished successfully in %.1f s.", instance.uuid, dst.name, elapsed)
    return elapsed


def _pre_live_migration(src: Host, dst: Host, instance: InstanceInfo, image: Image, image_source: str, network: Network) -> None:
    """Base in the target's cache, empty overlays of the source's sizes on the same base path, bridge."""
    conn, directory = dst.connection, paths.instance_dir(dst.config, instance.uuid)
    base, base_format = imagecache.ensure_base(conn, dst.config, image, image_source)
    imagebackend.make_directory(conn, dst.config, instance.uuid)
    source_dir = paths.instance_dir(src.config, instance.uuid)
    disks = []
    for name in imagebackend.listed(src.connection, source_dir):
        # in_use: the running guest holds the image's write lock; only the header is read.
        size = str(imagebackend.virtual_size(src.connection, f"{source_dir}/{name}", in_use=True))
        disks.append(imagebackend.NewDisk(f"{directory}/{name}", size, (base, base_format) if name == imagebackend.ROOT else None))
    imagebackend.create(conn, disks)
    if instance.config_drive:  # read-only: block migration copies only the writable disks
        copy_file(src, paths.config_drive(src.config, instance.uuid), dst, paths.config_drive(dst.config, instance.uuid))
    vif.ensure_bridge(dst, network.bridge, network.physical_interface)


def _rollback_live_migration_at_destination(dst: Host, instance_uuid: str, directory: str) -> None:
    with contextlib.suppress(libvirt.libvirtError, HostError):
        guest.undefine(dst.libvirt.lookupByUUIDString(instance_uuid))
    with contextlib.suppress(HostError):
        dst.connection.run(["rm", "-rf", "--", directory])
