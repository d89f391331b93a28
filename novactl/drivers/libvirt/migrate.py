"""Moving an instance between libvirt hosts: cold (resize, migrate) and live.

Names follow nova/virt/libvirt/driver.py. Cold moves keep the source's directory as `<uuid>_resize`
(with the inactive domain XML in it) until the move is confirmed or reverted, as Nova does.

No secret ever goes to a host, so hosts cannot reach each other over SSH: disk files are relayed
through the machine running novactl, and live migration is client-managed (novactl holds both
libvirt connections; the source libvirtd needs no credentials for the target). QEMU's memory stream
and the NBD disk copy take the path `live_migration_transport` names:

- ssh (default): the target listens on its 127.0.0.1 only, the source's QEMU connects to 127.0.0.1
  on its own host, and novactl relays between the two through its SSH connections
  (remote/relay.py). Encrypted, host keys checked by novactl, nothing to set up.
- tls: Nova's live_migration_with_native_tls, VIR_MIGRATE_TLS: QEMU's own TLS host to host, with the
  certificates the operator installed in qemu.conf's migrate_tls_x509_cert_dir on every host.
- tcp: host to host in clear, on ports the target libvirtd opens for that one migration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import libvirt

from novactl import crashpoints
from novactl.drivers.libvirt import claims, guest, imagebackend, imagecache, paths, power, vif
from novactl.drivers.libvirt.errors import host_errors, reason
from novactl.drivers.libvirt.host import Host
from novactl.drivers.libvirt.spawn import destroy
from novactl.errors import HostError, UsageError
from novactl.hoststate import InstanceInfo
from novactl.models import HostConfig, Image, Network
from novactl.remote.relay import LoopbackRelay

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
        vif.plug(host, network)
        disks = imagebackend.devices(directory, imagebackend.listed(conn, directory))
        dom = guest.define(host, instance, disks, network, next(iter(instance.networks.values()))[0])
        crashpoints.step("move.defined")
        if power_on:
            dom.create()
        claims.settle(host, instance.uuid)  # the domain now accounts for the resources; the move fails if the claim's builder lock went
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
    """Block-migrate a running guest; returns the seconds the migration took. The source is untouched on failure."""
    if src.config.instances_path != dst.config.instances_path:
        raise UsageError(f"{src.name} and {dst.name} have different instances_path; live migration keeps disk paths")
    dom = guest.lookup(src, instance.uuid)
    directory = paths.instance_dir(dst.config, instance.uuid)
    transport = migration_transport(src.config, dst.config)
    try:
        _pre_live_migration(src, dst, instance, image, image_source, network)
        crashpoints.step("live.prepared")
        started = time.monotonic()
        with _streams(src, dst, transport) as (params, flags):
            _migrate_within(dom, dst, params, LIVE_FLAGS | flags, completion_timeout(src.config, instance))
        elapsed = time.monotonic() - started
        crashpoints.step("live.migrated")
    except Exception as exc:
        LOG.error("[instance: %s] Live migration to %s over %s failed: %s", instance.uuid, dst.name, transport, reason(exc))
        _rollback_live_migration_at_destination(dst, instance.uuid, directory)
        if not isinstance(exc, (HostError, UsageError, libvirt.libvirtError)):
            raise
        raise HostError(src.name, f"live migration of {instance.uuid} to {dst.name} failed: {reason(exc)}") from None
    src.connection.run(["rm", "-rf", "--", paths.instance_dir(src.config, instance.uuid)], check=False)
    LOG.info(
        "[instance: %s] Migrating instance to %s over %s finished successfully in %.2f s.", instance.uuid, dst.name, transport, elapsed
    )
    return elapsed


def migration_transport(src: HostConfig, dst: HostConfig) -> str:
    """tls or tcp when both hosts' `live_migration_transport` say so, otherwise ssh: a pair of hosts
    migrates in clear only if both opted in, and by TLS only if both have certificates."""
    return src.live_migration_transport if src.live_migration_transport == dst.live_migration_transport else "ssh"


def completion_timeout(config: HostConfig, instance: InstanceInfo) -> float:
    """Nova's live_migration_completion_timeout, in seconds per GiB of RAM (at least 2 GiB) plus disk."""
    flavor = instance.flavor
    data_gb = max(flavor.ram / 1024, 2) + flavor.disk + flavor.ephemeral + flavor.swap / 1024
    return config.live_migration_completion_timeout * data_gb


@contextlib.contextmanager
def _streams(src: Host, dst: Host, transport: str) -> Iterator[tuple[dict[str, Any], int]]:
    """migrate3's parameters and flags for QEMU's memory stream and the NBD disk copy over `transport`."""
    if transport != "ssh":
        yield {libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://{dst.config.address}"}, libvirt.VIR_MIGRATE_TLS if transport == "tls" else 0
        return
    # The same two port numbers on both hosts: sshd picks free ones on the source, and the target
    # QEMU listens on them (memory, then NBD) on its loopback only.
    with LoopbackRelay(src.connection, dst.connection) as relay:
        memory, disks = relay.listen(), relay.listen()
        yield (
            {
                libvirt.VIR_MIGRATE_PARAM_URI: f"tcp://127.0.0.1:{memory}",
                libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS: "127.0.0.1",
                libvirt.VIR_MIGRATE_PARAM_DISKS_PORT: disks,
            },
            0,
        )


def _migrate_within(dom: libvirt.virDomain, dst: Host, params: dict[str, Any], flags: int, seconds: float) -> None:
    """migrate3, aborted (as Nova's monitor aborts it) if it has not completed within `seconds`."""
    timed_out = threading.Event()

    def abort() -> None:
        timed_out.set()
        with contextlib.suppress(libvirt.libvirtError):
            dom.abortJob()

    watchdog = threading.Timer(seconds, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        dom.migrate3(dst.libvirt, params, flags)
    except libvirt.libvirtError:
        if timed_out.is_set():
            raise HostError(dst.name, f"not completed within {seconds:.0f} s (live_migration_completion_timeout); aborted") from None
        raise
    finally:
        watchdog.cancel()


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
    vif.plug(dst, network)


def _rollback_live_migration_at_destination(dst: Host, instance_uuid: str, directory: str) -> None:
    with contextlib.suppress(libvirt.libvirtError, HostError):
        guest.undefine(dst.libvirt.lookupByUUIDString(instance_uuid))
    with contextlib.suppress(HostError):
        dst.connection.run(["rm", "-rf", "--", directory])
