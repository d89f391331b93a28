"""Nova's cold snapshot of an instance's root disk into a standalone qcow2 on this machine."""

from __future__ import annotations

import os

from novactl.drivers.libvirt import guest, imagebackend, paths
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.hoststate import InstanceInfo


@host_errors
def snapshot(host: Host, instance: InstanceInfo, image_id: str, local_path: str) -> None:
    """Managed-save a running guest, flatten its disk into a qcow2, restore it, fetch the file."""
    dom = guest.lookup(host, instance.uuid)
    conn = host.connection
    was_active = bool(dom.isActive())
    out = f"{host.config.state_path}/snapshots/{image_id}.qcow2"
    try:
        if was_active:
            dom.managedSave(0)
        conn.run(["mkdir", "-p", "--", os.path.dirname(out)])
        # No -B: the result carries the base's data too, a standalone image.
        disk = f"{paths.instance_dir(host.config, instance.uuid)}/{imagebackend.ROOT}"
        conn.run(["qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", "--", disk, out], timeout=3600)
    finally:
        if was_active:
            dom.create()
    try:
        conn.get_file(out, local_path)
    finally:
        conn.run(["rm", "-f", "--", out], check=False)
