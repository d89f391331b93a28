"""An instance's serial console, logged by libvirt to `<instance dir>/console.log`."""

from __future__ import annotations

from novactl.drivers.libvirt import paths
from novactl.drivers.libvirt.host import Host


def console_log(host: Host, instance_uuid: str, length: int | None) -> str:
    """The serial console's file, or its last `length` lines (Nova's get_console_output)."""
    data = host.connection.read_file(f"{paths.instance_dir(host.config, instance_uuid)}/console.log")
    text = (data or b"").decode(errors="replace")
    if length is None:
        return text
    return "\n".join(text.splitlines()[-length:]) if length > 0 else ""
