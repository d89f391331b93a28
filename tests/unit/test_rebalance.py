"""rebalance's plan on fake hosts: it lowers the score, every move is one the scheduler accepts (capacity,
zones, disabled and down hosts, affinity and anti-affinity), anti-affinity violations are repaired, and
--execute stops at the first failure saying where everything is."""

from __future__ import annotations

import itertools
import json
import statistics

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from novactl import rebalance
from novactl.inventory import load_inventory
from novactl.poller import poll

FLAVORS = [
    {"id": "1", "name": "small", "ram": 1024, "disk": 1, "vcpus": 1},
    {"id": "2", "name": "big", "ram": 3072, "disk": 1, "vcpus": 1},
]


def _inventory(write_inventory, hosts: dict[str, dict], groups=(), scheduler=None):
    """hosts: name -> {"instances": [...], and any other facts or host keys (zone)}."""
    doc = {"scheduler": {"reserved_host_memory_mb": 512, "ram_allocation_ratio": 1.0, **(scheduler or {})}, "flavors": FLAVORS}
    doc["server_groups"] = [{"name": name, "policy": policy} for name, policy in groups]
    doc["hosts"] = []
    for name, spec in hosts.items():
        spec = dict(spec)
        zone = spec.pop("zone", "nova")
        facts = {"memory_mb": 8192, "vcpus": 8, "local_gb": 100, **spec}
        doc["hosts"].append({"name": name, "driver": "fake", "zone": zone, "facts": facts})
    return load_inventory(str(write_inventory(yaml.safe_dump(doc))))


def _vms(prefix: str, count: int, flavor: str = "small", **extra) -> list[dict]:
    return [{"name": f"{prefix}{i}", "flavor": flavor, **extra} for i in range(1, count + 1)]


def _plan(inventory, max_moves=None):
    with poll(inventory) as cluster:
        return rebalance.plan(cluster, max_moves)


def _placement(inventory, plan) -> dict[str, str]:
    with poll(inventory) as cluster:
        where = {i.name: i.host for i in cluster.instances}
    for move in plan.moves:
        assert where[move.instance.name] == move.source  # moves chain from the current placement
        where[move.instance.name] = move.target
    return where


def test_guests_all_on_one_host_are_spread_evenly(write_inventory):
    inventory = _inventory(write_inventory, {"a": {"instances": _vms("vm", 6)}, "b": {}, "c": {}})
    plan = _plan(inventory)
    counts = sorted(list(_placement(inventory, plan).values()).count(h) for h in "abc")
    assert counts == [2, 2, 2]
    assert len(plan.moves) == 4  # the fewest moves that reach it
    assert plan.score_after == 0.0
    # score_before: free ratios (8192-512-6144)/8192, 7680/8192, 7680/8192
    ratios = [1536 / 8192, 7680 / 8192, 7680 / 8192]
    assert abs(plan.score_before - statistics.pstdev(ratios)) < 1e-12
    scores = [plan.score_before] + [m.score_after for m in plan.moves]
    assert all(after < before for before, after in itertools.pairwise(scores))  # each move lowers the score


def test_balanced_cluster_needs_no_move(write_inventory):
    inventory = _inventory(write_inventory, {"a": {"instances": _vms("a", 2)}, "b": {"instances": _vms("b", 2)}})
    plan = _plan(inventory)
    assert plan.moves == [] and plan.score_before == plan.score_after == 0.0


def test_max_moves(write_inventory):
    inventory = _inventory(write_inventory, {"a": {"instances": _vms("vm", 6)}, "b": {}, "c": {}})
    plan = _plan(inventory, max_moves=1)
    assert len(plan.moves) == 1 and plan.score_after < plan.score_before


def test_targets_pass_the_filters(write_inventory):
    """Down, disabled, other-zone and too-small hosts get nothing; big guests go where they fit."""
    hosts = {
        "a": {"instances": _vms("vm", 4) + _vms("big", 1, "big")},
        "down": {"up": False},
        "off": {"disabled": True},
        "az2": {"zone": "az2"},
        "tiny": {"memory_mb": 2560},  # 2048 MB free: two small guests fit, a big one never
    }
    inventory = _inventory(write_inventory, hosts)
    plan = _plan(inventory)
    targets = {m.target for m in plan.moves}
    assert targets == {"tiny"}
    assert all(m.instance.flavor.name == "small" for m in plan.moves)


def test_anti_affinity_violation_is_repaired_even_against_the_score(write_inventory):
    """web1 and web2 share a; b is fuller. Balance alone would move nothing to b, but the group must split."""
    hosts = {
        "a": {"instances": _vms("web", 2, group="web")},
        "b": {"instances": _vms("other", 4)},
    }
    inventory = _inventory(write_inventory, hosts, groups=[("web", "anti-affinity")])
    plan = _plan(inventory)
    assert [(m.instance.name, m.source, m.target, m.reason) for m in plan.moves][:1] == [("web2", "a", "b", "anti-affinity web")]
    where = _placement(inventory, plan)
    assert where["web1"] != where["web2"]


def test_balancing_never_breaks_server_groups(write_inventory):
    """Anti-affinity members are never put together, affinity members never pulled apart."""
    hosts = {
        "a": {"instances": _vms("web", 2, group="web") + _vms("db", 3, group="db")},
        "b": {"instances": [{"name": "web3", "flavor": "small", "group": "web"}]},
        "c": {},
    }
    inventory = _inventory(write_inventory, hosts, groups=[("web", "anti-affinity"), ("db", "affinity")])
    plan = _plan(inventory)
    where = _placement(inventory, plan)
    assert len({where["web1"], where["web2"], where["web3"]}) == 3
    assert len({where["db1"], where["db2"], where["db3"]}) == 1
    assert plan.score_after < plan.score_before


def test_unrepairable_violation_is_reported(write_inventory):
    """Two hosts, three anti-affinity members: one pair must stay together, and the plan says so."""
    hosts = {"a": {"instances": _vms("web", 2, group="web")}, "b": {"instances": [{"name": "web3", "flavor": "small", "group": "web"}]}}
    inventory = _inventory(write_inventory, hosts, groups=[("web", "anti-affinity")])
    plan = _plan(inventory)
    assert plan.moves == []
    assert plan.unrepaired == ["web2 shares a with another member of web: no legal host to move it to"]


def test_instances_live_migration_refuses_stay(write_inventory):
    hosts = {"a": {"instances": _vms("vm", 4, vm_state="error")}, "b": {}}
    assert _plan(_inventory(write_inventory, hosts)).moves == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=st.lists(st.lists(st.sampled_from(["small", "big"]), max_size=5), min_size=2, max_size=4),
    grouped=st.integers(min_value=0, max_value=3),
)
def test_plans_stay_legal(write_inventory, layout, grouped):
    """Any cluster: each balance move lowers the score, no host goes over its RAM, and no two members
    of the anti-affinity group end on one host unless the plan reports it."""
    hosts, serial = {}, 0
    for index, flavors in enumerate(layout):
        instances = []
        for flavor in flavors:
            serial += 1
            instances.append({"name": f"vm{serial}", "flavor": flavor, **({"group": "aa"} if serial <= grouped else {})})
        hosts[f"h{index}"] = {"instances": instances}
    inventory = _inventory(write_inventory, hosts, groups=[("aa", "anti-affinity")])
    plan = _plan(inventory)
    where = _placement(inventory, plan)
    flavors = {v["name"]: v["flavor"] for h in hosts.values() for v in h["instances"]}
    ram = {name: 512 + sum(1024 if flavors[v["name"]] == "small" else 3072 for v in h["instances"]) for name, h in hosts.items()}
    previous = plan.score_before
    for move in plan.moves:
        size = 1024 if flavors[move.instance.name] == "small" else 3072
        ram[move.source] -= size
        ram[move.target] += size
        assert ram[move.target] <= 8192  # RamFilter at ratio 1.0
        if move.reason == "balance":
            assert move.score_after < previous
        previous = move.score_after
    members = [host for name, host in where.items() if int(name[2:]) <= grouped]
    if len(members) != len(set(members)):
        assert plan.unrepaired


def test_dry_run_json(write_inventory, run_main):
    inventory = _inventory(write_inventory, {"a": {"instances": _vms("vm", 2)}, "b": {}})
    result = run_main("-i", inventory.path, "rebalance", "--dry-run", "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == {
        "score_before": round(statistics.pstdev([5632 / 8192, 7680 / 8192]), 6),
        "score_after": 0.0,
        "moves": [{"instance": "vm1", "from": "a", "to": "b"}],
    }


def test_dry_run_table_prints_the_score(write_inventory, run_main):
    inventory = _inventory(write_inventory, {"a": {"instances": _vms("vm", 2)}, "b": {}})
    result = run_main("-i", inventory.path, "rebalance")
    assert "| vm1      | a    | b  | balance |" in result.stdout
    assert "Score (std dev of free RAM ratio): 0.1250 before, 0.0000 after 1 move(s)." in result.stdout


def test_execute_stops_at_the_first_failure_and_says_where_everything_is(write_inventory, run_main):
    """Fake hosts cannot live-migrate: the first move fails, the others are not attempted."""
    inventory = _inventory(write_inventory, {"a": {"instances": _vms("vm", 6)}, "b": {}, "c": {}})
    result = run_main("-i", inventory.path, "rebalance", "--execute", "-f", "json")
    assert result.exit_code == 2  # the fake driver's refusal (UsageError)
    document = json.loads(result.stdout)
    first, *rest = document["moves"]
    assert first["done"] is False and first["result"].startswith("ERROR: ")
    assert [m["result"] for m in rest] == ["not attempted"] * 3
    assert "[1/4] live-migrating vm1 from a to " in result.stderr
    assert "vm1 failed" in result.stderr and "[2/4]" not in result.stderr
    table = run_main("-i", inventory.path, "rebalance", "--execute")
    assert "Stopped at vm1: it is still on a; 3 later move(s) not attempted." in table.stdout


def test_dry_run_and_execute_are_exclusive(write_inventory, run_main):
    inventory = _inventory(write_inventory, {"a": {}, "b": {}})
    result = run_main("-i", inventory.path, "rebalance", "--dry-run", "--execute")
    assert result.exit_code == 2 and "exclusive" in result.stderr
