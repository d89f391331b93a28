"""Benchmark: boot on a 4-host lab, each figure a ratio measured side by side in one run.

- warm cache (P3): `novactl boot` (start -> domain running) against bare `qemu-img create` + `virsh define`
  + `virsh start` of an equivalent XML, run on the same host over one OpenSSH connection. Target <= 1.3x.
- config drive: warm boot with the drive (the default) against `--no-config-drive`. Target: adds <= 50 ms.
- cold cache: image transfer throughput (the Connection.put_file a cold boot uses) against OpenSSH `scp`
  of the same file to the same host. Target >= 0.9x.
- multi-create (P6): `boot --max-count 8` over 4 hosts against one boot on the same inventory. Target <= 2x.
  Also 8 `novactl boot` processes at once against one boot (no target: 8 interpreters on 2 cores).

Fairness: the variants of one round run back to back, each round in another order (all orders in turn), and
every guest is destroyed right after it is measured, so no measurement shares the CPU with an earlier
one's guest (under nested KVM each guest's SeaBIOS burns seconds of CPU). Each figure is the median of
--runs rounds; the load average is printed before and after, since other work on the machine skews
both sides but not always equally.

It runs the novactl of the checkout it lives in (`python -m novactl` with PYTHONPATH), not whatever
`pip install -e` points at. Not a test. Run as root: `python3 bench/boot.py [--runs N] [--only warm|multi]`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from novactl.drivers.libvirt import paths
from novactl.inventory import load_inventory
from novactl.remote import connect
from tests.guest import make_image
from tests.lab.lab import Lab

REPO = Path(__file__).resolve().parents[1]
# This checkout's novactl, not whatever `pip install -e` points at: PYTHONPATH wins over the editable finder,
# and PYTHONSAFEPATH keeps the working directory off sys.path.
NOVACTL = [sys.executable, "-m", "novactl"]
IMAGE_ID = "5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d"


# As installed by pip, novactl's modules are byte-compiled; a session that sets
# PYTHONDONTWRITEBYTECODE would otherwise make every run compile them all from source again.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "PYTHONPATH": str(REPO), "PYTHONSAFEPATH": "1"}


def run(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:6])} ... failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def boot(inventory: Path, name: str, host: str | None = None, *extra: str) -> float:
    zone = ["--availability-zone", f"nova:{host}"] if host else []
    return run([*NOVACTL, "-i", str(inventory), "boot", name, "--flavor", "m1.tiny", "--image", "marker", *zone, *extra])


def delete_all(inventory: Path) -> None:
    listed = [*NOVACTL, "-i", str(inventory), "list", "-f", "value", "-c", "ID"]
    ids = subprocess.run(listed, capture_output=True, text=True, env=ENV).stdout
    if ids.split():
        run([*NOVACTL, "-i", str(inventory), "delete", *ids.split()])


def bare_virsh(lab: Lab, host: str, template_xml: str, base: str) -> float:
    """The same guest by hand: overlay + define + start in one ssh session, as an operator would."""
    instance = str(uuid.uuid4())
    name = f"bare-{instance[:8]}"
    directory = f"/var/lib/novactl/instances/{instance}"
    domain = ET.fromstring(template_xml)
    domain.find("name").text = name
    domain.find("uuid").text = instance
    domain.remove(domain.find("metadata"))  # not a novactl instance
    devices = domain.find("devices")
    for cdrom in devices.findall("disk[@device='cdrom']"):  # the config drive: the bare guest has none
        devices.remove(cdrom)
    domain.find("devices/disk/source").set("file", f"{directory}/disk")
    domain.find("devices/interface/target").set("dev", f"tap{instance[:11]}")
    for path in ("devices/serial/source", "devices/serial/log"):  # a file serial (older novactl), or a pty with a log
        if (element := domain.find(path)) is not None:
            element.set("path" if path.endswith("source") else "file", f"{directory}/console.log")
    xml_path = f"/tmp/{name}.xml"
    lab.exec(host, ["sh", "-c", f"cat > {xml_path}"], input=ET.tostring(domain, encoding="unicode"))
    script = (
        f"mkdir {directory} && qemu-img create -q -f qcow2 -F raw -b {base} {directory}/disk 1G"
        f" && virsh -q define {xml_path} >/dev/null && virsh -q start {name} >/dev/null"
    )
    elapsed = run(["ssh", "-F", str(lab.ssh_config), lab.host(host).address, script])
    lab.exec(host, ["sh", "-c", f"virsh -q destroy {name}; virsh -q undefine {name}; rm -rf {directory} {xml_path}"])
    return elapsed


def transfer(lab: Lab, inventory: Path, image: Path, host: str) -> tuple[float, float]:
    """(novactl put_file seconds, scp seconds) for the same file to the same host, interleaved."""
    host_config = load_inventory(str(inventory)).host(host)
    conn = connect(host_config)
    try:
        started = time.perf_counter()
        conn.put_file(str(image), "/var/lib/novactl/bench-put")
        ours = time.perf_counter() - started
    finally:
        conn.close()
    theirs = run(["scp", "-q", "-F", str(lab.ssh_config), str(image), f"{lab.host(host).address}:/var/lib/novactl/bench-scp"])
    lab.exec(host, ["rm", "-f", "/var/lib/novactl/bench-put", "/var/lib/novactl/bench-scp"])
    return ours, theirs


def rounds(runs: int, variants: dict[str, Callable[[int], float]]) -> dict[str, list[float]]:
    """Every variant once per round, the rounds going through every order of the variants in turn (so
    each variant follows each other one equally often: a rotation alone would not do that for three);
    seconds per variant."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    orders = list(itertools.permutations(variants))
    for i in range(runs):
        for name in orders[i % len(orders)]:
            times[name].append(variants[name](i))
    return times


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=6, help="rounds, each figure their median (default 6: every order of 3 variants once)")
    parser.add_argument("--image-mb", type=int, default=256)
    parser.add_argument(
        "--virt-type",
        choices=["kvm", "qemu"],
        default="kvm",
        help="guests' virt_type; under nested KVM SeaBIOS burns ~4 s of CPU per boot, TCG ~0.6 s",
    )
    parser.add_argument("--only", choices=["warm", "multi"], help="warm: P3 and the config drive only; multi: P6 only")
    args = parser.parse_args()
    print(f"novactl from {REPO}; {args.runs} rounds, medians; guests' virt_type {args.virt_type}")
    print(f"before: {load()} ({os.cpu_count()} CPUs)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="novactl-bench-boot-"))
    marker = make_image(workdir / "marker.qcow2")
    with Lab.start(4, workdir / "lab") as lab:
        image = {"id": IMAGE_ID, "name": "marker", "file": str(marker), "disk_format": "qcow2"}
        defaults = {**lab.inventory()["defaults"], "virt_type": args.virt_type}
        inventory = lab.write_inventory(workdir / "inventory.yaml", images=[image], defaults=defaults)
        one = lab.write_inventory(workdir / "one.yaml", images=[image], defaults=defaults, hosts=lab.inventory()["hosts"][:1])
        host = lab.hosts[0].name

        # Warm cache on every host, and a template XML from novactl's own first boot.
        for h in lab.hosts:
            boot(inventory, f"warm-{h.name}", h.name)
        template = lab.exec(host, ["sh", "-c", "cat /var/lib/novactl/instances/*/libvirt.xml"]).stdout
        base = f"/var/lib/novactl/instances/_base/{paths.base_name(IMAGE_ID)}"
        delete_all(inventory)

        def then_delete(seconds: float, where: Path = one) -> float:
            delete_all(where)
            return seconds

        if args.only != "multi":
            warm = rounds(
                args.runs,
                {
                    "novactl": lambda i: then_delete(boot(one, f"w{i}")),
                    "bare": lambda i: bare_virsh(lab, host, template, base),
                    "no drive": lambda i: then_delete(boot(one, f"n{i}", None, "--no-config-drive")),
                },
            )
            print_warm(warm)
        if args.only == "warm":
            print(f"after: {load()}")
            return
        if args.only is None:
            put, scp = zip(*(transfer(lab, inventory, big_image(workdir, args.image_mb), host) for _ in range(args.runs)), strict=True)
            m_put, m_scp = statistics.median(put), statistics.median(scp)
            print(f"cold cache, novactl put_file   : {args.image_mb / m_put:7.0f} MB/s ({args.image_mb} MB)")
            print(f"cold cache, scp                : {args.image_mb / m_scp:7.0f} MB/s")
            print(f"  throughput ratio             : {m_scp / m_put:7.2f}x  (target >= 0.9x)", flush=True)

        def parallel(i: int) -> float:
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda n: boot(inventory, f"p{i}-{n}"), range(8)))
            return then_delete(time.perf_counter() - started, inventory)

        multi_variants = {
            "one": lambda i: then_delete(boot(inventory, f"one{i}"), inventory),
            "max-count": lambda i: then_delete(boot(inventory, f"m{i}", None, "--max-count", "8"), inventory),
        }
        if args.only is None:
            multi_variants["parallel"] = parallel
        multi = rounds(args.runs, multi_variants)
    print_multi(multi)
    print(f"after: {load()}")


def big_image(workdir: Path, megabytes: int) -> Path:
    big = workdir / "big.raw"
    if not big.exists():
        with open(big, "wb") as handle:  # incompressible, so no transport gets a free ride
            for _ in range(megabytes):
                handle.write(os.urandom(1024 * 1024))
    return big


def spread(times: list[float]) -> str:
    return f"median of {len(times)}, range {min(times) * 1000:.0f}-{max(times) * 1000:.0f} ms"


def print_warm(times: dict[str, list[float]]) -> None:
    ours, bare, plain = (statistics.median(times[k]) for k in ("novactl", "bare", "no drive"))
    print(f"warm boot, novactl boot        : {ours * 1000:7.0f} ms ({spread(times['novactl'])}; 1-host inventory)")
    print(f"warm boot, ssh qemu-img+virsh  : {bare * 1000:7.0f} ms ({spread(times['bare'])})")
    print(f"  ratio                        : {ours / bare:7.2f}x  (target <= 1.3x)")
    print(f"warm boot, --no-config-drive   : {plain * 1000:7.0f} ms ({spread(times['no drive'])})")
    print(f"  config drive adds            : {(ours - plain) * 1000:7.0f} ms, {ours / plain:.2f}x  (target <= 50 ms)", flush=True)


def print_multi(times: dict[str, list[float]]) -> None:
    one, multi = statistics.median(times["one"]), statistics.median(times["max-count"])
    print(f"one boot (4-host inventory)    : {one * 1000:7.0f} ms ({spread(times['one'])})")
    print(f"boot --max-count 8, 4 hosts    : {multi * 1000:7.0f} ms ({spread(times['max-count'])})")
    print(f"  ratio                        : {multi / one:7.2f}x  (target <= 2x)")
    if "parallel" in times:
        par = statistics.median(times["parallel"])
        print(f"8 boot processes at once       : {par * 1000:7.0f} ms ({spread(times['parallel'])})")
        print(f"  ratio                        : {par / one:7.2f}x  (no target: 8 interpreters on the same cores)")


if __name__ == "__main__":
    main()
