"""Start-up benchmark: `novactl --help` and `flavor-list` against bare Python importing their libraries.

Each command runs in a fresh interpreter; the figure is the median CPU time (user + system) of the child
processes over --runs runs, ours and the baseline's taken in turn, so a busy machine does not skew the
ratio. The children run the checkout this file lives in (its directory first on sys.path, checked before
timing), not whatever `pip install -e` points at. Both sides read compiled bytecode, as an installed
tool does: $PYTHONDONTWRITEBYTECODE is dropped and the bytecode goes to a temporary directory
($PYTHONPYCACHEPREFIX), not into the checkout, after one untimed run of each command. flavor-list reads
an inventory of fake hosts; its untimed run checks the schema and remembers it (in a temporary
$XDG_CACHE_HOME), as any second read of an inventory does.

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
    subprocess.run(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000


def check_checkout(python: str, env: dict[str, str]) -> None:
    """Stop unless the children import this checkout's novactl."""
    found = subprocess.run(
        [python, "-c", "import novactl; print(novactl.__file__)"], env=env, cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    if Path(found).resolve() != REPO / "novactl" / "__init__.py":
        sys.exit(f"the children import {found}, not {REPO / 'novactl'}")


def load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PYTHONSAFEPATH": "1",
            "PYTHONPYCACHEPREFIX": str(Path(tmp, "pycache")),
            "XDG_CACHE_HOME": tmp,
        }
        for name in ("NOVACTL_INVENTORY", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        check_checkout(python, env)
        inventory = Path(tmp, "inventory.yaml")
        inventory.write_text(INVENTORY)
        pairs = [
            ("novactl --help", [python, "-m", "novactl", "--help"], 'python3 -c "import click"', [python, "-c", "import click"]),
            (
                "novactl flavor-list",
                [python, "-m", "novactl", "-i", str(inventory), "flavor-list"],
                'python3 -c "import click, yaml"',
                [python, "-c", "import click, yaml"],
            ),
        ]
        print(f"checkout {REPO}, load average {load()}")
        print(f"{'command':<22} | {'ms':>7} | {'baseline':<32} | {'ms':>7} | ratio")
        print("-" * 86)
        for name, argv, base_name, base_argv in pairs:
            cpu_ms(argv, env)  # untimed: bytecode written, the schema check remembered
            cpu_ms(base_argv, env)
            ours, base = [], []
            for _ in range(args.runs):
                ours.append(cpu_ms(argv, env))
                base.append(cpu_ms(base_argv, env))
            ours_ms, base_ms = statistics.median(ours), statistics.median(base)
            print(f"{name:<22} | {ours_ms:7.1f} | {base_name:<32} | {base_ms:7.1f} | {ours_ms / base_ms:.2f}x")
        print(f"load average {load()}")


if __name__ == "__main__":
    main()
