"""The read side of a libvirt host: node facts, guests (from their metadata), live claims, flags.

One remote command gathers every file-system fact a poll needs, and the node facts' cache with its
key (facts.py); the rest are libvirt calls: the guests, and the node facts on a cache miss.
"""

from __future__ import annotations

import time
from functools import partial

import libvirt

from novactl import host_records
from novactl.drivers.base import HostReport
from novactl.drivers.libvirt import builders, facts, metadata, paths
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.facts import POWER_STATE
from novactl.drivers.libvirt.host import Host
from novactl.hoststate import InstanceInfo
from novactl.models import Image

SECTION = "--novactl-section--"
# The script is a constant; the paths travel as positional arguments ($1..$7), never spliced into the
# shell text. Builtins do the reading (`read` loops, globs): each external command is a process on the
# host, and 8 hosts' polls can share a few cores. `stat -f` stays (the filesystem's size). The node facts'
# key comes first and the cached record last, so no file's content can shift either (a host file
# holding a section line shifts only the sections after it: those it could forge anyway).
_PRINT_FILE = 'while IFS= read -r l || [ -n "$l" ]; do printf "%s\\n" "$l"; done < "$f"'
POLL_SCRIPT = f"""
C=$7; {facts.KEY_SCRIPT}echo {SECTION}
p=$1; while [ ! -e "$p" ]; do p=${{p%/*}}; p=${{p:-/}}; done
stat -f -c '%S %b %a' "$p"
echo {SECTION}
f=$2; [ -f "$f" ] && {_PRINT_FILE}
echo {SECTION}
for f in "$3"/*; do [ -e "$f" ] && printf "%s\\n" "${{f##*/}}"; done
echo {SECTION}
for f in "$4"/*.json; do [ -f "$f" ] && {_PRINT_FILE}; done
echo {SECTION}
for f in "$5"/*.json; do [ -f "$f" ] && {_PRINT_FILE}; done
echo {SECTION}
L=$6; {builders.LIVE_BUILDERS}
echo {SECTION}
printf '%s' "$r"
exit 0
"""


@host_errors
def poll(host: Host, images: list[Image]) -> HostReport:
    """Node facts (stored on `host.node`), guests and live claims, service flag, cached images, groups."""
    config = host.config
    conn = host.libvirt  # first: over SSH its start-up overlaps the remote shell's
    out = host.connection.run(
        [
            "sh",
            "-c",
            POLL_SCRIPT,
            "sh",
            config.instances_path,
            paths.service_file(config),
            config.base_path,
            paths.groups_dir(config),
            paths.claims_dir(config),
            paths.locks_dir(config),
            paths.node_facts_file(config),
        ]
    ).stdout
    key, *parts, cached = out.split(SECTION + "\n", 7)  # the cached file, last, may hold anything
    fs_line, service_text, base_listing, group_lines, claim_lines, live_lines = (part.strip() for part in parts)
    block, blocks, _avail = (int(v) for v in fs_line.split())
    host.node = facts.node_facts(host, conn, facts.parse_probe(key, cached), block * blocks)
    instances = list_instances(host, host_records.json_lines(claim_lines, "claim", host.name), builders.parse_live(live_lines))
    disabled, disabled_reason = host_records.service_flags(service_text, host.name)
    cached = set(base_listing.split())
    return HostReport(
        node=host.node,
        instances=instances,
        disabled=disabled,
        disabled_reason=disabled_reason,
        cached_images={image.id for image in images if paths.base_name(image.id) in cached},
        server_groups=host_records.group_records(host_records.json_lines(group_lines, "server group record", host.name), host.name),
    )


def list_instances(host: Host, claims: list[dict], live_builders: set[str]) -> list[InstanceInfo]:
    """novactl's guests from their metadata, plus live claims of builds in flight (as BUILD).

    Running domains novactl did not make count only as memory and vCPUs on the node.
    """
    node = host.polled_node()
    node.extra_memory_mb_used = node.extra_vcpus_used = 0
    instances = []
    for domain in host.libvirt.listAllDomains(0):
        state, max_kib, _mem, nr_vcpus, _cpu_time = domain.info()
        try:
            xml = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata.NAMESPACE)
        except libvirt.libvirtError:
            xml = None
        instance = None
        if xml is not None:
            build = partial(metadata.from_xml, xml, host.name, domain.UUIDString(), domain.name())
            instance = host_records.read_instance(build, f"metadata of {domain.name()}", host.name)
        if instance is None:  # not novactl's, or metadata novactl would not have written: foreign usage
            if domain.isActive():
                node.extra_memory_mb_used += max_kib // 1024
                node.extra_vcpus_used += nr_vcpus
            continue
        instance.power_state = POWER_STATE.get(state, 0)
        instances.append(instance)
    known = {i.uuid for i in instances}
    now = time.time()
    for record in claims:  # a dead builder's claim counts nowhere; one whose domain exists, once
        if not host_records.live_claim(record, now) or not builders.is_live(record, live_builders, now):
            continue
        instance = host_records.read_instance(partial(metadata.from_record, record, host.name), "claim", host.name)
        if instance is not None and instance.uuid not in known:
            instances.append(instance)
    return instances
