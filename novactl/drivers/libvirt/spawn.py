"""Spawn and destroy on a libvirt host, step by step, every step undone if a later one fails.

Order (as nova-compute's _build_and_run_instance): image into _base once -> instance directory ->
qcow2 overlay (+ ephemeral, swap) -> bridge -> domain XML -> define -> start -> wait running.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import libvirt

from novactl.drivers.base import SpawnRequest
from novactl.drivers.libvirt import domain_xml, imagecache, paths
from novactl.errors import HostError, UsageError
from novactl.hoststate import RUNNING, ComputeNode, InstanceInfo

if TYPE_CHECKING:
    from novactl.drivers.libvirt.driver import LibvirtDriver

LOG = logging.getLogger("novactl.virt.libvirt.driver")
RUNNING_TIMEOUT = 60


def spawn(driver: LibvirtDriver, request: SpawnRequest, node: ComputeNode) -> InstanceInfo:
    instance, conn, host = request.instance, driver.connection, driver.host
    undo: list[tuple[str, Callable[[], object]]] = []
    try:
        base, base_format = imagecache.ensure_base(conn, host, request.image, request.image_source, request.progress)
        directory = paths.instance_dir(host, instance.uuid)
        conn.run(["mkdir", "-m", "0755", "--", directory])  # no -p: an existing directory is someone else's
        undo.append(("instance directory", lambda: conn.run(["rm", "-rf", "--", directory], check=False)))
        disks = _create_disks(driver, instance, base, base_format, directory)
        if ensure_bridge(driver, request.network.bridge, request.network.physical_interface):
            undo.append(("bridge", lambda: _remove_bridge_if_unused(driver, request.network.bridge)))
        xml = domain_xml.build(
            domain_xml.DomainSpec(
                instance=instance,
                virt_type=virt_type(node, host.virt_type),
                cpu_mode=host.cpu_mode,
                arch=node.cpu_info.get("arch", "x86_64"),
                instance_dir=directory,
                disks=disks,
                bridge=request.network.bridge,
                mac=instance.networks[request.network.name][0],
                tap=tap_name(instance.uuid),
            )
        )
        driver.connection.write_file(f"{directory}/libvirt.xml", xml.encode())
        domain = driver.libvirt.defineXML(xml)
        undo.append(("domain", lambda: undefine(domain)))
        driver.drop_claim(instance.uuid)  # the defined domain now accounts for the resources
        domain.create()
        if request.wait:
            _wait_running(domain, host.name)
        LOG.info("[instance: %s] Instance spawned successfully.", instance.uuid)
    except (HostError, UsageError, libvirt.libvirtError, OSError) as exc:
        reason = exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else getattr(exc, "reason", str(exc))
        LOG.error("[instance: %s] Instance failed to spawn on %s: %s", instance.uuid, host.name, reason)
        for what, action in reversed(undo):
            LOG.debug("[instance: %s] Undoing %s", instance.uuid, what)
            with contextlib.suppress(HostError, libvirt.libvirtError, OSError):
                action()
        driver.drop_claim(instance.uuid)
        raise HostError(host.name, f"spawn failed: {reason}") from None
    instance.power_state = RUNNING
    return instance


def destroy(driver: LibvirtDriver, instance_uuid: str) -> None:
    """Nova's destroy: stop the guest, undefine it, delete its directory; taps go with the guest."""
    try:
        domain = driver.libvirt.lookupByUUIDString(instance_uuid)
    except libvirt.libvirtError:
        domain = None
    if domain is not None:
        undefine(domain)
    driver.connection.run(["rm", "-rf", "--", paths.instance_dir(driver.host, instance_uuid)])
    driver.drop_claim(instance_uuid)
    LOG.info("[instance: %s] Instance destroyed successfully.", instance_uuid)


def tap_name(instance_uuid: str) -> str:
    return f"tap{instance_uuid[:11]}"  # Nova names taps after the port id; 14 characters fit IFNAMSIZ


def virt_type(node: ComputeNode, wanted: str) -> str:
    arch = node.cpu_info.get("arch", "x86_64")
    if wanted == "qemu" or [arch, "kvm", "hvm"] in node.supported_instances:
        return wanted
    LOG.warning("KVM is not available on %s; falling back to TCG (type='qemu')", node.hypervisor_hostname)
    return "qemu"


def _create_disks(driver: LibvirtDriver, instance: InstanceInfo, base: str, base_format: str, directory: str) -> list[tuple[str, str]]:
    """Root overlay on the cached base (grown to the flavor's size), then ephemeral and swap."""
    conn, flavor = driver.connection, instance.flavor
    base_size = imagecache.virtual_size(conn, base, base_format)
    root_bytes = flavor.disk * 1024**3
    if root_bytes and root_bytes < base_size:
        raise UsageError(f"flavor {flavor.name}'s disk ({flavor.disk} GB) is smaller than the image ({base_size} bytes)")
    disks = [(f"{directory}/disk", "vda")]
    # Creating an overlay writes only qcow2 metadata: the same cost for a 1 GB or a 100 GB image.
    conn.run(["qemu-img", "create", "-f", "qcow2", "-F", base_format, "-b", base, "--", disks[0][0], str(root_bytes or base_size)])
    if flavor.ephemeral:
        disks.append((f"{directory}/disk.eph0", "vdb"))
        conn.run(["qemu-img", "create", "-f", "qcow2", "--", disks[-1][0], f"{flavor.ephemeral}G"])
    if flavor.swap:
        disks.append((f"{directory}/disk.swap", "vdc"))
        conn.run(["qemu-img", "create", "-f", "qcow2", "--", disks[-1][0], f"{flavor.swap}M"])
    info = {path: "qcow2" for path, _ in disks}
    conn.write_file(f"{directory}/disk.info", json.dumps(info).encode())
    return disks


def ensure_bridge(driver: LibvirtDriver, bridge: str, physical_interface: str | None) -> bool:
    """Make the linux bridge exist and be up; True when this call created it."""
    conn = driver.connection
    if conn.run(["ip", "link", "set", "dev", bridge, "up"], check=False).ok:  # exists (now up): one round trip
        return False
    created = conn.run(["ip", "link", "add", "name", bridge, "type", "bridge"], check=False)
    if not created.ok and "File exists" not in created.stderr:  # another boot made it meanwhile: fine
        raise HostError(driver.host.name, f"cannot create bridge {bridge}: {created.stderr.strip()}")
    LOG.info("Created linux bridge %s on %s", bridge, driver.host.name)
    if physical_interface:
        conn.run(["ip", "link", "set", "dev", physical_interface, "master", bridge])
    conn.run(["ip", "link", "set", "dev", bridge, "up"])
    return created.ok


def _remove_bridge_if_unused(driver: LibvirtDriver, bridge: str) -> None:
    ports = driver.connection.run(["ls", "-A", f"/sys/class/net/{bridge}/brif"], check=False).stdout.split()
    if not ports:
        driver.connection.run(["ip", "link", "del", "dev", bridge], check=False)


def undefine(domain: libvirt.virDomain) -> None:
    if domain.isActive():
        domain.destroy()
    domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)


def _wait_running(domain: libvirt.virDomain, host: str) -> None:
    deadline = time.monotonic() + RUNNING_TIMEOUT
    while domain.info()[0] != libvirt.VIR_DOMAIN_RUNNING:
        if time.monotonic() > deadline:
            raise HostError(host, f"domain {domain.name()} not running after {RUNNING_TIMEOUT} s")
        time.sleep(0.1)
