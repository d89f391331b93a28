"""hypervisor-list --long (use against the allocation-ratio limits; bars only on a terminal table) and
hypervisor-servers (Nova's substring match), on fake hosts."""

from __future__ import annotations

import json
import re

from novactl import output

CLUSTER = """\
scheduler: {reserved_host_memory_mb: 512, ram_allocation_ratio: 1.5, cpu_allocation_ratio: 16.0, disk_allocation_ratio: 1.0}
flavors:
  - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
  - {id: "2", name: m1.big, ram: 4096, disk: 40, vcpus: 4}
hosts:
  - name: compute1
    driver: fake
    facts:
      memory_mb: 8192
      vcpus: 4
      local_gb: 100
      instances: [{name: b, flavor: m1.big}, {name: a, flavor: m1.tiny}, {name: c, flavor: m1.big}]
  - name: compute2
    driver: fake
    cpu_allocation_ratio: 2.5
    facts: {memory_mb: 8192, vcpus: 4, local_gb: 100, instances: [{name: d, flavor: m1.tiny}]}
  - name: other
    driver: fake
    facts: {memory_mb: 8192, vcpus: 4, local_gb: 100, up: false, down_reason: refused}
"""


def test_long_gives_use_and_limits_as_numbers(write_inventory, run_main):
    result = run_main("-i", str(write_inventory(CLUSTER)), "hypervisor-list", "--long", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows = {row["Hypervisor hostname"]: row for row in json.loads(result.stdout)}
    # compute1: 512 reserved + 512 + 2 x 4096 = 9216 MB of 8192 x 1.5; 9 vCPUs of 4 x 16; 81 GB of 100 x 1.0
    one = rows["compute1"]
    assert [one[k] for k in ("Memory MB Used", "Memory MB Limit", "vCPUs Used", "vCPUs Limit", "Local GB Used", "Local GB Limit")] == [
        9216,
        12288,
        9,
        64,
        81,
        100,
    ]
    assert rows["compute2"]["vCPUs Limit"] == 10  # the host's own ratio wins
    assert rows["other"]["Memory MB Used"] is None and rows["other"]["State"] == "down"


def test_plain_table_when_piped(write_inventory, run_main):
    text = run_main("-i", str(write_inventory(CLUSTER)), "hypervisor-list", "--long").stdout
    assert "| Memory MB Used | Memory MB Limit |" in text and "█" not in text and "\x1b[" not in text


def test_bars_on_a_terminal():
    listing = output.Listing(
        ["Host", "RAM used", "RAM limit"],
        [["compute1", 9216, 12288], ["compute2", 1024, 12288], ["other", None, None]],
        gauges=[output.Gauge("RAM", "RAM used", "RAM limit", "MB")],
    )
    drawn = output.render(listing, "table", tty=True)
    assert "RAM used" not in drawn and "RAM" in drawn
    assert "9216/12288 MB 75%" in drawn and "1024/12288 MB 8%" in drawn
    assert "█" * 12 + "░" * 4 in re.sub(r"\x1b\[[0-9;]*m", "", drawn)  # 75 % of a 16-character bar, coloured
    assert output.render(listing, "table", tty=False).count("█") == 0
    assert json.loads(output.render(listing, "json", tty=True))[0] == {"Host": "compute1", "RAM used": 9216, "RAM limit": 12288}
    # -c picks plain columns: no bars
    assert "█" not in output.render(listing, "table", columns=("Host", "RAM used"), tty=True)


def test_hypervisor_servers_matches_as_nova(write_inventory, run_main):
    path = str(write_inventory(CLUSTER))
    result = run_main("-i", path, "hypervisor-servers", "compute1", "-f", "json")
    assert result.exit_code == 0
    assert [(r["Name"], r["Hypervisor Hostname"]) for r in json.loads(result.stdout)] == [
        ("a", "compute1"),
        ("b", "compute1"),
        ("c", "compute1"),
    ]
    both = run_main("-i", path, "hypervisor-servers", "compute", "-f", "value", "-c", "Name")
    assert both.stdout.split() == ["a", "b", "c", "d"]


def test_hypervisor_servers_bad_host_and_down_host(write_inventory, run_main):
    path = str(write_inventory(CLUSTER))
    unknown = run_main("-i", path, "hypervisor-servers", "nosuch")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("ERROR: No hypervisor matching 'nosuch' could be found")
    down = run_main("-i", path, "hypervisor-servers", "other")
    assert down.exit_code == 1 and "other is down: refused" in down.stdout
