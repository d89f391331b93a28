"""What dead commands leave on a libvirt host, found and removed under the host lock (`cleanup`).

A SIGKILLed novactl runs no undo. Depending on the step it died at, a host may keep: a claim of a
dead builder; a builder lock file; a half-sent base (`_base/<sha1>.part-*`); an instance directory
without its domain; a domain still in BUILD; a failed cold move's copy defined late by a target whose
libvirtd was frozen (the instance was put back on its source); the source of a cold move renamed `<uuid>_resize` with
no domain anywhere; a tap or a bridge nothing uses. `scan` gathers the facts in one command plus a
few libvirt calls, `decide` (pure) says what to do with each, `apply` does it.

What is never touched: anything of a build in flight (its claim's builder lock is held, on this or
any host), a base whose image lock is held, names novactl did not make (only UUIDs, its own lock
and part names, taps named after instances, inventory bridges marked by novactl), and a directory
that may hold the only copy of an instance's disks: that is defined again instead (from its
`libvirt.xml`), and kept as it is while any host is down.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from novactl.drivers.base import ClusterView, Leftover, Survey
from novactl.drivers.libvirt import builders, guest, metadata, paths
from novactl.drivers.libvirt.errors import host_errors
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError

LOG = logging.getLogger("novactl.virt.libvirt.cleanup")
SECTION = "--novactl-section--"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
INSTANCE_DIR = re.compile(rf"({UUID})(_resize)?")
CLAIM_FILE = re.compile(rf"({UUID})\.json")
CLAIM_TEMP = re.compile(rf"{UUID}\.json\.tmp-[0-9a-f]{{8}}")  # an interrupted write_file
PARTIAL_BASE = re.compile(r"[0-9a-f]{40}\.part-[0-9a-f]{8}(\.raw)?")
TAP = re.compile(r"tap[0-9a-f]{8}-[0-9a-f]{2}")  # vif.tap_name: 11 characters of the uuid
BRIDGE_MARK = "novactl"  # the alias vif.ensure_bridge gives a bridge it creates
MAX_CLAIM = 65536  # bytes of a claim file read; a real one is under 2 KiB

# $1 instances_path  $2 claims dir  $3 locks dir  $4 _base: one line per fact, sections in order.
SCAN_SCRIPT = f"""
for d in "$1"/*/; do d=${{d%/}}; f=-; [ -f "$d/libvirt.xml" ] && f=x; [ -e "$d/{paths.DELETING}" ] && f=${{f}}d; echo "${{d##*/}} $f"; done
echo {SECTION}
for f in "$2"/*; do [ -f "$f" ] && echo "${{f##*/}} $(head -c {MAX_CLAIM} "$f" | tr -d '\\n')"; done
echo {SECTION}
L=$3; {builders.LIVE_BUILDERS}
echo {SECTION}
for l in "$3"/builder-*.lock; do [ -f "$l" ] && echo "${{l##*/}}"; done
echo {SECTION}
mkdir -p -- "$3"
for p in "$4"/*.part-*; do [ -e "$p" ] || continue; n=${{p##*/}}; flock -n -s "$3/image-${{n%%.part-*}}.lock" true && echo "$n"; done
echo {SECTION}
for i in /sys/class/net/*; do n=${{i##*/}}; case $n in tap*) echo "tap $n";; esac
  if [ -d "$i/bridge" ]; then a=$(cat "$i/ifalias" 2>/dev/null); echo "bridge $n ${{a:--}}" $(ls "$i/brif"); fi; done
exit 0
"""


@dataclass
class Facts:
    dirs: dict[str, str] = field(default_factory=dict)  # uuid or uuid_resize -> flags: x libvirt.xml, d deleting
    claims: dict[str, dict | None] = field(default_factory=dict)  # claim file name -> record (None: unreadable)
    live_builders: set[str] = field(default_factory=set)
    builder_locks: list[str] = field(default_factory=list)
    partial_bases: list[str] = field(default_factory=list)  # whose image lock nobody holds
    domains: dict[str, str] = field(default_factory=dict)  # uuid -> vm_state of novactl's domains
    links: dict[str, set[str]] = field(default_factory=dict)  # domain uuid (any domain) -> its bridges and taps
    taps: list[str] = field(default_factory=list)
    bridges: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # name -> (alias, its ports)
    xml_states: dict[str, str | None] = field(default_factory=dict)  # dir -> vm_state in its libvirt.xml

    def in_flight(self) -> set[str]:
        """uuids of the builds whose builder lives."""
        return {r["uuid"] for r in self.claims.values() if r is not None and builders.in_flight(r, self.live_builders)}


@dataclass
class Step:
    kind: str
    name: str
    verb: str  # remove-claim, -lock, -part, -dir, -domain, -link; move-back, define, unmark, keep
    why: str

    def leftover(self, where: dict[str, str], dry_run: bool) -> Leftover:
        """As reported: the name as a path when it is a file, what was done (or would be) and why."""
        done = {"move-back": "restored", "define": "defined again", "keep": "kept", "unmark": "kept"}.get(self.verb, "removed")
        if dry_run and self.verb != "keep":
            done = "would be " + done
        path = f"{where[self.kind]}/{self.name}" if self.kind in where else self.name
        return Leftover(self.kind, path, f"{done}: {self.why}")


# -- facts ----------------------------------------------------------------------------------------------


@host_errors
def survey(host: Host) -> Survey:
    facts = scan(host)
    directories = frozenset(INSTANCE_DIR.fullmatch(name).group(1) for name in facts.dirs)  # parse_scan kept only these names
    return Survey(frozenset(facts.domains), frozenset(facts.in_flight()), directories)


def scan(host: Host) -> Facts:
    config, conn = host.config, host.connection
    argv = ["sh", "-c", SCAN_SCRIPT, "sh", config.instances_path, paths.claims_dir(config), paths.locks_dir(config), config.base_path]
    facts = parse_scan(conn.run(argv).stdout)
    _domains(host, facts)
    for name, flags in facts.dirs.items():
        if name not in facts.domains and flags == "x":  # the candidates for removal or a new define
            facts.xml_states[name] = _xml_state(conn.read_file(f"{config.instances_path}/{name}/libvirt.xml"))
    return facts


def parse_scan(text: str) -> Facts:
    """SCAN_SCRIPT's output as Facts; anything read from the host that is not a name novactl makes is dropped."""
    sections = [part.strip() for part in text.split(SECTION + "\n")]
    dirs, claims, live, locks, parts, links = (sections + [""] * 6)[:6]
    facts = Facts(live_builders=builders.parse_live(live))
    for line in dirs.splitlines():
        name, _, flags = line.partition(" ")
        if INSTANCE_DIR.fullmatch(name):
            facts.dirs[name] = flags
    for line in claims.splitlines():
        name, _, text = line.partition(" ")
        if CLAIM_FILE.fullmatch(name) or CLAIM_TEMP.fullmatch(name):
            facts.claims[name] = _claim(name, text)
    facts.builder_locks = [name for name in locks.split() if builders.LOCK_NAME.fullmatch(name)]
    facts.partial_bases = [name for name in parts.split() if PARTIAL_BASE.fullmatch(name)]
    for line in links.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        kind, name, *rest = [*fields, ""]
        if kind == "tap" and TAP.fullmatch(name):
            facts.taps.append(name)
        elif kind == "bridge":
            facts.bridges[name] = (rest[0], set(rest[1:]) - {""})
    return facts


def _claim(name: str, text: str) -> dict | None:
    """The claim's record if it is one, for this file's uuid; None for anything else."""
    match = CLAIM_FILE.fullmatch(name)
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not match or not isinstance(record, dict) or record.get("uuid") != match.group(1):
        return None
    return record


def _domains(host: Host, facts: Facts) -> None:
    for domain in host.libvirt.listAllDomains(0):
        root = ET.fromstring(domain.XMLDesc(0))
        links = facts.links.setdefault(domain.UUIDString(), set())
        for interface in root.iterfind("devices/interface"):
            for element, attribute in (("source", "bridge"), ("target", "dev")):
                node = interface.find(element)
                if node is not None and node.get(attribute):
                    links.add(node.get(attribute, ""))
        state = root.find(f"metadata/{{{metadata.NAMESPACE}}}instance/{{{metadata.NAMESPACE}}}state")
        if root.find(f"metadata/{{{metadata.NAMESPACE}}}instance") is not None:
            facts.domains[domain.UUIDString()] = state.get("vm_state", "") if state is not None else ""


def _xml_state(text: bytes | None) -> str | None:
    """vm_state in a libvirt.xml's novactl metadata; None when it is no readable domain XML."""
    if not text:
        return None
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    state = root.find(f"metadata/{{{metadata.NAMESPACE}}}instance/{{{metadata.NAMESPACE}}}state")
    return state.get("vm_state", "") if state is not None else None


# -- decisions --------------------------------------------------------------------------------------------


def decide(host_name: str, facts: Facts, view: ClusterView, bridges: set[str]) -> list[Step]:
    """What to do with each leftover on `host_name`; nothing of a build in flight anywhere."""
    mine = facts.in_flight()
    busy = mine | view.live_claims
    steps: list[Step] = []
    for name, record in sorted(facts.claims.items()):
        if record is None:
            steps.append(Step("claim", name, "remove-claim", "not a claim (interrupted write or unreadable)"))
        elif record["uuid"] not in mine:
            steps.append(Step("claim", name, "remove-claim", "its builder is dead"))
    dead = [n for n in facts.builder_locks if n.removeprefix("builder-").removesuffix(".lock") not in facts.live_builders]
    steps += [Step("builder lock", n, "remove-lock", "its process is dead") for n in dead]
    steps += [Step("partial base", n, "remove-part", "an interrupted image transfer") for n in facts.partial_bases]
    gone = set()
    for uuid, state in sorted(facts.domains.items()):
        if state == "building" and uuid not in busy:
            steps.append(Step("domain", uuid, "remove-domain", "stuck in BUILD; its builder is dead"))
            gone.add(uuid)
        # A cold move that failed put the instance back on its source; a target libvirtd that was frozen
        # may still carry out the define it was sent, later: that VERIFY_RESIZE copy is the leftover.
        put_back = view.copies.get(uuid, set()) - {host_name}
        if state == "resized" and put_back and uuid not in busy:
            steps.append(Step("domain", uuid, "remove-domain", f"a failed move's copy; the instance is on {', '.join(sorted(put_back))}"))
            gone.add(uuid)
    for name, flags in sorted(facts.dirs.items()):
        if name in facts.domains and name not in gone and "d" in flags:
            steps.append(Step("instance directory", name, "unmark", "a delete died before it undefined the domain"))
        if name.endswith("_resize") or name in busy or name in facts.domains:
            continue  # a removed BUILD domain took its directory with it
        step = _instance_dir(host_name, name, flags, facts, view)
        steps.append(step)
        if step.verb in ("remove-dir", "remove-domain"):
            gone.add(name)
    for name in sorted(facts.dirs):
        uuid = name.removesuffix("_resize")
        if name.endswith("_resize") and uuid not in busy and (uuid not in facts.dirs or uuid in gone):
            step = _resize_source(host_name, name, uuid, facts, view, gone)
            if step:
                steps.append(step)
    # A removed domain's tap goes with it (libvirt's own); its bridge may then be unused.
    in_use = set().union(*(links for uuid, links in facts.links.items() if uuid not in gone))
    taps_of_domains = set().union(*facts.links.values())
    for tap in facts.taps:
        if tap not in taps_of_domains:
            steps.append(Step("tap", tap, "remove-link", "no domain uses it"))
    leaving = taps_of_domains - in_use  # ports that go with the removed domains
    # Any instance directory that stays (a kept or restored one, a resize source) may be defined or
    # started again and need its bridge: bridges go only from a host left with no instance at all.
    staying = [name for name in facts.dirs if name.endswith("_resize") or name not in gone]
    for bridge, (alias, ports) in sorted(facts.bridges.items()):
        if bridge in bridges and alias == BRIDGE_MARK and ports <= leaving and bridge not in in_use and not mine and not staying:
            steps.append(Step("bridge", bridge, "remove-link", "novactl made it and nothing uses it"))
    return steps


def _instance_dir(host_name: str, name: str, flags: str, facts: Facts, view: ClusterView) -> Step:
    if "d" in flags:
        return Step("instance directory", name, "remove-dir", "an interrupted delete")
    if "x" not in flags or facts.xml_states.get(name) == "building":
        return Step("instance directory", name, "remove-dir", "a build or a copy that never finished")
    elsewhere = view.domains.get(name)
    if elsewhere and elsewhere != host_name:
        return Step("instance directory", name, "remove-dir", f"a move's leftover: the instance is on {elsewhere}")
    if facts.xml_states.get(name) is None:
        return Step("instance directory", name, "keep", "no domain and no readable libvirt.xml; look at it by hand")
    if view.down:
        return Step("instance directory", name, "keep", f"no domain here; down hosts may hold it: {', '.join(view.down)}")
    return Step("instance directory", name, "define", "no domain anywhere (a move or revert was interrupted)")


def _resize_source(host_name: str, name: str, uuid: str, facts: Facts, view: ClusterView, gone: set[str]) -> Step | None:
    elsewhere = view.domains.get(uuid)
    if elsewhere and elsewhere != host_name:
        return None  # VERIFY_RESIZE: the instance runs on the target until resize-confirm or -revert
    if uuid in facts.domains and uuid not in gone:
        return Step("resize source", name, "move-back", "a cold move died before the source was undefined")
    if view.down:
        return Step("resize source", name, "keep", f"no domain here; down hosts may hold it: {', '.join(view.down)}")
    return Step("resize source", name, "move-back", "a cold move died before the target was defined")


# -- actions ------------------------------------------------------------------------------------------------


@host_errors
def clean_up(host: Host, recheck: Callable[[], ClusterView], view: ClusterView, bridges: set[str], dry_run: bool) -> list[Leftover]:
    config = host.config
    with host.connection.lock(paths.host_lock(config), timeout=120):
        facts = scan(host)
        steps = decide(host.name, facts, view, bridges)
        if not dry_run and any(s.verb in ("define", "move-back") for s in steps):
            # A move started after the survey shows now as the target's claim or domain.
            fresh = recheck()
            restoring = {s.name for s in steps if s.verb in ("define", "move-back")}
            steps = [s for s in steps if s.name not in restoring] + [
                s for s in decide(host.name, facts, fresh, bridges) if s.name in restoring
            ]
        if not dry_run:
            for step in steps:
                _apply(host, facts, step)
    for step in steps:
        LOG.info("%s: %s %s %s (%s)", host.name, step.verb, step.kind, step.name, step.why)
    where = {"claim": paths.claims_dir(config), "builder lock": paths.locks_dir(config), "partial base": config.base_path}
    where |= {"instance directory": config.instances_path, "resize source": config.instances_path}
    return [step.leftover(where, dry_run) for step in steps]


def _apply(host: Host, facts: Facts, step: Step) -> None:
    config, conn = host.config, host.connection
    if step.verb == "remove-claim":
        conn.run(["rm", "-f", "--", f"{paths.claims_dir(config)}/{step.name}"])
    elif step.verb == "remove-lock":
        conn.run(["rm", "-f", "--", f"{paths.locks_dir(config)}/{step.name}"])
    elif step.verb == "remove-part":
        conn.run(["rm", "-f", "--", f"{config.base_path}/{step.name}"])
    elif step.verb == "remove-domain":
        domain = guest.find(host, step.name)
        if domain is not None:
            guest.undefine(domain)
        conn.run(["rm", "-rf", "--", paths.instance_dir(config, step.name)])
    elif step.verb == "remove-dir":
        conn.run(["rm", "-rf", "--", paths.instance_dir(config, step.name)])
    elif step.verb == "remove-link":
        gone = conn.run(["ip", "link", "del", "dev", step.name], check=False)
        if not gone.ok and "Cannot find device" not in gone.stderr:
            raise HostError(host.name, f"cannot remove {step.name}: {gone.stderr.strip()}")
    elif step.verb == "move-back":
        uuid = step.name.removesuffix("_resize")
        conn.run(["mv", "-T", "--", paths.instance_dir(config, step.name), paths.instance_dir(config, uuid)])
        if uuid not in facts.domains:
            _define_from_file(host, uuid)
    elif step.verb == "unmark":  # else a later move would carry the mark and a crash could delete its only copy
        conn.run(["rm", "-f", "--", f"{paths.instance_dir(config, step.name)}/{paths.DELETING}"])
    elif step.verb == "define":
        _define_from_file(host, step.name)


def _define_from_file(host: Host, uuid: str) -> None:
    """Define the instance again from the libvirt.xml beside its disks, if it is that instance's."""
    directory = paths.instance_dir(host.config, uuid)
    text = host.connection.read_file(f"{directory}/libvirt.xml") or b""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        root = None
    if root is None or root.tag != "domain" or root.findtext("uuid") != uuid:
        raise HostError(host.name, f"{directory}/libvirt.xml is not the domain of {uuid}; define it by hand")
    host.libvirt.defineXML(text.decode())
