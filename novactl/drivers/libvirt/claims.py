"""Claims on a libvirt host: a JSON file per build in flight, written under the host lock.

A claim names its builder (builders.py) and counts in every poll while that process lives, until the
build ends (`drop`: the domain then accounts for the resources, or the build was rolled back). A
dead builder's claim counts nowhere and `cleanup` removes it; expiry is the backstop. The claim test
itself is Nova's (novactl/claims.py).
"""

from __future__ import annotations

import json
import time

from novactl import host_records
from novactl.claims import check_claim
from novactl.drivers.libvirt import builders, metadata, paths
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.drivers.libvirt.poll import SECTION, list_instances
from novactl.hoststate import InstanceInfo, build_host_state
from novactl.models import SchedulerConfig

CLAIMS_SCRIPT = f"""for f in "$1"/*.json; do [ -f "$f" ] && cat "$f" && echo; done
echo {SECTION}
L=$2; {builders.LIVE_BUILDERS}
exit 0
"""
CLAIM_TTL = 900  # seconds a claim counts at most: longer than any build; the backstop behind builder locks


@host_errors
def claim(host: Host, sched: SchedulerConfig, instance: InstanceInfo, limits: dict[str, float]) -> None:
    """Under the host lock: re-read real usage, run Nova's claim test, record the claim.

    Claims are read before domains: a racing build defines its domain before it drops its claim, so
    one of the two is always seen.
    """
    node, config, conn = host.polled_node(), host.config, host.connection
    read_claims = ["sh", "-c", CLAIMS_SCRIPT, "sh", paths.claims_dir(config), paths.locks_dir(config)]
    with conn.lock_then_run(paths.host_lock(config), read_claims, timeout=120) as done:  # one round trip
        token = builders.hold(host)  # before the claim exists: a claim's builder lock is always held
        claim_lines, live_lines = done.stdout.split(SECTION + "\n")
        instances = list_instances(host, host_records.json_lines(claim_lines, "claim", host.name), builders.parse_live(live_lines))
        state = build_host_state(config.name, config.zone, node, instances, sched.reserved_host_memory_mb, sched.reserved_host_disk_mb)
        check_claim(state, instance.flavor, limits)
        record = metadata.to_record(instance, time.time() + CLAIM_TTL) | {"builder": token}
        conn.write_file(f"{paths.claims_dir(config)}/{instance.uuid}.json", json.dumps(record).encode())
        host.claims[instance.uuid] = token


def drop(host: Host, instance_uuid: str) -> None:
    """Forget a claim: the build ended (its domain accounts for the resources) or was rolled back."""
    host.claims.pop(instance_uuid, None)
    host.connection.run(["rm", "-f", "--", f"{paths.claims_dir(host.config)}/{instance_uuid}.json"], check=False)


def settle(host: Host, instance_uuid: str) -> None:
    """The build is done and its domain accounts for the resources: drop the claim. HostError if the
    builder lock behind the claim was lost before that (builders.confirm): the claim may have counted
    for nothing since, so the build must be undone."""
    token = host.claims.get(instance_uuid)
    drop(host, instance_uuid)
    if token is not None:
        builders.confirm(host, token)
