"""Hang check: `novactl hypervisor-list` run many times on 4 lab hosts, several at a time.

Not a test (it takes minutes): it counts runs that end well, runs that fail, and runs that do not end
within --timeout (a hang; their thread stacks are printed, via faulthandler). Issue 8 asks for
hundreds of runs with none hanging. Run as root: `python3 bench/hangs.py [--runs 200] [--parallel 4]`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab.lab import Lab

REPO = Path(__file__).resolve().parents[1]


def one_run(inventory: Path, hosts: int, timeout: float) -> tuple[str, str]:
    argv = [sys.executable, "-X", "faulthandler", "-m", "novactl", "-i", str(inventory), "hypervisor-list", "-f", "value", "-c", "State"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONSAFEPATH": "1"}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        return "hang", process.communicate()[1]
    return ("ok", "") if process.returncode == 0 and out == "up\n" * hosts else ("failed", out + err)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="novactl-bench-hangs-"))
    with Lab.start(4, workdir / "lab") as lab:
        inventory = lab.write_inventory(workdir / "inventory.yaml")
        with ThreadPoolExecutor(args.parallel) as pool:
            results = list(pool.map(lambda _: one_run(inventory, 4, args.timeout), range(args.runs)))
    print(f"hypervisor-list x {args.runs} on 4 hosts, {args.parallel} at a time:", dict(Counter(kind for kind, _ in results)))
    for kind, detail in results:
        if kind != "ok":
            print(f"--- {kind}:\n{detail}")


if __name__ == "__main__":
    main()
