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
        directory, base_size = _directory_on_cached_base(host, request)
        undo.append(("instance directory", lambda: conn.run(["rm", "-rf", "--", directory], check=False)))
        crashpoints.step("boot.directory")
        base, base_format = imagecache.base_of(config, request.image)
        disks = _create_disks(conn, instance, base, base_format, base_size, directory)
        # Written with libvirt.xml, in the same round trip.
        files = {f"{directory}/disk.info": json.dumps({path: "qcow2" for path, _ in disks}).encode()}
        if request.config_drive is not None:
            files[paths.config_drive(config, instance.uuid)] = request.config_drive
            instance.config_drive = True
        crashpoints.step("boot.disks")
        if vif.plug(host, request.network):
            undo.append(("bridge", lambda: vif.remove_bridge_if_unused(host, request.network.bridge)))
        undo.append(("domain", lambda: _undefine_if_defined(host, instance.uuid)))
        crashpoints.step("boot.bridge")
        domain = guest.define(host, instance, disks, request.network, instance.networks[request.network.name][0], files)
        crashpoints.step("boot.defined")
        if request.start_gate is None:
            domain.create()
        else:  # a multi-create's guests run together, once all are launched (start_gate.py)
            domain.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
            request.start_gate()
            domain.resume()
        crashpoints.step("boot.started")
        if request.wait:
            guest.wait_running(domain, config.name)
        instance.vm_state, instance.task_state = "active", None  # BUILD ends here, as in Nova
        guest.save_state(host, instance, domain, active=True)  # create() returned: it runs
        crashpoints.step("boot.active")
        claims.settle(host, instance.uuid)  # the domain now accounts for the resources
        LOG.info("[instance: %s] Instance spawned successfully.", instance.uuid)
    except (HostError, UsageError, libvirt.libvirtError, OSError) as exc:
        LOG.error("[instance: %s] Instance failed to spawn on %s: %s", instance.uuid, config.name, reason(exc))
        for what, action in reversed(undo):
            LOG.debug("[instance: %s] Undoing %s", instance.uuid, what)
            with contextlib.suppress(HostError, libvirt.libvirtError, OSError):
                action()
        claims.drop(host, instance.uuid)
        raise HostError(config.name, f"spawn failed: {reason(exc)}") from None
    instance.power_state = RUNNING
    return instance


def _directory_on_cached_base(host: Host, request: SpawnRequest) -> tuple[str, int]:
    """The instance directory and the base's virtual size; the image is sent first if the host lacks it.

    A warm cache costs one round trip: the cache check is part of making the directory.
    """
    conn, config = host.connection, host.config
    base, base_format = imagecache.base_of(config, request.image)
    made = imagebackend.make_directory_on(conn, config, request.instance.uuid, base, base_format)
    if made is None:
        imagecache.ensure_base(conn, config, request.image, request.image_source, request.progress)
        made = imagebackend.make_directory_on(conn, config, request.instance.uuid, base, base_format)
        if made is None:
            raise HostError(config.name, f"the cached image {base} disappeared before the instance directory was made")
    else:
        LOG.debug("Image %s found in cache at %s", request.image.id, base)
    return made


def _create_disks(
    conn: Connection, instance: InstanceInfo, base: str, base_format: str, base_size: int, directory: str
) -> list[tuple[str, str]]:
    """Root overlay on the cached base (grown to the flavor's size), ephemeral and swap: one command."""
    flavor = instance.flavor
    imagebackend.create(
        conn, [imagebackend.root_disk(flavor, base, base_format, base_size, directory), *imagebackend.extra_disks(flavor, directory, [])]
    )
    return imagebackend.devices(directory, imagebackend.wanted(flavor))


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
