"""Benchmark: live migration over each `live_migration_transport`, as a ratio to `tcp` on the same guest.

A 2-host lab with throwaway TLS certificates (tests/lab/tls.py); one guest whose root overlay holds
--data-mb of written data (so the NBD disk copy carries real bytes, not only the guest's mostly
empty RAM), migrated back and forth, the transports interleaved so load on the shared cores hits
them alike. Each figure is the median of the migration time novactl reports (libvirt's migrate3,
the relay's set-up included); the ratio is to `tcp`, the clear-text baseline. No target: `ssh`
pays for two SSH legs and a Python relay on the machine running novactl.

Not a test. Run as root: `python3 bench/migration.py [--runs N] [--data-mb M]`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.guest import make_image
from tests.lab.lab import Lab
from tests.lab.tls import configure_migration_tls

IMAGE_ID = "4a9e2c7d-4444-4b1a-8c3e-5f6a7b8c9d0e"
TRANSPORTS = ("tcp", "ssh", "tls")
FINISHED = re.compile(r"over (\w+) finished successfully in ([0-9.]+) s")


def novactl(inventory: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "novactl", "-i", str(inventory), *args], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"novactl {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="migrations per transport")
    parser.add_argument("--data-mb", type=int, default=256, help="data written into the guest's overlay")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="novactl-bench-migration-"))
    image = {"id": IMAGE_ID, "name": "counter", "file": str(make_image(workdir / "counter.qcow2", count=True)), "disk_format": "qcow2"}
    with Lab.start(2, workdir / "lab") as lab:
        configure_migration_tls(lab)
        inventories = {}
        for transport in TRANSPORTS:
            inv = lab.inventory(images=[image])
            inv["defaults"]["live_migration_transport"] = transport
            inventories[transport] = lab.write_inventory(workdir / f"{transport}.yaml", **inv)
        first = inventories["tcp"]
        home = lab.hosts[0].name
        novactl(first, "boot", "bench", "--flavor", "m1.small", "--image", "counter", "--availability-zone", f"nova:{home}")
        uuid = novactl(first, "show", "bench", "-f", "value", "-c", "id").strip()
        novactl(first, "stop", "bench")
        overlay = f"/var/lib/novactl/instances/{uuid}/disk"
        lab.exec(home, ["qemu-io", "-f", "qcow2", "-c", f"write -P 0xa5 64M {args.data_mb}M", overlay], timeout=600)
        novactl(first, "start", "bench")
        seconds: dict[str, list[float]] = {t: [] for t in TRANSPORTS}
        hosts = [h.name for h in lab.hosts]
        where = home
        for _ in range(args.runs):
            for transport in TRANSPORTS:
                target = hosts[1 - hosts.index(where)]
                out = novactl(inventories[transport], "live-migration", "bench", target, "--debug")
                used, took = FINISHED.search(out).groups()
                assert used == transport, out
                seconds[transport].append(float(took))
                where = target
        novactl(first, "delete", "bench")
    tcp = statistics.median(seconds["tcp"])
    print(f"guest: m1.small, {args.data_mb} MiB written in its overlay; median of {args.runs} migrations each")
    for transport in TRANSPORTS:
        median = statistics.median(seconds[transport])
        each = ", ".join(f"{s:.2f}" for s in seconds[transport])
        print(f"live migration over {transport:3}: {median:7.2f} s   ratio to tcp {median / tcp:5.2f}x   ({each})")


if __name__ == "__main__":
    main()
