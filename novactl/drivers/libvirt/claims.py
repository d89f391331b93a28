"""Claims on a libvirt host: a JSON file per boot in flight, written under the host lock.

A claim counts in every poll until its domain is defined (`drop`), or until it expires, which heals
a crash between claim and define. The claim test itself is Nova's (novactl/claims.py).
"""

from __future__ import annotations

import json
import time

from novactl import host_records
from novactl.claims import check_claim
from novactl.drivers.libvirt import metadata, paths
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.drivers.libvirt.poll import list_instances
from novactl.hoststate import InstanceInfo, build_host_state
from novactl.models import SchedulerConfig

CLAIMS_SCRIPT = 'for f in "$1"/*.json; do [ -f "$f" ] && cat "$f" && echo; done; exit 0'
CLAIM_TTL = 900  # seconds a claim counts without its domain: longer than any boot, short enough to heal a crash


@host_errors
def claim(host: Host, sched: SchedulerConfig, instance: InstanceInfo, limits: dict[str, float]) -> None:
    """Under the host lock: re-read real usage, run Nova's claim test, record the claim."""
    node, config, conn = host.polled_node(), host.config, host.connection
    with conn.lock(paths.host_lock(config), timeout=120):
        out = conn.run(["sh", "-c", CLAIMS_SCRIPT, "sh", paths.claims_dir(config)]).stdout
        instances = list_instances(host, host_records.json_lines(out, "claim", host.name))
        state = build_host_state(config.name, config.zone, node, instances, sched.reserved_host_memory_mb, sched.reserved_host_disk_mb)
        check_claim(state, instance.flavor, limits)
        record = metadata.to_record(instance, time.time() + CLAIM_TTL)
        conn.write_file(f"{paths.claims_dir(config)}/{instance.uuid}.json", json.dumps(record).encode())


def drop(host: Host, instance_uuid: str) -> None:
    """Forget a claim: its domain now accounts for the resources, or the boot was rolled back."""
    host.connection.run(["rm", "-f", "--", f"{paths.claims_dir(host.config)}/{instance_uuid}.json"], check=False)
