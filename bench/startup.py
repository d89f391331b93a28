"""Start-up benchmark: `novactl --help` and `flavor-list` against bare Python importing their libraries.

Each command runs in a fresh interpreter (the checkout's novactl, via PYTHONPATH); the figure is the
median CPU time (user + system) of the child processes over --runs runs, so a busy machine does not
skew the ratio. flavor-list reads an inventory of fake hosts, after one untimed run (a first read
checks the schema and remembers it under ~/.cache/novactl; later reads of the same file skip it).

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INVENTORY = "hosts:\n" + "".join(f"  - {{name: fake{i}, driver: fake}}\n" for i in range(1, 9))


def cpu_ms(argv: list[str], env: dict[str, str]) -> float:
    """CPU time of one run of argv, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000


def median_ms(argv: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(cpu_ms(argv, env) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NOVACTL_INVENTORY", None)
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp, "inventory.yaml")
        inventory.write_text(INVENTORY)
        flavor_list = [python, "-m", "novactl", "-i", str(inventory), "flavor-list"]
        cpu_ms(flavor_list, env)  # the first read checks the schema
        pairs = [
            ("novactl --help", [python, "-m", "novactl", "--help"], 'python3 -c "import click"', [python, "-c", "import click"]),
            ("novactl flavor-list", flavor_list, 'python3 -c "import click, yaml"', [python, "-c", "import click, yaml"]),
        ]
        print(f"{'command':<22} | {'ms':>7} | {'baseline':<32} | {'ms':>7} | ratio")
        print("-" * 86)
        for name, argv, base_name, base_argv in pairs:
            ours, base = median_ms(argv, env, args.runs), median_ms(base_argv, env, args.runs)
            print(f"{name:<22} | {ours:7.1f} | {base_name:<32} | {base:7.1f} | {ours / base:.2f}x")


if __name__ == "__main__":
    main()
