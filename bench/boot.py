"""Benchmark: boot on a 4-host lab, each figure a ratio measured side by side in one run.

- warm cache: `novactl boot` (start -> domain running) against bare `qemu-img create` + `virsh define`
  + `virsh start` of an equivalent XML, run on the same host over one OpenSSH connection. Target <= 1.3x.
- cold cache: image transfer throughput (the Connection.put_file a cold boot uses) against OpenSSH `scp`
  of the same file to the same host. Target >= 0.9x.
- 8 boots in parallel over 4 hosts against one boot. Target <= 2x.
- warm boot with the config drive (the default) against `--no-config-drive`, interleaved. Target: the
  drive adds <= 50 ms.

Not a test. Run as root: `python3 bench/boot.py [--runs N] [--image-mb M]`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from novactl.drivers.libvirt import paths
from novactl.inventory import load_inventory
from novactl.remote import connect
from tests.guest import make_image
from tests.lab.lab import Lab

NOVACTL = str(Path(sys.executable).with_name("novactl"))
IMAGE_ID = "5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d"


# As installed by pip, novactl's modules are byte-compiled; a session that sets
# PYTHONDONTWRITEBYTECODE would otherwise make every run compile them all from source again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:6])} ... failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def boot(inventory: Path, name: str, host: str | None = None, *extra: str) -> float:
    zone = ["--availability-zone", f"nova:{host}"] if host else []
    return run([NOVACTL, "-i", str(inventory), "boot", name, "--flavor", "m1.tiny", "--image", "marker", *zone, *extra])


def delete_all(inventory: Path) -> None:
    ids = subprocess.run([NOVACTL, "-i", str(inventory), "list", "-f", "value", "-c", "ID"], capture_output=True, text=True).stdout
    if ids.split():
        run([NOVACTL, "-i", str(inventory), "delete", *ids.split()])


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
    domain.find("devices/serial/source").set("path", f"{directory}/console.log")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image-mb", type=int, default=256)
    parser.add_argument(
        "--virt-type",
        choices=["kvm", "qemu"],
        default="kvm",
        help="guests' virt_type; under nested KVM SeaBIOS burns ~4 s of CPU per boot, TCG ~0.6 s",
    )
    parser.add_argument("--only", choices=["warm"], help="measure the warm boot ratio (P3) only")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="novactl-bench-boot-"))
    marker = make_image(workdir / "marker.qcow2")
    big = workdir / "big.raw"
    with open(big, "wb") as handle:  # incompressible, so no transport gets a free ride
        for _ in range(args.image_mb):
            handle.write(os.urandom(1024 * 1024))
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

        ours, bare, no_drive = [], [], []
        for i in range(args.runs):
            ours.append(boot(one, f"w{i}"))
            bare.append(bare_virsh(lab, host, template, base))
            no_drive.append(boot(one, f"n{i}", None, "--no-config-drive"))
            delete_all(one)
        if args.only == "warm":
            print_warm(args, ours, bare, no_drive)
            return
        put, scp = zip(*(transfer(lab, inventory, big, host) for _ in range(args.runs)), strict=True)

        single, parallel, multi = [], [], []
        for i in range(max(2, args.runs // 2)):
            single.append(boot(inventory, f"one{i}"))
            delete_all(inventory)
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda n, i=i: boot(inventory, f"p{i}-{n}"), range(8)))
            parallel.append(time.perf_counter() - started)
            delete_all(inventory)
            multi.append(
                run([NOVACTL, "-i", str(inventory), "boot", f"m{i}", "--flavor", "m1.tiny", "--image", "marker", "--max-count", "8"])
            )
            delete_all(inventory)

    print_warm(args, ours, bare, no_drive)
    m_put, m_scp = statistics.median(put), statistics.median(scp)
    m_one, m_par, m_multi = statistics.median(single), statistics.median(parallel), statistics.median(multi)
    print(f"cold cache, novactl put_file   : {args.image_mb / m_put:7.0f} MB/s ({args.image_mb} MB, median of {args.runs})")
    print(f"cold cache, scp                : {args.image_mb / m_scp:7.0f} MB/s")
    print(f"  throughput ratio             : {m_scp / m_put:7.2f}x  (target >= 0.9x)")
    print(f"one boot (4-host inventory)    : {m_one * 1000:7.0f} ms")
    print(f"8 boots in parallel, 4 hosts   : {m_par * 1000:7.0f} ms")
    print(f"  ratio                        : {m_par / m_one:7.2f}x  (target <= 2x)")
    print(f"boot --max-count 8, 4 hosts    : {m_multi * 1000:7.0f} ms (one process, builds in parallel)")
    print(f"  ratio                        : {m_multi / m_one:7.2f}x  (target <= 2x)")


def print_warm(args: argparse.Namespace, ours: list[float], bare: list[float], no_drive: list[float]) -> None:
    m_ours, m_bare = statistics.median(ours), statistics.median(bare)
    print(f"guests: virt_type {args.virt_type}")
    print(f"warm boot, novactl boot        : {m_ours * 1000:7.0f} ms (median of {args.runs}, 1-host inventory)")
    print(f"warm boot, ssh qemu-img+virsh  : {m_bare * 1000:7.0f} ms")
    print(f"  ratio                        : {m_ours / m_bare:7.2f}x  (target <= 1.3x)")
    m_plain = statistics.median(no_drive)
    print(f"warm boot, --no-config-drive   : {m_plain * 1000:7.0f} ms")
    print(f"  config drive adds            : {(m_ours - m_plain) * 1000:7.0f} ms  (target <= 50 ms)")


if __name__ == "__main__":
    main()
