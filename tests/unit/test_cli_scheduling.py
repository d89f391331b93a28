"""The scheduling commands end to end on fake hosts: `boot --dry-run` (table and json), no valid host,
multi-create, availability zones, server-group and same/different-host hints, bad input, `capacity`
(cross-checked against successive dry-run placements) and the server-group commands.

Usage in SCHED, as Nova's resource tracker counts it (reserved_host_memory_mb 512, ram ratio 1.5, disk 1.0):
  alpha   4096 MB, 4 vCPUs, 100 GB; web-1 (tiny)            -> RAM 1024, vCPUs 1, disk 1
  bravo   8192 MB, 8 vCPUs, 200 GB; db-1 (small), web-2 (tiny) -> RAM 3072, vCPUs 2, disk 21
  charlie 4096 MB, 4 vCPUs, 100 GB, zone az2; big-1 (medium)  -> RAM 4608, vCPUs 2, disk 40
  delta   16384 MB, 8 vCPUs, 50 GB; lone-1 (small)            -> RAM 2560, vCPUs 1, disk 20
  echo    16384 MB, 16 vCPUs, 500 GB, disabled (maintenance), empty
For m1.medium (4096 MB, 40 GB, 2 vCPUs): charlie has 6144 − 4608 = 1536 MB usable (RamFilter), delta
51200 − 20480 = 30720 MB of disk (DiskFilter), echo is disabled (ComputeFilter); alpha takes 1
(5120 MB usable), bravo 2 (9216 MB usable).
Group members: web (anti-affinity) on alpha (web-1, by name) and bravo (web-2, by the group's id);
db (affinity) on bravo; batch (anti-affinity) and solo (affinity) have none.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.unit.conftest import make_qcow2
from tests.unit.runner import invoke, run

WEB_ID = "5b0e6a7c-2f4d-4c1b-8e9a-7d3c2b1a0f65"
WEB1 = "aaaaaaaa-0000-4000-8000-000000000001"  # on alpha, group web (by name)
DB1 = "bbbbbbbb-0000-4000-8000-000000000001"  # on bravo, group db
WEB2 = "bbbbbbbb-0000-4000-8000-000000000002"  # on bravo, group web (by id)
BIG1 = "cccccccc-0000-4000-8000-000000000001"  # on charlie
LONE1 = "dddddddd-0000-4000-8000-000000000001"  # on delta

SCHED = f"""\
scheduler:
  reserved_host_memory_mb: 512
flavors:
  - {{id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}}
  - {{id: "2", name: m1.small, ram: 2048, disk: 20, vcpus: 1}}
  - {{id: "3", name: m1.medium, ram: 4096, disk: 40, vcpus: 2}}
images:
  - {{id: 8c5f0a4e-7d21-4b1e-9f3a-6e2d1c0b9a88, name: cirros, file: images/cirros.qcow2}}
server_groups:
  - {{name: web, policy: anti-affinity, id: {WEB_ID}}}
  - {{name: db, policy: affinity}}
  - {{name: batch, policy: anti-affinity}}
  - {{name: solo, policy: affinity}}
hosts:
  - name: alpha
    driver: fake
    facts:
      memory_mb: 4096
      vcpus: 4
      local_gb: 100
      instances:
        - {{name: web-1, uuid: {WEB1}, flavor: m1.tiny, group: web}}
  - name: bravo
    driver: fake
    facts:
      memory_mb: 8192
      vcpus: 8
      local_gb: 200
      instances:
        - {{name: db-1, uuid: {DB1}, flavor: m1.small, group: db}}
        - {{name: web-2, uuid: {WEB2}, flavor: m1.tiny, group: {WEB_ID}}}
  - name: charlie
    driver: fake
    zone: az2
    facts:
      memory_mb: 4096
      vcpus: 4
      local_gb: 100
      instances:
        - {{name: big-1, uuid: {BIG1}, flavor: m1.medium}}
  - name: delta
    driver: fake
    facts:
      memory_mb: 16384
      vcpus: 8
      local_gb: 50
      instances:
        - {{name: lone-1, uuid: {LONE1}, flavor: m1.small}}
  - name: echo
    driver: fake
    facts: {{memory_mb: 16384, vcpus: 16, local_gb: 500, disabled: true, disabled_reason: maintenance}}
"""

# One host per limiting resource, with CoreFilter enabled. c1.medium: 1024 MB, 10 GB, 2 vCPUs.
#   ramhost  3072 − 512 = 2560 MB usable -> 2;  diskhost 35 GB -> 3;  cpuhost 2 vCPUs × 2.0 -> 2
#   onecpu   1 vCPU < 2 (no overcommit against itself) -> 0;  offhost disabled -> 0
CAPACITY = """\
scheduler:
  filters: [RetryFilter, AvailabilityZoneFilter, RamFilter, DiskFilter, CoreFilter, ComputeFilter]
flavors:
  - {id: c1, name: c1.medium, ram: 1024, disk: 10, vcpus: 2}
images:
  - {id: 8c5f0a4e-7d21-4b1e-9f3a-6e2d1c0b9a88, name: cirros, file: images/cirros.qcow2}
hosts:
  - {name: ramhost, driver: fake, facts: {memory_mb: 2048, vcpus: 8, local_gb: 100}}
  - {name: diskhost, driver: fake, facts: {memory_mb: 16384, vcpus: 8, local_gb: 35}}
  - {name: cpuhost, driver: fake, cpu_allocation_ratio: 2.0, facts: {memory_mb: 16384, vcpus: 2, local_gb: 100}}
  - {name: onecpu, driver: fake, facts: {memory_mb: 16384, vcpus: 1, local_gb: 100}}
  - {name: offhost, driver: fake, facts: {memory_mb: 16384, vcpus: 8, local_gb: 100, disabled: true}}
"""

DEFAULT_FILTERS = [
    "RetryFilter",
    "AvailabilityZoneFilter",
    "RamFilter",
    "DiskFilter",
    "ComputeFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
]
DEFAULT_WEIGHERS = ["RAMWeigher", "DiskWeigher", "CPUWeigher", "ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher"]
NO_GROUP_WEIGHTS = (
    "ServerGroupSoftAffinityWeigher raw 0 members -> 0.000, ServerGroupSoftAntiAffinityWeigher raw 0 members (negated) -> 0.000"
)
TINY = ("--flavor", "m1.tiny", "--image", "cirros")
MEDIUM = ("--flavor", "m1.medium", "--image", "cirros")


# -- helpers ------------------------------------------------------------------------------------------------


def write_cluster(directory: Path, text: str, name: str = "inventory.yaml") -> Path:
    """The inventory text in DIRECTORY, with the image file boot's validation wants (images/cirros.qcow2)."""
    path = directory / name
    path.write_text(textwrap.dedent(text))
    (directory / "images").mkdir(exist_ok=True)
    make_qcow2(directory / "images" / "cirros.qcow2")
    return path


@pytest.fixture
def sched(tmp_path: Path) -> Path:
    return write_cluster(tmp_path, SCHED)


@pytest.fixture
def cap(tmp_path: Path) -> Path:
    return write_cluster(tmp_path, CAPACITY)


def with_filters(text: str, *extra: str) -> str:
    """SCHED-like text whose scheduler section enables the default filters plus EXTRA."""
    filters = ", ".join([*DEFAULT_FILTERS, *extra])
    return text.replace("scheduler:\n", f"scheduler:\n  filters: [{filters}]\n", 1)


def dry_run_json(inventory: Path, *args: str, code: int = 0) -> dict:
    return json.loads(invoke(inventory, "boot", "vm", *args, "--dry-run", "-f", "json", code=code))


def footer(text: str) -> list[str]:
    """The lines after the Property | Value box of a dry run."""
    lines = text.splitlines()
    return lines[lines.index(lines[0], 3) + 1 :]


def capacity_json(inventory: Path, *args: str) -> dict:
    """capacity -f json: flavor, total, note and hosts, each host's entry keyed by its name."""
    document = json.loads(invoke(inventory, "capacity", *args, "-f", "json"))
    document["hosts"] = {entry["host"]: entry for entry in document["hosts"]}
    return document


# -- boot --dry-run: the table ------------------------------------------------------------------------------


def test_dry_run_table_explains_every_filter_and_the_ranking(sched):
    assert invoke(sched, "boot", "vm", *MEDIUM, "--dry-run") == (
        "+------------+------------------------------------------+\n"
        "| Property   | Value                                    |\n"
        "+------------+------------------------------------------+\n"
        "| chosen     | bravo                                    |\n"
        "| selections | bravo                                    |\n"
        '| limits     | {"disk_gb": 200.0, "memory_mb": 12288.0} |\n'
        "+------------+------------------------------------------+\n"
        "Filter RetryFilter returned 5 host(s)\n"
        "Filter AvailabilityZoneFilter returned 5 host(s)\n"
        "Filter RamFilter returned 4 host(s)\n"
        "  charlie: RamFilter: needs 4096 MB, usable 1536 MB (total 4096 MB × 1.5 − used 4608 MB)\n"
        "Filter DiskFilter returned 3 host(s)\n"
        "  delta: DiskFilter: needs 40960 MB (root 40 GB + ephemeral 0 GB + swap 0 MB), usable 30720 MB"
        " (total 51200 MB × 1 − used 20480 MB)\n"
        "Filter ComputeFilter returned 2 host(s)\n"
        "  echo: ComputeFilter: compute service disabled (reason: maintenance)\n"
        "Filter ComputeCapabilitiesFilter returned 2 host(s)\n"
        "Filter ImagePropertiesFilter returned 2 host(s)\n"
        "Filter ServerGroupAntiAffinityFilter returned 2 host(s)\n"
        "Filter ServerGroupAffinityFilter returned 2 host(s)\n"
        "Weighed hosts (best first):\n"
        "  1. bravo: weight 3.000 (RAMWeigher raw 5120 MB free -> 1.000, DiskWeigher raw 183296 MB free -> 1.000, "
        "CPUWeigher raw 126 vCPUs free -> 1.000, "
        f"{NO_GROUP_WEIGHTS})\n"
        # 3072/5120 + 101376/183296 + 63/126 (RAM, disk and vCPU weighers scale from 0)
        "  2. alpha: weight 1.653 (RAMWeigher raw 3072 MB free -> 0.600, DiskWeigher raw 101376 MB free -> 0.553, "
        "CPUWeigher raw 63 vCPUs free -> 0.500, "
        f"{NO_GROUP_WEIGHTS})\n"
    )


def test_dry_run_is_the_same_through_the_group(sched):
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--dry-run")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == invoke(sched, "boot", "vm", *MEDIUM, "--dry-run")


TIES = """\
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
images:
  - {id: 8c5f0a4e-7d21-4b1e-9f3a-6e2d1c0b9a88, name: cirros, file: images/cirros.qcow2}
hosts:
  - {name: zulu, driver: fake, facts: {memory_mb: 4096, vcpus: 4, local_gb: 40}}
  - {name: mike, driver: fake, facts: {memory_mb: 4096, vcpus: 4, local_gb: 40}}
  - {name: kilo, driver: fake, facts: {memory_mb: 4096, vcpus: 4, local_gb: 40}}
  - {name: alpha, driver: fake, facts: {memory_mb: 2048, vcpus: 2, local_gb: 20}}
"""


def test_dry_run_ties_are_ranked_by_host_name(tmp_path):
    path = write_cluster(tmp_path, TIES)
    lines = footer(invoke(path, "boot", "vm", *TINY, "--dry-run"))
    ranking = lines[lines.index("Weighed hosts (best first):") + 1 :]
    same = "RAMWeigher raw 3584 MB free -> 1.000, DiskWeigher raw 40960 MB free -> 1.000"
    same += f", CPUWeigher raw 64 vCPUs free -> 1.000, {NO_GROUP_WEIGHTS}"
    assert ranking == [
        f"  1. kilo: weight 3.000 ({same})",
        f"  2. mike: weight 3.000 ({same})",
        f"  3. zulu: weight 3.000 ({same})",
        # 1536/3584 + 20480/40960 + 32/64
        "  4. alpha: weight 1.429 (RAMWeigher raw 1536 MB free -> 0.429, DiskWeigher raw 20480 MB free -> 0.500, "
        "CPUWeigher raw 32 vCPUs free -> 0.500, "
        f"{NO_GROUP_WEIGHTS})",
    ]
    # The tie goes to the first name; each placement then makes its host the lesser of the tied ones.
    doc = dry_run_json(path, *TINY, "--max-count", "4")
    assert (doc["chosen"], doc["selections"]) == ("kilo", ["kilo", "mike", "zulu", "kilo"])


# -- boot --dry-run -f json ---------------------------------------------------------------------------------


def test_dry_run_json_document(sched):
    doc = dry_run_json(sched, *MEDIUM)
    assert list(doc) == ["chosen", "selections", "filters", "weighed", "limits", "forced", "warnings"]
    assert (doc["forced"], doc["warnings"]) == (False, [])
    assert (doc["chosen"], doc["selections"], doc["limits"]) == ("bravo", ["bravo"], {"memory_mb": 12288.0, "disk_gb": 200.0})
    assert [step["name"] for step in doc["filters"]] == DEFAULT_FILTERS
    assert all(list(step) == ["name", "passed", "rejected"] for step in doc["filters"])
    steps = {step["name"]: step for step in doc["filters"]}
    assert steps["RetryFilter"] == {"name": "RetryFilter", "passed": ["alpha", "bravo", "charlie", "delta", "echo"], "rejected": {}}
    assert steps["RamFilter"] == {
        "name": "RamFilter",
        "passed": ["alpha", "bravo", "delta", "echo"],
        "rejected": {"charlie": "needs 4096 MB, usable 1536 MB (total 4096 MB × 1.5 − used 4608 MB)"},
    }
    assert steps["DiskFilter"]["passed"] == ["alpha", "bravo", "echo"]
    assert list(steps["DiskFilter"]["rejected"]) == ["delta"]
    assert steps["ComputeFilter"] == {
        "name": "ComputeFilter",
        "passed": ["alpha", "bravo"],
        "rejected": {"echo": "compute service disabled (reason: maintenance)"},
    }
    assert [step["passed"] for step in doc["filters"][5:]] == [["alpha", "bravo"]] * 4
    assert [w["host"] for w in doc["weighed"]] == ["bravo", "alpha"]
    assert all(list(w) == ["host", "weight", "weighers"] for w in doc["weighed"])
    bravo, alpha = doc["weighed"]
    assert bravo["weight"] == pytest.approx(3.0)
    assert alpha["weight"] == pytest.approx(3072 / 5120 + 101376 / 183296 + 63 / 126)
    assert list(alpha["weighers"]) == DEFAULT_WEIGHERS
    assert alpha["weighers"]["RAMWeigher"] == {"raw": 3072, "normalized": pytest.approx(0.6)}
    assert alpha["weighers"]["DiskWeigher"] == {"raw": 101376, "normalized": pytest.approx(101376 / 183296)}
    assert alpha["weighers"]["CPUWeigher"] == {"raw": 63.0, "normalized": pytest.approx(0.5)}


def test_dry_run_json_stops_at_the_filter_that_leaves_no_host(sched):
    doc = dry_run_json(sched, *MEDIUM, "--availability-zone", "az2", code=3)
    nova = "in availability zone 'nova', requested 'az2'"
    assert doc == {
        "chosen": None,
        "selections": [],
        "filters": [
            {"name": "RetryFilter", "passed": ["alpha", "bravo", "charlie", "delta", "echo"], "rejected": {}},
            {"name": "AvailabilityZoneFilter", "passed": ["charlie"], "rejected": dict.fromkeys(["alpha", "bravo", "delta", "echo"], nova)},
            {
                "name": "RamFilter",
                "passed": [],
                "rejected": {"charlie": "needs 4096 MB, usable 1536 MB (total 4096 MB × 1.5 − used 4608 MB)"},
            },
        ],
        "weighed": [],
        "limits": {},
        "forced": False,
        "warnings": [],
    }


def test_dry_run_json_exit_code_3_through_the_group(sched):
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--availability-zone", "az2", "--dry-run", "-f", "json")
    error = "ERROR: No valid host was found. RamFilter removed the last host(s) for the request.\n"
    assert (result.exit_code, result.stderr) == (3, error)
    assert json.loads(result.stdout)["chosen"] is None


# -- no valid host ------------------------------------------------------------------------------------------

AZ2_MEDIUM_FOOTER = [
    "Filter RetryFilter returned 5 host(s)",
    "Filter AvailabilityZoneFilter returned 1 host(s)",
    "  alpha: AvailabilityZoneFilter: in availability zone 'nova', requested 'az2'",
    "  bravo: AvailabilityZoneFilter: in availability zone 'nova', requested 'az2'",
    "  delta: AvailabilityZoneFilter: in availability zone 'nova', requested 'az2'",
    "  echo: AvailabilityZoneFilter: in availability zone 'nova', requested 'az2'",
    "Filter RamFilter returned 0 host(s)",
    "  charlie: RamFilter: needs 4096 MB, usable 1536 MB (total 4096 MB × 1.5 − used 4608 MB)",
]


def test_dry_run_no_valid_host_table_exit_3(sched):
    out = invoke(sched, "boot", "vm", *MEDIUM, "--availability-zone", "az2", "--dry-run", code=3)
    assert out.splitlines()[:7] == [
        "+------------+-------+",
        "| Property   | Value |",
        "+------------+-------+",
        "| chosen     | -     |",
        "| selections | -     |",
        "| limits     | {}    |",
        "+------------+-------+",
    ]
    assert footer(out) == AZ2_MEDIUM_FOOTER
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--availability-zone", "az2", "--dry-run")
    # The verdict is an error, as boot's: on stderr, after the explanation on stdout.
    error = "ERROR: No valid host was found. RamFilter removed the last host(s) for the request.\n"
    assert (result.exit_code, result.stdout, result.stderr) == (3, out, error)


def test_boot_no_valid_host_exit_3_explains_each_removal(sched):
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--availability-zone", "az2")
    nova = "in availability zone 'nova', requested 'az2'"
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr.splitlines() == [
        "ERROR: No valid host was found. RamFilter removed the last host(s) for the request.",
        f"  AvailabilityZoneFilter removed 4 host(s) — alpha: {nova}; bravo: {nova}; delta: {nova}; echo: {nova}",
        "  RamFilter removed 1 host(s) — charlie: needs 4096 MB, usable 1536 MB (total 4096 MB × 1.5 − used 4608 MB)",
    ]


# -- multi-create ---------------------------------------------------------------------------------------------


def test_dry_run_max_count_consumes_resources(sched):
    # bravo has room for 2 mediums, alpha for 1, nobody else for any: 3 of 5 fit, and that is enough.
    doc = dry_run_json(sched, *MEDIUM, "--max-count", "5")
    assert (doc["chosen"], doc["selections"]) == ("bravo", ["bravo", "bravo", "alpha"])
    assert doc["limits"] == {"memory_mb": 12288.0, "disk_gb": 200.0}  # the first selection's
    out = invoke(sched, "boot", "vm", *MEDIUM, "--dry-run", "--max-count", "5", "-f", "value", "-c", "chosen", "-c", "selections")
    assert out == "bravo\nbravo, bravo, alpha\n"


def test_dry_run_min_count_alone_boots_exactly_that_many(sched):
    assert dry_run_json(sched, *MEDIUM, "--min-count", "2")["selections"] == ["bravo", "bravo"]


def test_dry_run_fewer_than_min_count_fit_places_nothing_exit_3(sched):
    doc = dry_run_json(sched, *MEDIUM, "--min-count", "4", "--max-count", "5", code=3)
    assert (doc["chosen"], doc["selections"], doc["limits"]) == (None, [], {})
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--dry-run", "--min-count", "4", "--max-count", "5")
    assert "| chosen     | -     |" in result.stdout
    assert "| selections | -     |" in result.stdout
    assert result.stderr.splitlines()[0] == (
        "ERROR: No valid host was found: 3 of 5 instance(s) fit, at least 4 required. RamFilter removed the last host(s) for instance 4."
    )


def test_dry_run_min_count_failure_says_why_the_last_instance_found_no_host(sched):
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--dry-run", "--min-count", "4", "--max-count", "5")
    # What the real boot prints for the same request (next test): alpha, the last candidate, ran out of RAM.
    assert result.stderr.splitlines() == [
        "ERROR: No valid host was found: 3 of 5 instance(s) fit, at least 4 required. RamFilter removed the last host(s) for instance 4.",
        "  For instance 4:",
        "  RamFilter removed 1 host(s) — alpha: needs 4096 MB, usable 1024 MB (total 4096 MB × 1.5 − used 5120 MB)",
    ]


def test_boot_fewer_than_min_count_fit_exit_3(sched):
    result = run("-i", sched, "boot", "vm", *MEDIUM, "--min-count", "4", "--max-count", "5")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr.splitlines() == [
        "ERROR: No valid host was found: 3 of 5 instance(s) fit, at least 4 required. RamFilter removed the last host(s) for instance 4.",
        "  For instance 4:",
        "  RamFilter removed 1 host(s) — alpha: needs 4096 MB, usable 1024 MB (total 4096 MB × 1.5 − used 5120 MB)",
    ]


# -- availability zones ---------------------------------------------------------------------------------------


def test_dry_run_availability_zone(sched):
    out = invoke(sched, "boot", "vm", *TINY, "--availability-zone", "az2", "--dry-run")
    assert "| chosen     | charlie" in out
    lines = footer(out)
    assert lines[:6] == AZ2_MEDIUM_FOOTER[:6]
    assert lines[6:] == [
        "Filter RamFilter returned 1 host(s)",
        "Filter DiskFilter returned 1 host(s)",
        "Filter ComputeFilter returned 1 host(s)",
        "Filter ComputeCapabilitiesFilter returned 1 host(s)",
        "Filter ImagePropertiesFilter returned 1 host(s)",
        "Filter ServerGroupAntiAffinityFilter returned 1 host(s)",
        "Filter ServerGroupAffinityFilter returned 1 host(s)",
        "Weighed hosts (best first):",
        # A lone host weighs 0, as in Nova.
        f"  1. charlie: weight 0.000 (RAMWeigher raw -512 MB free -> 0.000, DiskWeigher raw 61440 MB free -> 0.000, "
        f"CPUWeigher raw 62 vCPUs free -> 0.000, "
        f"{NO_GROUP_WEIGHTS})",
    ]


def test_dry_run_availability_zone_and_host_forces_the_host_past_every_filter(sched):
    # delta lacks the disk for a medium (DiskFilter), but a forced host skips the filters, as in Nova.
    out = invoke(sched, "boot", "vm", *MEDIUM, "--availability-zone", "nova:delta", "--dry-run")
    assert out.splitlines()[3:6] == ["| chosen     | delta |", "| selections | delta |", "| limits     | {}    |"]
    assert footer(out)[:4] == [
        "Filter force_hosts returned 1 host(s)",
        "  alpha: force_hosts: not in force_hosts (delta)",
        "  bravo: force_hosts: not in force_hosts (delta)",
        "  charlie: force_hosts: not in force_hosts (delta)",
    ]
    assert footer(out)[4:6] == ["  echo: force_hosts: not in force_hosts (delta)", "Weighed hosts (best first):"]
    doc = dry_run_json(sched, *MEDIUM, "--availability-zone", "nova:delta")
    assert [step["name"] for step in doc["filters"]] == ["force_hosts"]
    assert [w["host"] for w in doc["weighed"]] == ["delta"]


def test_forced_host_is_chosen_with_a_warning_for_each_filter_it_would_fail(sched):
    args = ("boot", "vm", *MEDIUM, "--availability-zone", "nova:delta", "--hint", "group=batch", "--dry-run")
    done = run("-i", sched, *args)
    disk = (
        "forced host delta would fail DiskFilter: needs 40960 MB (root 40 GB + ephemeral 0 GB + swap 0 MB), "
        "usable 30720 MB (total 51200 MB × 1 − used 20480 MB)"
    )
    assert (done.exit_code, done.stderr) == (0, f"WARNING: {disk}\n")
    assert "| forced     | True  |" in done.stdout
    doc = json.loads(invoke(sched, *args, "-f", "json"))
    assert (doc["chosen"], doc["forced"], doc["warnings"]) == ("delta", True, [disk])
    # echo is disabled (ComputeFilter) and a member of web runs on bravo (anti-affinity): both said.
    doc = json.loads(invoke(sched, "boot", "vm", *TINY, "--availability-zone", "nova:echo", "--dry-run", "-f", "json"))
    assert doc["warnings"] == ["forced host echo would fail ComputeFilter: compute service disabled (reason: maintenance)"]
    doc = dry_run_json(sched, *TINY, "--availability-zone", "nova:bravo", "--hint", "group=web")
    assert doc["warnings"] == [
        "forced host bravo would fail ServerGroupAntiAffinityFilter: server group 'web' (anti-affinity) already has a member on this host"
    ]


def test_forced_host_warnings_cover_each_instance_of_a_multi_create(sched):
    # The forced host takes all N; each instance is asked of every filter after the earlier ones were
    # placed there: the first of batch (anti-affinity) fits alpha, the second would break the group.
    args = (*TINY, "--availability-zone", "nova:alpha", "--hint", "group=batch", "--max-count", "2")
    doc = dry_run_json(sched, *args)
    assert (doc["selections"], doc["warnings"]) == (
        ["alpha", "alpha"],
        [
            "forced host alpha would fail ServerGroupAntiAffinityFilter for instance 2 of 2: "
            "server group 'batch' (anti-affinity) already has a member on this host"
        ],
    )
    # delta lacks the disk for either medium: said for each instance, with what is left after the first.
    doc = dry_run_json(sched, *MEDIUM, "--availability-zone", "nova:delta", "--max-count", "2")
    assert [w.split(":")[0] for w in doc["warnings"]] == [
        "forced host delta would fail DiskFilter for instance 1 of 2",
        "forced host delta would fail DiskFilter for instance 2 of 2",
    ]
    assert "used 20480 MB" in doc["warnings"][0] and "used 61440 MB" in doc["warnings"][1]
    done = run("-i", sched, "boot", "vm", *MEDIUM, "--availability-zone", "nova:delta", "--max-count", "2", "--dry-run")
    assert done.stderr.count("WARNING: forced host delta would fail DiskFilter for instance") == 2


def test_forced_host_that_is_down_or_in_another_zone_is_no_valid_host(tmp_path):
    dead = "  - {name: dead5, driver: fake, facts: {memory_mb: 8192, vcpus: 4, local_gb: 80, up: false, down_reason: no route to host}}\n"
    path = write_cluster(tmp_path, SCHED + dead)
    for extra in ((), ("--dry-run",)):
        done = run("-i", path, "boot", "vm", *TINY, "--availability-zone", "nova:dead5", *extra)
        assert (done.exit_code, done.stdout) == (3, "")
        assert done.stderr == "ERROR: No valid host was found. Forced host dead5 is down: no route to host\n"
        done = run("-i", path, "boot", "vm", *TINY, "--availability-zone", "az2:alpha", *extra)
        assert (done.exit_code, done.stdout) == (3, "")
        assert done.stderr == "ERROR: No valid host was found. Forced host alpha is in availability zone 'nova', not 'az2'\n"


def test_availability_zone_with_unknown_host_is_bad_input(sched):
    for extra in ((), ("--dry-run",)):
        result = run("-i", sched, "boot", "vm", *TINY, "--availability-zone", "nova:zulu", *extra)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == "ERROR: unknown host 'zulu' (known: alpha, bravo, charlie, delta, echo)\n"


# -- server-group hints ---------------------------------------------------------------------------------------


def test_dry_run_anti_affinity_group_rejects_the_members_hosts(sched):
    # web's members run on alpha (named by the group's name) and bravo (named by its id).
    doc = dry_run_json(sched, *TINY, "--hint", "group=web")
    steps = {step["name"]: step for step in doc["filters"]}
    member = "server group 'web' (anti-affinity) already has a member on this host"
    assert steps["ServerGroupAntiAffinityFilter"] == {
        "name": "ServerGroupAntiAffinityFilter",
        "passed": ["charlie", "delta"],
        "rejected": {"alpha": member, "bravo": member},
    }
    assert doc["chosen"] == "delta"
    out = invoke(sched, "boot", "vm", *TINY, "--hint", "group=web", "--dry-run")
    lines = footer(out)
    start = lines.index("Filter ServerGroupAntiAffinityFilter returned 2 host(s)")
    assert lines[start + 1 : start + 3] == [
        f"  alpha: ServerGroupAntiAffinityFilter: {member}",
        f"  bravo: ServerGroupAntiAffinityFilter: {member}",
    ]


def test_dry_run_anti_affinity_multi_create_spreads_one_per_host(sched):
    # batch has no member yet: each placement joins it, so every instance lands on a different host.
    doc = dry_run_json(sched, *TINY, "--hint", "group=batch", "--max-count", "5")
    assert sorted(doc["selections"]) == ["alpha", "bravo", "charlie", "delta"]
    doc = dry_run_json(sched, *TINY, "--hint", "group=batch", "--min-count", "5", code=3)
    assert doc["selections"] == []
    result = run("-i", sched, "boot", "vm", *TINY, "--hint", "group=batch", "--min-count", "5", "--dry-run")
    assert (result.exit_code, result.stderr.splitlines()) == (
        3,
        [
            "ERROR: No valid host was found: 4 of 5 instance(s) fit, at least 5 required. "
            "ServerGroupAntiAffinityFilter removed the last host(s) for instance 5.",
            "  For instance 5:",
            "  ServerGroupAntiAffinityFilter removed 1 host(s) — charlie: "
            "server group 'batch' (anti-affinity) already has a member on this host",
        ],
    )


def test_dry_run_affinity_group_only_the_members_host_passes(sched):
    doc = dry_run_json(sched, *TINY, "--hint", "group=db", "--max-count", "3")
    on_bravo = "server group 'db' (affinity) has its members on bravo"
    steps = {step["name"]: step for step in doc["filters"]}
    assert steps["ServerGroupAffinityFilter"] == {
        "name": "ServerGroupAffinityFilter",
        "passed": ["bravo"],
        "rejected": {"alpha": on_bravo, "charlie": on_bravo, "delta": on_bravo},
    }
    assert doc["selections"] == ["bravo", "bravo", "bravo"]


def test_dry_run_affinity_group_without_members_follows_the_first_pick(sched):
    doc = dry_run_json(sched, *TINY, "--hint", "group=solo", "--max-count", "3")
    assert doc["selections"] == ["bravo", "bravo", "bravo"]
    # No member yet: the first instance may go anywhere; the later ones follow it.
    assert {step["name"]: step["rejected"] for step in doc["filters"]}["ServerGroupAffinityFilter"] == {}


def test_unknown_group_hint_is_bad_input_with_a_suggestion(sched):
    for extra in ((), ("--dry-run",)):
        result = run("-i", sched, "boot", "vm", *TINY, "--hint", "group=webb", *extra)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == "ERROR: --hint group: server group 'webb' not found (known: batch, db, solo, web). Did you mean 'web'?\n"


def test_unknown_group_by_name_is_not_found(sched):
    result = run("-i", sched, "server-group-show", "nope")
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == "ERROR: server group 'nope' not found (known: batch, db, solo, web)\n"


@pytest.mark.parametrize("hint", ["same_host", "different_host"])
def test_host_hint_naming_no_instance_is_bad_input(sched, hint):
    result = run("-i", sched, "boot", "vm", *TINY, "--hint", f"{hint}=web-11", "--dry-run")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"ERROR: --hint {hint}=web-11: no such instance. Did you mean 'web-1'?\n"


def test_host_hint_by_instance_name(sched):
    by_name = dry_run_json(sched, *TINY, "--hint", "same_host=db-1")
    assert by_name["chosen"] == dry_run_json(sched, *TINY, "--hint", f"same_host={DB1}")["chosen"] == "bravo"


def test_dry_run_group_hint_by_id(sched):
    doc = dry_run_json(sched, *TINY, "--hint", f"group={WEB_ID}")
    assert doc["chosen"] == "delta"


def test_dry_run_same_host_and_different_host_hints(tmp_path):
    path = write_cluster(tmp_path, with_filters(SCHED, "SameHostFilter", "DifferentHostFilter"))
    doc = dry_run_json(path, *TINY, "--hint", f"same_host={DB1}", "--max-count", "2")
    steps = {step["name"]: step for step in doc["filters"]}
    none_of = f"runs none of the same_host instances {DB1}"
    assert steps["SameHostFilter"] == {
        "name": "SameHostFilter",
        "passed": ["bravo"],
        "rejected": {"alpha": none_of, "charlie": none_of, "delta": none_of},
    }
    assert doc["selections"] == ["bravo", "bravo"]

    doc = dry_run_json(path, *TINY, "--hint", f"different_host={WEB1}", "--hint", f"different_host={DB1}")
    steps = {step["name"]: step for step in doc["filters"]}
    assert steps["DifferentHostFilter"] == {
        "name": "DifferentHostFilter",
        "passed": ["charlie", "delta"],
        "rejected": {"alpha": f"runs different_host instance(s) {WEB1}", "bravo": f"runs different_host instance(s) {DB1}"},
    }
    assert doc["chosen"] == "delta"

    # Every host runs something named: nothing is left.
    doc = dry_run_json(path, *TINY, *(f"--hint=different_host={u}" for u in (WEB1, DB1, BIG1, LONE1)), code=3)
    assert doc["filters"][-1]["name"] == "DifferentHostFilter"
    assert doc["filters"][-1]["passed"] == []


# -- bad input: exit 2, one line, nothing else --------------------------------------------------------------

BAD_INPUT = [
    pytest.param(
        ("vm", "--flavor", "m9.huge", "--image", "cirros"), "unknown flavor 'm9.huge' (known: m1.tiny, m1.small, m1.medium)", id="flavor"
    ),
    pytest.param(("vm", "--flavor", "m1.tiny", "--image", "fedora"), "unknown image 'fedora' (known: cirros)", id="image"),
    pytest.param(
        ("vm", *TINY, "--hint", "colour=red"),
        "unknown scheduler hint(s): colour (known: group, same_host, different_host)",
        id="hint",
    ),
    pytest.param(
        ("web;reboot", *TINY),
        "instance name 'web;reboot' is not a safe host name (letters, digits, '-'; at most 63)",
        id="unsafe-name",
    ),
    pytest.param(
        ("vm", *TINY, "--min-count", "3", "--max-count", "2"), "--min-count 3 must be between 1 and --max-count 2", id="min-gt-max"
    ),
    pytest.param(("vm", "--flavor", "m1.tiny"), "an image is required (--image)", id="no-image"),
]


@pytest.mark.parametrize("args, message", BAD_INPUT)
def test_boot_bad_input(sched, args, message):
    result = run("-i", sched, "boot", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"ERROR: {message}\n")


@pytest.mark.parametrize(
    "args, message",
    BAD_INPUT,
)
def test_dry_run_bad_input(sched, args, message):
    result = run("-i", sched, "boot", *args, "--dry-run")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"ERROR: {message}\n")


def test_dry_run_min_count_above_max_count_is_still_exit_2_one_line(sched):
    result = run("-i", sched, "boot", "vm", *TINY, "--min-count", "3", "--max-count", "2", "--dry-run")
    assert (result.exit_code, result.stdout) == (2, "")
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("ERROR: ")


def test_boot_missing_image_file_is_bad_input(sched):
    (sched.parent / "images" / "cirros.qcow2").unlink()
    result = run("-i", sched, "boot", "vm", *TINY)
    source = sched.parent / "images" / "cirros.qcow2"
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"ERROR: image cirros: file {source} is missing or unreadable\n")


def test_boot_on_fake_hosts_stops_at_the_claim(sched):
    # Everything validates and schedules; a fake host cannot build, which is said in one line, not a traceback.
    result = run("-i", sched, "boot", "vm", *MEDIUM)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "ERROR: bravo: the fake driver cannot build instances (try --dry-run)\n"


def test_capacity_unknown_hint_is_bad_input(sched):
    result = run("-i", sched, "capacity", "--flavor", "m1.tiny", "--hint", "colour=red")
    assert (result.exit_code, result.stdout) == (2, "")


# -- capacity -----------------------------------------------------------------------------------------------


def test_capacity_table(sched):
    assert invoke(sched, "capacity", "--flavor", "m1.medium", "-c", "Host", "-c", "Instances", "-c", "Limited by", "-c", "Reason") == (
        "+---------+-----------+---------------+-------------------------------------------------------------------"
        "---------------------------------------------+\n"
        "| Host    | Instances | Limited by    | Reason                                                            "
        "                                             |\n"
        "+---------+-----------+---------------+-------------------------------------------------------------------"
        "---------------------------------------------+\n"
        "| alpha   | 1         | ram           | after 1 more: needs 4096 MB, usable 1024 MB (total 4096 MB × 1.5 − used 5120 MB)"
        "                               |\n"
        "| bravo   | 2         | ram           | after 2 more: needs 4096 MB, usable 1024 MB (total 8192 MB × 1.5 − used 11264 MB)"
        "                              |\n"
        "| charlie | 0         | ram           | needs 4096 MB, usable 1536 MB (total 4096 MB × 1.5 − used 4608 MB)"
        "                                             |\n"
        "| delta   | 0         | disk          | needs 40960 MB (root 40 GB + ephemeral 0 GB + swap 0 MB), usable 30720 MB"
        " (total 51200 MB × 1 − used 20480 MB) |\n"
        "| echo    | 0         | ComputeFilter | compute service disabled (reason: maintenance)                    "
        "                                             |\n"
        "| (total) | 3         |               |                                                                   "
        "                                             |\n"
        "+---------+-----------+---------------+-------------------------------------------------------------------"
        "---------------------------------------------+\n"
    )


def test_capacity_limited_by_ram_disk_vcpu_and_compute_filter(cap):
    document = capacity_json(cap, "--flavor", "c1.medium")
    assert (document["flavor"], document["total"], document["note"]) == ("c1.medium", 7, None)
    why = {host: (e["count"], e["limited_by"], e["reason"]) for host, e in document["hosts"].items()}
    assert why == {
        "cpuhost": (2, "vcpu", "after 2 more: needs 2 vCPU, usable 0 (total 2 × 2 − used 4)"),
        "diskhost": (
            3,
            "disk",
            "after 3 more: needs 10240 MB (root 10 GB + ephemeral 0 GB + swap 0 MB), usable 5120 MB (total 35840 MB × 1 − used 30720 MB)",
        ),
        "offhost": (0, "ComputeFilter", "compute service disabled (reason: none given)"),
        "onecpu": (0, "vcpu", "needs 2 vCPU, host has only 1 physical vCPU (no overcommit against itself)"),
        "ramhost": (2, "ram", "after 2 more: needs 1024 MB, usable 512 MB (total 2048 MB × 1.5 − used 2560 MB)"),
    }


def test_capacity_json_has_each_hosts_headroom_as_numbers(cap):
    ramhost = capacity_json(cap, "--flavor", "c1.medium")["hosts"]["ramhost"]
    headroom = {k: v for k, v in ramhost.items() if k not in ("host", "count", "limited_by", "reason")}
    # RAM: 2048 MB × 1.5 = 3072 allocatable, 3072 − 512 reserved = 2560 free (before the two that still fit);
    # vCPUs 8 × 16.0; disk 100 GB × 1.0, nothing used.
    assert headroom == {
        "allocatable_ram_mb": 3072,
        "free_ram_mb": 2560,
        "allocatable_vcpus": 128,
        "free_vcpus": 128,
        "allocatable_disk_gb": 100,
        "free_disk_gb": 100,
    }


def test_capacity_table_total_row_only_in_the_table(cap):
    table = invoke(cap, "capacity", "--flavor", "c1.medium", "-c", "Host", "-c", "Instances")
    assert table.splitlines()[-2] == "| (total)  | 7         |"
    assert "(total)" not in invoke(cap, "capacity", "--flavor", "c1.medium", "-f", "value", "-c", "Host")
    rows = json.loads(invoke(cap, "capacity", "--flavor", "c1.medium", "-f", "json", "-c", "Host", "-c", "Instances"))
    assert rows[0] == {"Host": "cpuhost", "Instances": 2} and len(rows) == 5


def test_capacity_affinity_group_without_members_counts_the_first_pick_only(sched):
    document = capacity_json(sched, "--flavor", "m1.tiny", "--hint", "group=solo")
    assert document["total"] == 18  # bravo: (12288 − 3072) / 512
    assert document["note"] == "affinity group 'solo' has no member yet: all instances follow the first, on bravo"


CROSS_CHECKS = [
    pytest.param("sched", ("--flavor", "m1.medium"), 3, id="medium"),
    pytest.param("sched", ("--flavor", "m1.small"), 7, id="small"),
    pytest.param("sched", ("--flavor", "m1.tiny"), 61, id="tiny"),
    pytest.param("sched", ("--flavor", "m1.tiny", "--availability-zone", "az2"), 3, id="tiny-az2"),
    pytest.param("sched", ("--flavor", "m1.tiny", "--hint", "group=web"), 2, id="anti-affinity-members"),
    pytest.param("sched", ("--flavor", "m1.tiny", "--hint", "group=batch"), 4, id="anti-affinity-empty"),
    pytest.param("sched", ("--flavor", "m1.tiny", "--hint", "group=db"), 18, id="affinity-members"),
    pytest.param("sched", ("--flavor", "m1.tiny", "--hint", "group=solo"), 18, id="affinity-empty"),
    pytest.param("cap", ("--flavor", "c1.medium"), 7, id="ram-disk-vcpu"),
]


@pytest.mark.parametrize("fixture, args, total", CROSS_CHECKS)
def test_capacity_equals_successive_dry_run_placements(request, fixture, args, total):
    path = request.getfixturevalue(fixture)
    document = capacity_json(path, *args)
    rows = document["hosts"]
    assert document["total"] == total
    boot = ("--image", "cirros", *args)
    # N = total: every one placed.
    doc = dry_run_json(path, *boot, "--max-count", str(total))
    assert len(doc["selections"]) == total
    placed = Counter(doc["selections"])
    assert all(count <= rows[host]["count"] for host, count in placed.items())
    if document["note"]:  # an affinity group with no member: every instance follows the first pick
        assert placed == Counter({doc["chosen"]: total})
    else:  # hosts fill independently: each takes exactly what capacity says it has room for
        assert placed == Counter({host: row["count"] for host, row in rows.items() if row["count"]})
    # N = total + 1: still only total fit; as an all-or-nothing minimum, nothing is placed.
    assert len(dry_run_json(path, *boot, "--max-count", str(total + 1))["selections"]) == total
    doc = dry_run_json(path, *boot, "--min-count", str(total + 1), code=3)
    assert (doc["chosen"], doc["selections"]) == (None, [])


# -- down hosts ---------------------------------------------------------------------------------------------

DOWN = """\
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
images:
  - {id: 8c5f0a4e-7d21-4b1e-9f3a-6e2d1c0b9a88, name: cirros, file: images/cirros.qcow2}
hosts:
  - {name: up1, driver: fake, facts: {memory_mb: 4096, vcpus: 4, local_gb: 40}}
  - {name: up2, driver: fake, facts: {memory_mb: 2048, vcpus: 2, local_gb: 40}}
  - {name: gone, driver: fake, facts: {memory_mb: 8192, vcpus: 8, local_gb: 80, up: false, down_reason: connection refused}}
"""


def test_down_host_is_never_chosen(tmp_path):
    path = write_cluster(tmp_path, DOWN)
    doc = dry_run_json(path, *TINY, "--max-count", "20")
    assert "gone" not in doc["selections"]
    assert capacity_json(path, "--flavor", "m1.tiny")["hosts"]["gone"]["count"] == 0
    assert invoke(path, "capacity", "--flavor", "m1.tiny").endswith("\ngone is down: connection refused\n")


def test_down_host_is_explained_as_down(tmp_path):
    path = write_cluster(tmp_path, DOWN)
    assert "  gone: ComputeFilter: compute service down: connection refused" in footer(invoke(path, "boot", "vm", *TINY, "--dry-run"))
    gone = capacity_json(path, "--flavor", "m1.tiny")["hosts"]["gone"]
    assert (gone["limited_by"], gone["reason"]) == ("ComputeFilter", "compute service down: connection refused")


BIG_DISK = """\
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
images:
  - {id: 8c5f0a4e-7d21-4b1e-9f3a-6e2d1c0b9a88, name: cirros, file: images/cirros.qcow2}
hosts:
  - {name: big, driver: fake, facts: {memory_mb: 262144, vcpus: 64, local_gb: 1024}}
  - {name: small, driver: fake, facts: {memory_mb: 8192, vcpus: 4, local_gb: 100}}
"""


def test_dry_run_shows_large_raw_weights_in_full(tmp_path):
    path = write_cluster(tmp_path, BIG_DISK)
    lines = footer(invoke(path, "boot", "vm", *TINY, "--dry-run"))
    assert "DiskWeigher raw 1048576 MB free -> 1.000" in lines[lines.index("Weighed hosts (best first):") + 1]


# -- server groups ------------------------------------------------------------------------------------------


def test_server_group_list(sched):
    border = "+--------------------------------------+-------+---------------+" + "-" * 76 + "+"
    assert invoke(sched, "server-group-list").splitlines() == [
        border,
        "| Id                                   | Name  | Policies      | Members" + " " * 68 + "|",
        border,
        "|                                      | batch | anti-affinity | " + " " * 74 + " |",
        f"|                                      | db    | affinity      | {DB1}" + " " * 38 + " |",
        "|                                      | solo  | affinity      | " + " " * 74 + " |",
        f"| {WEB_ID} | web   | anti-affinity | {WEB1}, {WEB2} |",
        border,
    ]


def test_server_group_show_resolves_members_by_name_and_by_id(sched):
    assert invoke(sched, "server-group-show", "web") == (
        "+----------+--------------------------------------------------------------------------------------------+\n"
        "| Property | Value                                                                                      |\n"
        "+----------+--------------------------------------------------------------------------------------------+\n"
        "| id       | 5b0e6a7c-2f4d-4c1b-8e9a-7d3c2b1a0f65                                                       |\n"
        "| name     | web                                                                                        |\n"
        "| policies | anti-affinity                                                                              |\n"
        "| members  | web-1 (aaaaaaaa-0000-4000-8000-000000000001), web-2 (bbbbbbbb-0000-4000-8000-000000000002) |\n"
        "| hosts    | alpha, bravo                                                                               |\n"
        "+----------+--------------------------------------------------------------------------------------------+\n"
    )
    assert json.loads(invoke(sched, "server-group-show", "db", "-f", "json")) == {
        "id": None,  # declared in the inventory without one
        "name": "db",
        "policies": "affinity",
        "members": [{"id": DB1, "name": "db-1"}],
        "hosts": ["bravo"],
    }
    assert json.loads(invoke(sched, "server-group-show", "solo", "-f", "json"))["members"] == []


def test_server_group_show_unknown_is_not_found(sched):
    result = run("-i", sched, "server-group-show", "nope")
    assert (result.exit_code, result.stdout, result.stderr) == (
        4,
        "",
        "ERROR: server group 'nope' not found (known: batch, db, solo, web)\n",
    )


def test_server_group_create_on_a_fake_cluster_says_to_declare_it(sched):
    result = run("-i", sched, "server-group-create", "new", "--policy", "affinity")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "ERROR: cluster: no reachable libvirt host to store the server group on (fake clusters: declare it in the inventory)\n"
    )
    assert "new" not in invoke(sched, "server-group-list", "-f", "value", "-c", "Name").split()


def test_server_group_create_existing_name_is_bad_input(sched):
    result = run("-i", sched, "server-group-create", "web", "--policy", "affinity")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", "ERROR: server group 'web' already exists\n")
