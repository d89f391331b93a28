"""The read-only commands end to end on fake hosts (tests/unit/conftest.py's FAKE_CLUSTER), and the CLI's
error contract: one `ERROR:` line per problem on stderr, the documented exit code, no traceback.

Usage in FAKE_CLUSTER, as Nova's resource tracker counts it (reserved_host_memory_mb 512, swap not counted):
  compute1: 8192 MB, 4 vCPUs, 100 GB; m1.tiny + m1.small -> RAM 512+512+2048 = 3072, vCPUs 2, disk 1+20 = 21
  compute2: 4096 MB, 2 vCPUs, 50 GB, disabled; m1.special -> RAM 512+1024 = 1536, vCPUs 2, disk 10+5 = 15
  compute3: down, so it counts in no sum.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from novactl import __version__
from tests.unit.runner import invoke, run

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000")
TS = "YYYY-MM-DDTHH:MM:SS.000000"  # as wide as a timestamp, so the boxes stay aligned
NO_COLUMN = "no column 'Flavor' (columns: Id, Binary, Host, Zone, Status, State, Updated_at, Disabled Reason)"


def stamped(text: str) -> str:
    """Replace every Updated_at by TS after checking it is now, in UTC, as Nova prints it."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for found in TIMESTAMP.findall(text):
        assert abs((dt.datetime.strptime(found, "%Y-%m-%dT%H:%M:%S.%f") - now).total_seconds()) < 120, found
    return TIMESTAMP.sub(TS, text)


# -- flavors and images: the inventory's catalogue ---------------------------------------------------------


def test_flavor_list(fake_cluster):
    assert invoke(fake_cluster, "flavor-list") == (
        "+----+------------+-----------+------+-----------+------+-------+-------------+-----------+\n"
        "| ID | Name       | Memory_MB | Disk | Ephemeral | Swap | VCPUs | RXTX_Factor | Is_Public |\n"
        "+----+------------+-----------+------+-----------+------+-------+-------------+-----------+\n"
        "| 1  | m1.tiny    | 512       | 1    | 0         |      | 1     | 1.0         | True      |\n"
        "| 2  | m1.small   | 2048      | 20   | 0         |      | 1     | 1.0         | True      |\n"
        "| 42 | m1.special | 1024      | 10   | 5         | 512  | 2     | 2.0         | False     |\n"
        "+----+------------+-----------+------+-----------+------+-------+-------------+-----------+\n"
    )


def test_flavor_list_json(fake_cluster):
    flavors = json.loads(invoke(fake_cluster, "flavor-list", "-f", "json"))
    assert flavors[2] == {
        "ID": "42",
        "Name": "m1.special",
        "Memory_MB": 1024,
        "Disk": 10,
        "Ephemeral": 5,
        "Swap": 512,
        "VCPUs": 2,
        "RXTX_Factor": 2.0,
        "Is_Public": False,
    }
    assert [f["Swap"] for f in flavors] == [0, 0, 512]  # a number, though the table leaves 0 blank as novaclient


def test_flavor_list_sorted_by_swap_as_numbers_though_the_table_shows_blanks(fake_cluster):
    assert invoke(fake_cluster, "flavor-list", "--sort-column", "swap", "-c", "Name", "-f", "value") == "m1.tiny\nm1.small\nm1.special\n"
    descending = invoke(fake_cluster, "flavor-list", "--sort-column", "swap", "--sort-descending", "-c", "Name", "-f", "value")
    assert descending == "m1.special\nm1.tiny\nm1.small\n"  # stable: ties keep the inventory's order


SPECIAL_SHOW = (
    "+----------------------------+------------------------------------------------------------+\n"
    "| Property                   | Value                                                      |\n"
    "+----------------------------+------------------------------------------------------------+\n"
    "| OS-FLV-DISABLED:disabled   | False                                                      |\n"
    "| OS-FLV-EXT-DATA:ephemeral  | 5                                                          |\n"
    "| disk                       | 10                                                         |\n"
    '| extra_specs                | {"hw:cpu_policy": "dedicated", "quota:cpu_shares": "2048"} |\n'
    "| id                         | 42                                                         |\n"
    "| name                       | m1.special                                                 |\n"
    "| os-flavor-access:is_public | False                                                      |\n"
    "| ram                        | 1024                                                       |\n"
    "| rxtx_factor                | 2.0                                                        |\n"
    "| swap                       | 512                                                        |\n"
    "| vcpus                      | 2                                                          |\n"
    "+----------------------------+------------------------------------------------------------+\n"
)


def test_flavor_show_by_name(fake_cluster):
    assert invoke(fake_cluster, "flavor-show", "m1.special") == SPECIAL_SHOW


def test_flavor_show_by_id(fake_cluster):
    assert invoke(fake_cluster, "flavor-show", "42") == SPECIAL_SHOW


def test_flavor_show_json(fake_cluster):
    assert json.loads(invoke(fake_cluster, "flavor-show", "1", "-f", "json")) == {
        "OS-FLV-DISABLED:disabled": False,
        "OS-FLV-EXT-DATA:ephemeral": 0,
        "disk": 1,
        "extra_specs": {},
        "id": "1",
        "name": "m1.tiny",
        "os-flavor-access:is_public": True,
        "ram": 512,
        "rxtx_factor": 1.0,
        "swap": 0,
        "vcpus": 1,
    }


def test_flavor_show_unknown_is_one_error_line_and_exit_2(fake_cluster):
    done = run("-i", str(fake_cluster), "flavor-show", "m1.huge")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "ERROR: unknown flavor 'm1.huge' (known: m1.tiny, m1.small, m1.special)\n"


def test_image_list(fake_cluster):
    here = fake_cluster.parent
    assert json.loads(invoke(fake_cluster, "image-list", "-f", "json")) == [
        {
            "ID": "11111111-2222-3333-4444-555555555555",
            "Name": "cirros",
            "Status": "active",
            "Disk Format": "qcow2",
            "File": str(here / "images/cirros.qcow2"),
        },
        {
            "ID": "66666666-7777-8888-9999-aaaaaaaaaaaa",
            "Name": "ubuntu",
            "Status": "missing",
            "Disk Format": "raw",
            "File": str(here / "ubuntu.raw"),
        },
    ]
    assert invoke(fake_cluster, "image-list", "-c", "ID", "-c", "Name", "-c", "Status", "-c", "Disk Format") == (
        "+--------------------------------------+--------+---------+-------------+\n"
        "| ID                                   | Name   | Status  | Disk Format |\n"
        "+--------------------------------------+--------+---------+-------------+\n"
        "| 11111111-2222-3333-4444-555555555555 | cirros | active  | qcow2       |\n"
        "| 66666666-7777-8888-9999-aaaaaaaaaaaa | ubuntu | missing | raw         |\n"
        "+--------------------------------------+--------+---------+-------------+\n"
    )


def test_image_files_resolve_against_the_inventory_dir_not_the_cwd(fake_cluster, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert invoke(fake_cluster, "image-list", "-c", "Status", "-f", "value") == "active\nmissing\n"


# -- services and hypervisors: a poll of the fake hosts -------------------------------------------------


def test_service_list(fake_cluster):
    assert stamped(invoke(fake_cluster, "service-list")) == (
        "+----+--------------+----------+------+----------+-------+----------------------------+-----------------+\n"
        "| Id | Binary       | Host     | Zone | Status   | State | Updated_at                 | Disabled Reason |\n"
        "+----+--------------+----------+------+----------+-------+----------------------------+-----------------+\n"
        f"| 1  | nova-compute | compute1 | nova | enabled  | up    | {TS} | -               |\n"
        f"| 2  | nova-compute | compute2 | az2  | disabled | up    | {TS} | maintenance     |\n"
        f"| 3  | nova-compute | compute3 | nova | enabled  | down  | {TS} | -               |\n"
        "+----+--------------+----------+------+----------+-------+----------------------------+-----------------+\n"
        "compute3 is down: connection refused\n"
    )


def test_service_list_for_one_host(fake_cluster):
    assert invoke(
        fake_cluster, "service-list", "--host", "compute2", "-c", "Id", "-c", "Host", "-c", "Status", "-c", "Disabled Reason", "-f", "csv"
    ) == ("Id,Host,Status,Disabled Reason\n2,compute2,disabled,maintenance\n")  # the id of the full list


def test_service_list_json_one_column_through_the_group(fake_cluster):
    done = run("-i", str(fake_cluster), "service-list", "-f", "json", "-c", "Host")
    assert done.exit_code == 0
    assert done.stdout == '[\n  {\n    "Host": "compute1"\n  },\n  {\n    "Host": "compute2"\n  },\n  {\n    "Host": "compute3"\n  }\n]\n'
    assert "ERROR" not in done.stderr


def test_service_list_unknown_column_is_a_usage_error(fake_cluster):
    done = run("-i", str(fake_cluster), "service-list", "-c", "Flavor")
    assert (done.exit_code, done.stdout, done.stderr) == (2, "", f"ERROR: {NO_COLUMN}\n")


def test_hypervisor_list(fake_cluster):
    assert invoke(fake_cluster, "hypervisor-list") == (
        "+----+---------------------+-------+----------+\n"
        "| ID | Hypervisor hostname | State | Status   |\n"
        "+----+---------------------+-------+----------+\n"
        "| 1  | compute1            | up    | enabled  |\n"
        "| 2  | compute2            | up    | disabled |\n"
        "| 3  | compute3            | down  | enabled  |\n"
        "+----+---------------------+-------+----------+\n"
        "compute3 is down: connection refused\n"
    )


def test_hypervisor_show_counts_reserved_memory_and_the_instances_flavors(fake_cluster):
    assert stamped(invoke(fake_cluster, "hypervisor-show", "compute1")) == (
        "+-------------------------+----------------------------+\n"
        "| Property                | Value                      |\n"
        "+-------------------------+----------------------------+\n"
        '| cpu_info                | {"arch": "x86_64"}         |\n'
        "| current_workload        | 0                          |\n"
        "| disk_available_least    | 79                         |\n"
        "| free_disk_gb            | 79                         |\n"
        "| free_ram_mb             | 5120                       |\n"
        "| host_ip                 | 192.0.2.11                 |\n"
        "| hypervisor_hostname     | compute1                   |\n"
        "| hypervisor_type         | QEMU                       |\n"
        "| hypervisor_version      | 0                          |\n"
        "| id                      | 1                          |\n"
        "| local_gb                | 100                        |\n"
        "| local_gb_used           | 21                         |\n"
        "| memory_mb               | 8192                       |\n"
        "| memory_mb_used          | 3072                       |\n"
        "| running_vms             | 2                          |\n"
        "| service_disabled_reason |                            |\n"
        "| service_host            | compute1                   |\n"
        "| service_id              | 1                          |\n"
        "| state                   | up                         |\n"
        "| status                  | enabled                    |\n"
        "| vcpus                   | 4                          |\n"
        "| vcpus_used              | 2                          |\n"
        "| ram_allocation_ratio    | 1.5                        |\n"
        "| cpu_allocation_ratio    | 16.0                       |\n"
        "| disk_allocation_ratio   | 1.0                        |\n"
        f"| updated_at              | {TS} |\n"
        "+-------------------------+----------------------------+\n"
    )


def test_hypervisor_show_disabled_host_json(fake_cluster):
    shown = json.loads(invoke(fake_cluster, "hypervisor-show", "compute2", "-f", "json"))
    assert TIMESTAMP.fullmatch(shown.pop("updated_at"))
    shown.pop("id"), shown.pop("service_id")  # see test_hypervisor_show_id_is_the_service_list_id
    assert shown == {
        "cpu_info": {"arch": "x86_64"},
        "current_workload": 0,
        "disk_available_least": 35,
        "free_disk_gb": 35,
        "free_ram_mb": 2560,
        "host_ip": "localhost",
        "hypervisor_hostname": "compute2",
        "hypervisor_type": "QEMU",
        "hypervisor_version": 0,
        "local_gb": 50,
        "local_gb_used": 15,
        "memory_mb": 4096,
        "memory_mb_used": 1536,
        "running_vms": 1,
        "service_disabled_reason": "maintenance",
        "service_host": "compute2",
        "state": "up",
        "status": "disabled",
        "vcpus": 2,
        "vcpus_used": 2,
        "ram_allocation_ratio": 1.5,
        "cpu_allocation_ratio": 16.0,
        "disk_allocation_ratio": 1.0,
    }


def test_hypervisor_show_down_host_says_why_and_exits_1(fake_cluster, run_main):
    result = run_main("-i", str(fake_cluster), "hypervisor-show", "compute3", "-c", "state", "-c", "running_vms", "-c", "memory_mb")
    assert result.exit_code == 1
    assert result.stdout == (
        "+-------------+-------+\n"
        "| Property    | Value |\n"
        "+-------------+-------+\n"
        "| memory_mb   | 0     |\n"
        "| running_vms | 0     |\n"
        "| state       | down  |\n"
        "+-------------+-------+\n"
        "compute3 is down: connection refused\n"
    )


def test_hypervisor_show_id_is_the_service_list_id(fake_cluster):
    shown = json.loads(invoke(fake_cluster, "hypervisor-show", "compute2", "-f", "json"))
    assert (shown["id"], shown["service_id"]) == (2, 2)


def test_hypervisor_show_unknown_host(fake_cluster):
    done = run("-i", str(fake_cluster), "hypervisor-show", "compute9")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "ERROR: unknown host 'compute9' (known: compute1, compute2, compute3). Did you mean 'compute3'?\n"


def test_hypervisor_stats_sums_the_up_hosts_only(fake_cluster):
    assert invoke(fake_cluster, "hypervisor-stats") == (
        "+----------------------+-------+\n"
        "| Property             | Value |\n"
        "+----------------------+-------+\n"
        "| count                | 2     |\n"
        "| current_workload     | 0     |\n"
        "| disk_available_least | 114   |\n"
        "| free_disk_gb         | 114   |\n"
        "| free_ram_mb          | 7680  |\n"
        "| local_gb             | 150   |\n"
        "| local_gb_used        | 36    |\n"
        "| memory_mb            | 12288 |\n"
        "| memory_mb_used       | 4608  |\n"
        "| running_vms          | 3     |\n"
        "| vcpus                | 6     |\n"
        "| vcpus_used           | 4     |\n"
        "+----------------------+-------+\n"
    )


def test_hypervisor_stats_stated_usage_wins_over_flavors(write_inventory):
    path = write_inventory(
        """\
        flavors: [{name: small, ram: 1024, disk: 10, vcpus: 1}]
        hosts:
          - name: f1
            driver: fake
            facts:
              memory_mb: 8192
              memory_mb_used: 6000
              vcpus: 8
              vcpus_used: 5
              local_gb: 100
              local_gb_used: 70
              disk_available_least: 20
              instances: [{name: v1, flavor: small}]
        """
    )
    stats = json.loads(invoke(path, "hypervisor-stats", "-f", "json"))
    assert stats == {
        "count": 1,
        "current_workload": 0,
        "disk_available_least": 20,
        "free_disk_gb": 30,
        "free_ram_mb": 2192,
        "local_gb": 100,
        "local_gb_used": 70,
        "memory_mb": 8192,
        "memory_mb_used": 6000,
        "running_vms": 1,
        "vcpus": 8,
        "vcpus_used": 5,
    }


def test_availability_zone_list_is_nova_tree(fake_cluster):
    assert stamped(invoke(fake_cluster, "availability-zone-list")) == (
        "+-------------------+-----------------------------------------+\n"
        "| Name              | Status                                  |\n"
        "+-------------------+-----------------------------------------+\n"
        "| nova              | available                               |\n"
        "| |- compute1       |                                         |\n"
        f"| | |- nova-compute | enabled :-) {TS}  |\n"
        "| |- compute3       |                                         |\n"
        f"| | |- nova-compute | enabled XXX {TS}  |\n"
        "| az2               | not available                           |\n"
        "| |- compute2       |                                         |\n"
        f"| | |- nova-compute | disabled :-) {TS} |\n"
        "+-------------------+-----------------------------------------+\n"
    )


# -- the CLI's contract: errors, exit codes, --debug, --version -------------------------------------------

ALLOWED_TOP = "allowed here: defaults, flavors, hosts, images, keypairs, networks, scheduler, server_groups"
MALFORMED = """\
hosts:
  - name: "a;rm -rf /"
    driver: fake
    ssh_port: x
flavours: []
"""


def test_malformed_inventory_through_the_group_one_line_per_error_exit_2(write_inventory):
    path = write_inventory(MALFORMED)
    done = run("-i", str(path), "flavor-list")
    assert (done.exit_code, done.stdout) == (2, "")
    # The first line carries ERROR:, each further error follows on its own indented line.
    assert done.stderr.splitlines() == [
        f"ERROR: {path}:2:11: hosts[0].name: 'a;rm -rf /' is not a valid host name",
        f"  {path}:4:15: hosts[0].ssh_port: expected integer, got str 'x'",
        f"  {path}:5:1: unknown key 'flavours' ({ALLOWED_TOP})",
    ]


def test_single_inventory_error_is_exactly_one_line(write_inventory):
    path = write_inventory("hosts:\n  - {name: a, driver: fake}\n  - {name: a, driver: fake}\n")
    done = run("-i", str(path), "service-list")
    assert (done.exit_code, done.stdout, done.stderr) == (2, "", f"ERROR: {path}:3:12: duplicate host name 'a' (first at line 2)\n")


def test_missing_inventory_file(tmp_path):
    done = run("-i", str(tmp_path / "nope.yaml"), "flavor-list")
    assert (done.exit_code, done.stdout, done.stderr) == (
        2,
        "",
        f"ERROR: {tmp_path / 'nope.yaml'}: cannot read inventory: No such file or directory\n",
    )


def test_inventory_from_the_environment(fake_cluster, monkeypatch):
    monkeypatch.setenv("NOVACTL_INVENTORY", str(fake_cluster))
    done = run("flavor-list", "-f", "value", "-c", "Name")
    assert (done.exit_code, done.stdout) == (0, "m1.tiny\nm1.small\nm1.special\n")


def test_version():
    done = run("--version")
    assert (done.exit_code, done.stdout, done.stderr) == (0, f"novactl, version {__version__}\n", "")


def test_unknown_command_is_a_usage_error():
    done = run("frobnicate")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr == "ERROR: No such command 'frobnicate'.\n  Try 'novactl --help' for help.\n"


def test_bad_option_value_is_a_usage_error(fake_cluster):
    done = run("-i", str(fake_cluster), "flavor-list", "-f", "xml")
    assert done.exit_code == 2
    assert "Invalid value for '-f' / '--format': 'xml' is not one of 'table', 'json', 'yaml', 'csv', 'value'." in done.stderr


def _novactl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed console script, in a clean process (logging configured as for a user)."""
    script = shutil.which("novactl", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    command = [script] if script else [sys.executable, "-m", "novactl"]
    env = {k: v for k, v in os.environ.items() if k != "NOVACTL_INVENTORY"}
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_unknown_scheduler_filter_is_a_usage_error(write_inventory):
    path = write_inventory("hosts:\n  - {name: a, driver: fake}\nscheduler:\n  filters: [RamFilter, NoSuchFilter]\n")
    done = run("-i", str(path), "hypervisor-list")
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.startswith(f"ERROR: {path}:4:24: unknown filter 'NoSuchFilter' (known: RetryFilter, ")


def test_help_does_not_import_the_scheduler_registries():
    code = "import sys\nfrom novactl.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    code += "print(sorted(m for m in sys.modules if m.startswith(('novactl.scheduler', 'jsonschema'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_installed_command_malformed_inventory_no_traceback(write_inventory, tmp_path):
    path = write_inventory(MALFORMED)
    done = _novactl("-i", "inventory.yaml", "hypervisor-list", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "ERROR: inventory.yaml:2:11: hosts[0].name: 'a;rm -rf /' is not a valid host name\n"
        "  inventory.yaml:4:15: hosts[0].ssh_port: expected integer, got str 'x'\n"
        f"  inventory.yaml:5:1: unknown key 'flavours' ({ALLOWED_TOP})\n"
    )
    assert path.exists()


def test_installed_command_debug_shows_the_traceback_in_nova_log_format(write_inventory, tmp_path):
    write_inventory(MALFORMED)
    done = _novactl("--debug", "-i", "inventory.yaml", "flavor-list", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+"
    debug, *lines = done.stderr.splitlines()  # first, which inventory and why
    assert re.fullmatch(rf"{stamp} DEBUG novactl.inventory \[-\] Inventory inventory.yaml: given with -i/--inventory", debug), debug
    assert re.fullmatch(rf"{stamp} ERROR novactl \[-\] command failed", lines[0]), lines[0]
    assert lines[1] == "Traceback (most recent call last):"
    assert any(line.startswith("novactl.errors.InventoryError: inventory.yaml:2:11: ") for line in lines)
    assert lines[-3] == "ERROR: inventory.yaml:2:11: hosts[0].name: 'a;rm -rf /' is not a valid host name"


def test_installed_command_fake_cluster_and_version(fake_cluster, tmp_path):
    done = _novactl("-i", str(fake_cluster), "hypervisor-list", "-f", "csv", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (
        0,
        "ID,Hypervisor hostname,State,Status\n1,compute1,up,enabled\n2,compute2,up,disabled\n3,compute3,down,enabled\n",
    )
    assert "Traceback" not in done.stderr
    version = _novactl("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout, version.stderr) == (0, f"novactl, version {__version__}\n", "")
