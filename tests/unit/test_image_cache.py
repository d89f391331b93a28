"""Image cache management: durations, the scan of a host's `_base` read defensively (a scripted connection
answers as a host would), the prune rules, the per-image lock, and the commands' exit codes on fake hosts.
The lab test (tests/integration/test_day2.py) prunes real bases under a running guest."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from novactl import image_cache
from novactl.drivers.base import CachedImage, ImageCacheListing
from novactl.drivers.libvirt import imagecache
from novactl.errors import HostError, UsageError
from novactl.models import HostConfig
from novactl.remote import Result

HOST = HostConfig(name="kvm1", address="192.0.2.1", instances_path="/srv/i", state_path="/srv/s")
A, B, C = "a" * 40, "b" * 40, "c" * 40
UUID = "3f1b7c52-4d0e-4f7a-9a61-2b8e5c9d0a17"


# -- durations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("90m", 5400), ("1h30m", 5400), ("2d", 172800), ("45", 45), ("0", 0), ("1w", 604800)]
)
def test_durations(text, seconds):
    assert image_cache.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "3x", "-1h", "1h-", "24 hours", "nan", "1e3", "9" * 30 + "d"])
def test_bad_durations(text):
    with pytest.raises(UsageError, match="bad duration"):
        image_cache.parse_duration(text)


@given(st.integers(min_value=0, max_value=5000), st.sampled_from(["", "s", "m", "h", "d", "w"]))
def test_duration_units(number, unit):
    assert image_cache.parse_duration(f"{number}{unit}") == number * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


@given(st.text(max_size=12))
def test_durations_never_crash(text):
    with contextlib.suppress(UsageError):
        assert image_cache.parse_duration(text) >= 0


# -- the scan, read as untrusted input ----------------------------------------------------------------------


class Scripted:
    """A Connection answering the scan and remove scripts from canned text; locks can be made busy."""

    def __init__(self, scan_out: str = "", remove_out: str = "removed\n", lock_busy: bool = False):
        self.host = HOST
        self.scan_out, self.remove_out, self.lock_busy = scan_out, remove_out, lock_busy
        self.ran: list[tuple[str, ...]] = []
        self.locked: list[str] = []

    def run(self, argv, *, check=True, timeout=300):
        self.ran.append(tuple(argv))
        out = self.scan_out if argv[2] == imagecache.SCAN_SCRIPT else self.remove_out
        return Result("kvm1", tuple(argv), 0, out, "")

    @contextlib.contextmanager
    def lock(self, path, timeout=60):
        if self.lock_busy:
            raise HostError("kvm1", f"cannot lock {path} within {timeout:g} s")
        self.locked.append(path)
        yield


def _disk(directory: str, info) -> str:
    text = info if isinstance(info, str) else json.dumps(info)
    return f"disk\t/srv/i/{directory}/disk\t{text}"


def test_scan_reads_bases_and_users():
    out = "\n".join(
        [
            "1700000000",
            f"base 1048576 1699990000 /srv/i/_base/{A}",
            f"base 2048 1600000000 /srv/i/_base/{B}",
            f"base 99 1600000000 /srv/i/_base/{A}.part-1234abcd",  # a transfer in progress: not a base
            "base 5 1600000000 /srv/i/_base/notes.txt",
            "base x 1 /srv/i/_base/" + C,  # unreadable size: skipped
            _disk(UUID, {"backing-filename": f"/srv/i/_base/{A}", "full-backing-filename": f"/srv/i/_base/{A}"}),
            _disk(f"{UUID}_resize", {"backing-filename": f"/srv/i/_base/{A}"}),  # the same instance, kept for a revert
            _disk("other", {"backing-filename": f"/elsewhere/{B}"}),  # not our cache
            _disk("plain", {"format": "raw"}),
        ]
    )
    listing = imagecache.scan(Scripted(out), HOST)
    assert listing.scanned_at == 1700000000 and listing.unreadable == []
    assert listing.bases == [CachedImage(A, 1048576, 1699990000, [UUID]), CachedImage(B, 2048, 1600000000, [])]


@pytest.mark.parametrize("info", ["", "not json", "[1, 2]", json.dumps({"backing-filename": 7})])
def test_an_unreadable_disk_is_reported(info):
    listing = imagecache.scan(Scripted(f"1700000000\n{_disk(UUID, info)}\n"), HOST)
    assert listing.unreadable == [f"/srv/i/{UUID}/disk"]


def test_a_scan_without_clock_is_refused():
    with pytest.raises(HostError, match="unreadable image cache scan"):
        imagecache.scan(Scripted("garbage\n"), HOST)


# -- removal: the per-image lock and the answers --------------------------------------------------------------


def test_remove_takes_the_image_lock_and_passes_the_scan_clock():
    conn = Scripted()
    assert imagecache.remove(conn, HOST, A, 1700000000) == "removed"
    assert conn.locked == [f"/srv/s/locks/image-{A}.lock"]
    (argv,) = conn.ran
    assert argv[:3] == ("sh", "-c", imagecache.REMOVE_SCRIPT) and argv[4] == f"/srv/i/_base/{A}" and argv[6] == "1700000000"
    assert argv[5].startswith(f"/srv/i/_base/{A}.pruning-")


def test_remove_never_during_a_transfer():
    conn = Scripted(lock_busy=True)
    assert imagecache.remove(conn, HOST, A, 1700000000) == "locked"
    assert conn.ran == []


@pytest.mark.parametrize(("answer", "outcome"), [("in use\n", "in use"), ("gone\n", "gone")])
def test_remove_outcomes(answer, outcome):
    assert imagecache.remove(Scripted(remove_out=answer), HOST, A, 1) == outcome


def test_remove_refuses_strange_names_and_answers():
    with pytest.raises(UsageError):
        imagecache.remove(Scripted(), HOST, "../../etc/passwd", 1)
    with pytest.raises(HostError, match="unexpected answer"):
        imagecache.remove(Scripted(remove_out="what\n"), HOST, A, 1)


# -- the prune rules ---------------------------------------------------------------------------------------------


class StubDriver:
    def __init__(self, outcome="removed"):
        self.outcome, self.removed = outcome, []

    def remove_cached_image(self, name, unused_since):
        self.removed.append((name, unused_since))
        return self.outcome


@pytest.mark.parametrize(
    ("base", "unreadable", "dry_run", "outcome", "result", "freed"),
    [
        (CachedImage(A, 10, 0, [UUID]), [], False, "removed", "kept: in use by 1 instance(s)", 0),
        (CachedImage(A, 10, 0, []), ["/srv/i/x/disk"], False, "removed", "kept: the backing file of /srv/i/x/disk cannot be read", 0),
        (CachedImage(A, 10, 90000 - 3600, []), [], False, "removed", "kept: used 1h ago (under --min-age 1d)", 0),
        (CachedImage(A, 10, 0, []), [], True, "removed", "would remove", 10),
        (CachedImage(A, 10, 0, []), [], False, "removed", "removed", 10),
        (CachedImage(A, 10, 0, []), [], False, "in use", "kept: used since the scan", 0),
        (CachedImage(A, 10, 0, []), [], False, "locked", "kept: a transfer of this image holds its lock", 0),
        (CachedImage(A, None, None, []), [], False, "removed", "kept: when it was last used is unknown", 0),  # a fake host's
    ],
)
def test_prune_rules(base, unreadable, dry_run, outcome, result, freed):
    driver = StubDriver(outcome)
    listing = ImageCacheListing([base], 90000, unreadable)
    row = image_cache._prune_one(driver, HOST, base, listing, 86400, dry_run, None)
    assert row.result.startswith(result) and row.freed == freed
    touched = not (base.users or unreadable or dry_run or base.mtime is None or result.startswith("kept: used 1h"))
    assert driver.removed == ([(A, 90000)] if touched else [])


# -- commands on fake hosts ------------------------------------------------------------------------------------------

FAKE = """\
images:
  - {id: 11111111-2222-3333-4444-555555555555, name: cirros, file: cirros.qcow2}
  - {id: 22222222-2222-3333-4444-555555555555, name: other, file: missing.qcow2}
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
hosts:
  - name: f1
    driver: fake
    facts:
      memory_mb: 4096
      vcpus: 2
      local_gb: 10
      cached_images: [11111111-2222-3333-4444-555555555555]
      instances: [{name: a, flavor: m1.tiny, image: 11111111-2222-3333-4444-555555555555}]
"""


def test_list_on_a_fake_host_says_size_and_last_use_are_unknown(write_inventory, run_main):
    path = write_inventory(FAKE)
    result = run_main("-i", str(path), "image-cache-list", "--host", "f1", "-f", "json")
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["Host"], row["Image Name"], row["In Use By"]) == ("f1", "cirros", 1)
    assert row["Base"] == image_cache.base_name("11111111-2222-3333-4444-555555555555")
    assert (row["Size"], row["Last Used"]) == (None, None)  # not 0 and 1970: the facts do not say
    table = run_main("-i", str(path), "image-cache-list", "--host", "f1").stdout
    cells = [c.strip() for c in table.splitlines()[3].split("|")[1:-1]]
    assert (cells[4], cells[6]) == ("-", "-")
    assert table.endswith("Size and Last Used unknown on f1: a fake host's facts do not give them.\n")


def test_list_shows_a_down_host_as_down_with_the_reason_not_in_a_column(fake_cluster, run_main):
    done = run_main("-i", str(fake_cluster), "image-cache-list", "--host", "compute1", "--host", "compute3")
    assert done.exit_code == 1, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("| compute3 | (not read: host down) |") for line in lines)
    assert "compute3 is down: connection refused" in lines
    machine = run_main("-i", str(fake_cluster), "image-cache-list", "--host", "compute1", "--host", "compute3", "-f", "json")
    assert machine.exit_code == 1 and {row["Host"] for row in json.loads(machine.stdout)} <= {"compute1"}
    assert "ERROR" not in machine.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["image-cache-prune", "--min-age", "soon"], "ERROR: bad duration 'soon'"),
        (["image-cache-prune", "--host", "f1", "--image", "other"], "ERROR: image other is not cached on f1"),
        (["image-cache-prune", "--host", "nosuch"], "ERROR: unknown host 'nosuch'"),
        (["image-cache-list", "--host", "nosuch"], "ERROR: unknown host 'nosuch'"),
        (["image-cache-warm", "nosuch"], "ERROR: unknown image 'nosuch'"),
        (["image-cache-warm", "other", "--host", "f1"], "ERROR: image other: file "),
    ],
)
def test_bad_input_is_exit_2(write_inventory, run_main, argv, message):
    path = write_inventory(FAKE)
    result = run_main("-i", str(path), *argv)
    assert result.exit_code == 2 and result.stderr.startswith(message), result.stderr
