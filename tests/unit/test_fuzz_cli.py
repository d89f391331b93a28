"""Fuzz: random, often hostile, inventories and command lines through the whole CLI on fake hosts.

Whatever the input, novactl ends with an exit code of 0-4, no traceback, and `-f json` output that a
strict parser accepts (no NaN or Infinity). Runs in-process (click's CliRunner isolation, no
subprocess), so an example costs milliseconds.

CI runs a modest number of examples. A long run, by hand:
    NOVACTL_FUZZ_EXAMPLES=10000 timeout 3600 python3 -m pytest -q -p no:cacheprovider \\
        tests/unit/test_fuzz_cli.py --hypothesis-show-statistics
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from novactl.cli import main
from novactl.scheduler.filters import FILTERS
from novactl.scheduler.weights import WEIGHERS

EXAMPLES = int(os.environ.get("NOVACTL_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


class RawScalar(str):
    """Text written into the YAML as is, with a tag: integers past Python's int-string limit, .nan."""

    tag = "tag:yaml.org,2002:int"


class RawFloat(RawScalar):
    tag = "tag:yaml.org,2002:float"


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(RawScalar, lambda d, v: d.represent_scalar(v.tag, str(v)))
_Dumper.add_representer(RawFloat, lambda d, v: d.represent_scalar(v.tag, str(v)))

NAMES = ["a", "b", "c1", "m1.tiny", "g1", "web", "cirros", "lan", "nova", "az2", "gpu"]
HOSTILE_TEXT = [
    "", " ", "x\n", "../victim", "\x1b[2J\x1b]0;owned\x07", "\u202eevil", "gpu:²", "gpu:1", "gpu:" + "9" * 50, "²", "1e999",
    "NaN", "-1", "a" * 300, "$(id)", "; rm -rf /", "qemu+ext:///system?command=/bin/true", "qemu:///system", ">=1.2,<3",
    ">=" + "1" * 5000, "capabilities:rack", "<in> r1", "s== x", "true", "null",
]  # fmt: skip
HOSTILE_NUMBERS = [
    RawScalar("1" + "0" * 400), RawScalar("9" * 4400), RawScalar("0b" + "1" * 5000), RawScalar("1:" * 60 + "1"),
    RawFloat(".nan"), RawFloat(".inf"), RawFloat("-.inf"), RawFloat("1.0e+308"), 10**40, 2**63, 2.0, 0.5, -1, 0, True, 1e308,
]  # fmt: skip


def mostly(good, *bad):
    """`good` about 30 times in 31: a hostile value or two per inventory, not one per field, so about half
    the examples get past loading into the scheduler and the output."""
    return st.one_of(*[good] * (30 * len(bad)), *bad)


text = mostly(st.sampled_from(NAMES), st.sampled_from(HOSTILE_TEXT), st.text(max_size=12))
number = mostly(st.integers(0, 70000), st.sampled_from(HOSTILE_NUMBERS), st.floats(allow_nan=False, allow_infinity=False), st.integers())
scalar = st.one_of(text, number, st.booleans(), st.none(), st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)))
key = st.one_of(text, st.sampled_from(["hw:cpu_policy", "capabilities:rack", "pci_passthrough:alias", "arch", "ssd"]), number)
free = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(key, inner, max_size=3), max_leaves=12)


def _nested(depth: int) -> dict:
    value: dict = {"x": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


# Deep nesting, past any bound: YAML output and the loader once recursed without end on it.
deep = st.integers(1, 40).map(_nested)


facts = st.fixed_dictionaries(
    {},
    optional={
        "memory_mb": mostly(st.integers(0, 65536), number),
        "vcpus": mostly(st.integers(0, 64), number),
        "local_gb": mostly(st.integers(0, 2000), number),
        "memory_mb_used": number,
        "vcpus_used": number,
        "local_gb_used": number,
        "disk_available_least": number,
        "hypervisor_version": mostly(st.integers(0, 10_000_000), number),
        "cpu_info": mostly(free, deep),
        "supported_instances": st.lists(st.lists(st.sampled_from(["x86_64", "qemu", "kvm", "hvm", "i686"]) | text, max_size=3), max_size=2),
        "pci_devices": st.lists(st.dictionaries(st.sampled_from(["vendor_id", "product_id", "address"]) | key, text | number), max_size=3),
        "up": scalar,
        "down_reason": text,
        "disabled": scalar,
        "disabled_reason": text,
        "cached_images": st.lists(text, max_size=2),
        "instances": st.lists(
            st.fixed_dictionaries({"name": text, "flavor": text}, optional={"group": text, "vm_state": text}), max_size=3
        ),
    },
)
host = st.fixed_dictionaries(
    {"name": mostly(st.sampled_from(["c1", "c2", "c3"]), text), "driver": st.just("fake"), "facts": mostly(facts, free)},
    optional={
        "zone": text,
        "address": text,
        "libvirt_uri": text,
        "ram_allocation_ratio": number,
        "cpu_allocation_ratio": number,
        "capabilities": free,
        "ssh_port": number,
    },
)
flavor = st.fixed_dictionaries(
    {
        "name": text,
        "ram": mostly(st.integers(1, 8192), number),
        "disk": mostly(st.integers(0, 80), number),
        "vcpus": mostly(st.integers(1, 8), number),
    },
    optional={
        "id": text | number,
        "swap": number,
        "ephemeral": number,
        "rxtx_factor": number,
        "is_public": scalar,
        "extra_specs": st.dictionaries(key, text | number | st.booleans(), max_size=3),
    },
)
image = st.fixed_dictionaries(
    {"id": st.sampled_from(["11111111-2222-3333-4444-555555555555", "x"]) | text, "name": text, "file": text},
    optional={
        "disk_format": text,
        "properties": st.dictionaries(
            st.sampled_from(["architecture", "img_hv_requested_version", "hypervisor_type"]) | key, text | number
        ),
        "min_ram": number,
    },
)
scheduler = st.fixed_dictionaries(
    {},
    optional={
        "filters": st.lists(st.sampled_from(sorted(FILTERS)), max_size=6, unique=True),
        "weighers": st.lists(st.sampled_from(sorted(WEIGHERS)), max_size=4, unique=True),
        "max_attempts": number,
        "host_subset_size": number,
        "ram_allocation_ratio": number,
        "cpu_allocation_ratio": number,
        "disk_allocation_ratio": number,
        "reserved_host_memory_mb": number,
        "ram_weight_multiplier": number,
        "cpu_weight_multiplier": number,
        "soft_anti_affinity_weight_multiplier": number,
        "pci_alias": st.dictionaries(key, st.fixed_dictionaries({"vendor_id": text, "product_id": text}) | free, max_size=2),
    },
)
inventories = st.fixed_dictionaries(
    {"hosts": st.lists(host, min_size=1, max_size=3)},
    optional={
        "flavors": st.lists(flavor, max_size=3),
        "images": st.lists(image, max_size=2),
        "scheduler": scheduler,
        "server_groups": st.lists(
            st.fixed_dictionaries({"name": text, "policy": st.sampled_from(["affinity", "anti-affinity"]) | text}), max_size=2
        ),
        "networks": st.lists(st.fixed_dictionaries({"name": text, "bridge": text}), max_size=2),
    },
)

ARG = st.one_of(
    st.sampled_from([*NAMES, "c2", "c3"]), st.sampled_from(HOSTILE_TEXT), st.text(max_size=8).filter(lambda s: not s.startswith("-"))
)
COUNT = st.sampled_from(["1", "2", "0", "-1", "1000", "1001", "100000", "1" * 50, "²", "2.0"])
command = st.one_of(
    st.tuples(
        st.sampled_from(
            [
                "flavor-list",
                "image-list",
                "service-list",
                "hypervisor-list",
                "hypervisor-stats",
                "availability-zone-list",
                "list",
                "server-group-list",
            ]
        )
    ),
    st.tuples(
        st.sampled_from(
            ["flavor-show", "hypervisor-show", "show", "server-group-show", "delete", "stop", "service-disable", "console-log"]
        ),
        ARG,
    ),
    st.tuples(st.just("capacity"), st.just("--flavor"), ARG),
    st.tuples(st.just("boot"), st.just("--dry-run"), st.just("--flavor"), ARG, st.just("--image"), ARG, st.just("--max-count"), COUNT, ARG),
    st.tuples(st.just("boot"), st.just("--dry-run"), st.just("--flavor"), ARG, st.just("--hint"), ARG.map(lambda g: f"group={g}"), ARG),
    st.tuples(st.just("evacuate"), st.just("--dry-run"), ARG),
    st.tuples(st.just("server-group-create"), st.just("--policy"), st.just("affinity"), ARG),
)
ACTIONS = {"delete", "stop", "service-disable", "console-log"}  # commands without -f
output = st.sampled_from([(), ("-f", "json"), ("-f", "yaml"), ("-f", "value"), ("-f", "csv")])


def run(argv: list[str]) -> tuple[int, str, str]:
    """novactl's console entry point in-process, its output captured by click's CliRunner isolation."""
    with CliRunner().isolation() as (out, err, _):
        try:
            main(argv)
            code = 0
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
        return code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")


def _strict_constant(name: str) -> None:
    raise AssertionError(f"-f json printed {name}, which is not JSON")


@FUZZ
@given(inventory=inventories, argv=command, fmt=output)
def test_any_inventory_and_command_ends_cleanly(inventory, argv, fmt):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "inventory.yaml"
        path.write_text(yaml.dump(inventory, Dumper=_Dumper, allow_unicode=True))
        args = ["-i", str(path), *argv, *(() if argv[0] in ACTIONS else fmt)]
        code, stdout, stderr = run(args)
    event(f"exit {code}" + (" (inventory refused)" if code == 2 and ".yaml:" in stderr else ""))
    assert code in {0, 1, 2, 3, 4}, (code, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    if code:
        assert stderr.strip(), "a failure says why"
        assert stderr.startswith(("ERROR: ", "Usage: ", "Error: ")), stderr
    assert "\x1b" not in stdout and "\x1b" not in stderr, "terminal escapes reached the terminal raw"
    if fmt == ("-f", "json") and stdout.strip():
        json.loads(stdout, parse_constant=_strict_constant)
