"""Benchmark: `novactl hypervisor-list` over 1 and over 8 lab hosts, and `novactl --help` start-up.

Not a test: it prints figures measured side by side in one run. Targets (issues 2 and 8): 8 hosts
within 1.3x of one host; novactl's own CPU (user + system of the process) grows by at most 15 ms per
extra host; `novactl --help` within 150 ms. Run as root: `python3 bench/poll.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab.lab import Lab

# This checkout's novactl, not whatever `pip install -e` points at: PYTHONPATH wins over the editable finder,
# and PYTHONSAFEPATH keeps the working directory off sys.path.
REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONSAFEPATH": "1"}


def timed_cpu(argv: list[str]) -> tuple[float, float]:
    """Wall time and the process's own CPU time (user + system), in seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{argv} failed: wait status {status}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def timed(argv: list[str]) -> float:
    return timed_cpu(argv)[0]


def median_of(argv: list[str], runs: int) -> float:
    return statistics.median(timed(argv) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    # This interpreter itself, not a version manager's shim in front of it (pyenv's costs ~150 ms a run).
    novactl = [sys.executable, "-m", "novactl"]
    workdir = Path(tempfile.mkdtemp(prefix="novactl-bench-poll-"))
    with Lab.start(8, workdir / "lab") as lab:
        inventory = lab.inventory()
        one = lab.write_inventory(workdir / "one.yaml", hosts=inventory["hosts"][:1])
        eight = lab.write_inventory(workdir / "eight.yaml")
        for path in (one, eight):  # warm-up: page cache, libvirt's first connection
            timed([*novactl, "-i", str(path), "hypervisor-list"])
        # Interleaved, so both see the same machine load.
        t1, t8 = [], []
        for _ in range(args.runs):
            t1.append(timed_cpu([*novactl, "-i", str(one), "hypervisor-list"]))
            t8.append(timed_cpu([*novactl, "-i", str(eight), "hypervisor-list"]))
    m1, m8 = (statistics.median(wall for wall, _ in runs) for runs in (t1, t8))
    c1, c8 = (statistics.median(cpu for _, cpu in runs) for runs in (t1, t8))
    help_time = median_of([*novactl, "--help"], args.runs)
    python_time = median_of([sys.executable, "-c", "pass"], args.runs)
    print(f"hypervisor-list, 1 host : {m1 * 1000:7.0f} ms (median of {args.runs})")
    print(f"hypervisor-list, 8 hosts: {m8 * 1000:7.0f} ms")
    print(f"ratio 8 hosts / 1 host  : {m8 / m1:7.2f}x   (target <= 1.3x)")
    per_host = (c8 - c1) / 7 * 1000
    print(f"novactl CPU, 1 / 8 hosts: {c1 * 1000:7.0f} / {c8 * 1000:.0f} ms: {per_host:.1f} ms per extra host (target <= 15 ms)")
    print(f"novactl --help          : {help_time * 1000:7.0f} ms   (target <= 150 ms; bare python3 -c pass: {python_time * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
