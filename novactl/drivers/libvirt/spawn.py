"""Spawn and its inverse, destroy, on a libvirt host; every step of a spawn undone if a later one fails.

Order (as nova-compute's _build_and_run_instance): image into _base once -> instance directory ->
qcow2 overlay (+ ephemeral, swap) -> config drive -> bridge -> domain XML -> define -> start -> wait
running. The config drive lives in the instance directory, so delete and the moves carry it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable

import libvirt

from novactl import crashpoints
from novactl.drivers.base import SpawnRequest
from novactl.drivers.libvirt import claims, guest, imagebackend, imagecache, paths, vif
from novactl.drivers.libvirt.errors import reason
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError, UsageError
from novactl.hoststate import RUNNING, InstanceInfo
from novactl.remote import Connection

LOG = logging.getLogger("novactl.virt.libvirt.driver")


def spawn(host: Host, request: SpawnRequest) -> InstanceInfo:
    host.polled_node()
    instance, conn, config = request.instance, host.connection, host.config
    undo: list[tuple[str, Callable[[], object]]] = []
    try:
        base, base_format = imagecache.ensure_base(conn, config, request.image, request.image_source, request.progress)
        directory, base_size = imagebackend.make_directory_on(conn, config, instance.uuid, base, base_format)
        undo.append(("instance directory", lambda: conn.run(["rm", "-rf", "--", directory], check=False)))
        crashpoints.step("boot.directory")
        disks = _create_disks(conn, instance, base, base_format, base_size, directory)
        if request.config_drive is not None:
            conn.write_file(paths.config_drive(config, instance.uuid), request.config_drive)
            instance.config_drive = True
        crashpoints.step("boot.disks")
        if vif.ensure_bridge(host, request.network.bridge, request.network.physical_interface):
            undo.append(("bridge", lambda: vif.remove_bridge_if_unused(host, request.network.bridge)))
        undo.append(("domain", lambda: _undefine_if_defined(host, instance.uuid)))
        crashpoints.step("boot.bridge")
        domain = guest.define(host, instance, disks, request.network.bridge, instance.networks[request.network.name][0])
        crashpoints.step("boot.defined")
        domain.create()
        crashpoints.step("boot.started")
        if request.wait:
            guest.wait_running(domain, config.name)
        instance.vm_state, instance.task_state = "active", None  # BUILD ends here, as in Nova
        guest.save_state(host, instance)
        crashpoints.step("boot.active")
        LOG.info("[instance: %s] Instance spawned successfully.", instance.uuid)
    except (HostError, UsageError, libvirt.libvirtError, OSError) as exc:
        LOG.error("[instance: %s] Instance failed to spawn on %s: %s", instance.uuid, config.name, reason(exc))
        for what, action in reversed(undo):
            LOG.debug("[instance: %s] Undoing %s", instance.uuid, what)
            with contextlib.suppress(HostError, libvirt.libvirtError, OSError):
                action()
        claims.drop(host, instance.uuid)
        raise HostError(config.name, f"spawn failed: {reason(exc)}") from None
    claims.drop(host, instance.uuid)  # the domain now accounts for the resources
    instance.power_state = RUNNING
    return instance


def _create_disks(
    conn: Connection, instance: InstanceInfo, base: str, base_format: str, base_size: int, directory: str
) -> list[tuple[str, str]]:
    """Root overlay on the cached base (grown to the flavor's size), ephemeral and swap: one command; disk.info."""
    flavor = instance.flavor
    imagebackend.create(
        conn, [imagebackend.root_disk(flavor, base, base_format, base_size, directory), *imagebackend.extra_disks(flavor, directory, [])]
    )
    disks = imagebackend.devices(directory, imagebackend.wanted(flavor))
    conn.write_file(f"{directory}/disk.info", json.dumps({path: "qcow2" for path, _ in disks}).encode())
    return disks


def _undefine_if_defined(host: Host, instance_uuid: str) -> None:
    domain = guest.find(host, instance_uuid)
    if domain is not None:
        guest.undefine(domain)


def destroy(host: Host, instance_uuid: str) -> None:
    """Nova's destroy: stop the guest, undefine it, delete its directory; taps go with the guest.

    The directory is marked first, so a delete killed after the undefine leaves a directory that
    `cleanup` knows to finish deleting (an unmarked one without its domain may be a move's only copy).
    """
    directory = paths.instance_dir(host.config, instance_uuid)
    host.connection.run(["sh", "-c", 'test ! -d "$1" || touch -- "$1/$2"', "sh", directory, paths.DELETING])
    crashpoints.step("delete.marked")
    _undefine_if_defined(host, instance_uuid)
    crashpoints.step("delete.undefined")
    host.connection.run(["rm", "-rf", "--", directory])
    claims.drop(host, instance_uuid)
    LOG.info("[instance: %s] Instance destroyed successfully.", instance_uuid)
