"""What a running lab owns, recorded under /run/novactl-lab so the next lab
start can clean up after a run that was killed before ``Lab.close()``.

One JSON file per slot (``slot<k>.json``).  Slot k owns bridge ``nctlab<k>``,
veths ``nctlab<k>-<i>``, cgroups ``nctlab<k>-<host>`` and subnet
10.213.(57+k).0/24, so labs running at the same time (e.g. the 3-host session
lab and an 8-host benchmark lab) never share anything.

Processes are recorded as (pid, start time); a pid is signalled only if the
process with that pid still has the recorded start time, so a recycled pid of
an unrelated process is never killed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import cgroups

STATE_DIR = Path("/run/novactl-lab")
PREFIX = "nctlab"
MAX_SLOTS = 32


def starttime(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def proc_ref(pid: int) -> dict:
    return {"pid": pid, "start": starttime(pid)}


def alive(ref: dict) -> bool:
    return ref.get("start") is not None and starttime(ref["pid"]) == ref["start"]


def kill(ref: dict, sig: int = signal.SIGKILL) -> bool:
    """Signal the recorded process if it is still the one we started."""
    if not alive(ref):
        return False
    try:
        os.kill(ref["pid"], sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(refs: list[dict], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(alive(r) for r in refs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def link_names() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    # "12: nctlab0-1@if3: <...>" -> "nctlab0-1"
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def delete_link(name: str) -> None:
    subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


def slot_of(name: str) -> int | None:
    m = re.fullmatch(rf"{PREFIX}(\d+)(-.*)?", name)
    return int(m.group(1)) if m else None


def slot_file(slot: int) -> Path:
    return STATE_DIR / f"slot{slot}.json"


def save(slot: int, record: dict) -> None:
    tmp = slot_file(slot).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.rename(slot_file(slot))


def release(record: dict) -> list[str]:
    """Undo everything a slot record lists.  Returns problems, if any."""
    problems = []
    refs = [h["init"] for h in record.get("hosts", [])]
    for ref in refs:
        kill(ref)  # PID 1 of the namespace: the kernel kills the rest
    if not wait_gone(refs):
        problems.append(f"init processes still alive: {[r['pid'] for r in refs if alive(r)]}")
    names = set(link_names())
    for link in [*(h.get("veth") for h in record.get("hosts", [])), record.get("bridge")]:
        if link and link in names:
            delete_link(link)
    dirs = [Path(d) for h in record.get("hosts", []) for d in h.get("cgroups", [])]
    busy = cgroups.remove(dirs)
    if busy:
        problems.append(f"cgroups still busy: {busy}")
    return problems


@contextmanager
def locked() -> Iterator[None]:
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(STATE_DIR / "lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def claim_slot(workdir: Path) -> tuple[int, dict]:
    """Clean up dead labs' leftovers and claim a free slot for this process."""
    with locked():
        live = set()
        for f in sorted(STATE_DIR.glob("slot*.json")):
            try:
                record = json.loads(f.read_text())
            except (OSError, ValueError):
                f.unlink(missing_ok=True)
                continue
            if alive(record["owner"]):
                live.add(record["slot"])
                continue
            problems = release(record)
            print(
                f"novactl-lab: cleaned up leftovers of lab slot {record['slot']} (owner pid "
                f"{record['owner']['pid']} is gone){': ' + '; '.join(problems) if problems else ''}"
            )
            f.unlink(missing_ok=True)
        # Links whose record was lost (e.g. /run wiped): ours by name, owner dead.
        for name in link_names():
            s = slot_of(name)
            if s is not None and s not in live:
                print(f"novactl-lab: deleting leftover link {name}")
                delete_link(name)
        # Same for cgroups next to ours.
        hierarchies = cgroups.detect() or []
        for parent in {d.parent for d in cgroups.host_dirs(hierarchies, "x")}:
            for d in parent.glob(f"{PREFIX}*"):
                s = slot_of(d.name)
                if s is not None and s not in live and cgroups.remove([d], timeout=0):
                    print(f"novactl-lab: leftover cgroup {d} still has processes; left alone")
        slot = next(s for s in range(MAX_SLOTS + 1) if s not in live)
        if slot == MAX_SLOTS:
            raise RuntimeError(f"all {MAX_SLOTS} lab slots are in use")
        record = {
            "slot": slot,
            "owner": proc_ref(os.getpid()),
            "workdir": str(workdir),
            "bridge": f"{PREFIX}{slot}",
            "hosts": [],
        }
        save(slot, record)
        return slot, record


def drop_slot(slot: int) -> None:
    slot_file(slot).unlink(missing_ok=True)
