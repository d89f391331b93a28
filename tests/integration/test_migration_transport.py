"""Live migration over each `live_migration_transport` on a 2-host lab, and what crosses the wire.

A packet capture on the source host's link (its veth, in the root namespace) looks for a secret
string that only the guest's memory holds (the boot sector it runs from, at 0x7C00). Over `tcp` it
must be seen (the capture works and the stream is clear); over `ssh` and `tls` it must not.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.guest import make_image
from tests.integration.cli import novactl, novactl_json
from tests.integration.leftovers import assert_clean
from tests.integration.test_boot import wait_for_marker
from tests.lab import Lab
from tests.lab.tls import configure_migration_tls

SECRET_IMAGE_ID = "7e1f9a3b-3333-4c8d-9e0f-1a2b3c4d5e6f"
ETH_P_ALL = 0x0003
SO_RCVBUFFORCE = 33  # Linux; root may exceed rmem_max


@pytest.fixture(scope="module")
def mlab(lab_factory) -> Lab:
    lab = lab_factory(2, "migration")
    configure_migration_tls(lab)
    return lab


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    marker = f"NOVACTL-SECRET-{secrets.token_hex(8)}"
    path = make_image(tmp_path_factory.mktemp("images") / "secret.qcow2", "qcow2", marker=marker, count=True)
    return marker, {"id": SECRET_IMAGE_ID, "name": "secret", "file": str(path), "disk_format": "qcow2"}


def inventory(lab: Lab, directory: Path, image: dict, transport: str) -> Path:
    inv = lab.inventory(images=[image])
    inv["defaults"]["live_migration_transport"] = transport
    return lab.write_inventory(directory / f"inventory-{transport}.yaml", **inv)


@contextlib.contextmanager
def capture(interface: str, needle: bytes) -> Iterator[list[bool]]:
    """Every TCP payload on `interface`, each flow's bytes read as one stream; yields [seen?] filled in at exit."""
    seen = [False]
    stop = threading.Event()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # Room for a whole migration's frames: a full buffer drops frames, and a dropped one could be the one.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 256 * 1024 * 1024)
    sock.bind((interface, 0))
    sock.settimeout(0.2)
    tails: dict[tuple, bytes] = {}

    def read() -> None:
        while not stop.is_set():
            try:
                frame = sock.recv(262144)
            except TimeoutError:
                continue
            if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:  # IPv4, TCP
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            tcp = ip[ihl:total] if total else ip[ihl:]  # 0: a GSO frame over 64 KiB (BIG TCP)
            payload = tcp[(tcp[12] >> 4) * 4 :]
            flow = (ip[12:16], ip[16:20], tcp[0:4])
            data = tails.get(flow, b"") + payload
            if needle in data:
                seen[0] = True
            tails[flow] = data[-(len(needle) - 1) :]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield seen
    finally:
        stop.set()
        reader.join(10)
        sock.close()


def listeners(lab: Lab, host: str) -> set[str]:
    return {line.split()[3] for line in lab.exec(host, ["ss", "-Hltn"]).stdout.splitlines()}


def where(inventory: Path, name: str) -> str:
    return novactl_json(inventory, "show", name)["OS-EXT-SRV-ATTR:host"]


def test_live_migration_over_each_transport_and_only_tcp_is_in_clear(mlab: Lab, tmp_path: Path, secret: tuple[str, dict]) -> None:
    marker, image = secret
    invs = {t: inventory(mlab, tmp_path, image, t) for t in ("tcp", "ssh", "tls")}
    veths = {h.name: h.veth for h in mlab.hosts}
    home = mlab.hosts[0].name
    shown = novactl_json(invs["ssh"], "boot", "sec", "--flavor", "m1.tiny", "--image", "secret", "--availability-zone", f"nova:{home}")
    wait_for_marker(mlab, home, shown["id"], marker)  # the boot sector is in the guest's memory
    try:
        for transport in ("tcp", "ssh", "tls", "ssh"):  # back and forth between the two hosts
            source = where(invs[transport], "sec")
            target = next(h.name for h in mlab.hosts if h.name != source)
            listening = {h.name: listeners(mlab, h.name) for h in mlab.hosts}
            with capture(veths[source], marker.encode()) as seen:
                done = novactl(invs[transport], "live-migration", "sec", target, "--debug")
            assert done.returncode == 0, done.stderr[-2000:]
            assert {h.name: listeners(mlab, h.name) for h in mlab.hosts} == listening  # no relay port left open
            assert f"to {target} over {transport} finished successfully" in done.stderr
            assert seen == [transport == "tcp"], f"{transport}: the guest's memory seen on the wire: {seen[0]}"
            shown = novactl_json(invs[transport], "show", "sec")
            assert shown["OS-EXT-SRV-ATTR:host"] == target and shown["status"] == "ACTIVE"
            assert mlab.virsh(target, "domstate", "--reason", shown["OS-EXT-SRV-ATTR:instance_name"]).strip() == "running (migrated)"
    finally:
        novactl(invs["ssh"], "delete", "sec")
    assert_clean(mlab)


def test_hosts_that_disagree_migrate_over_ssh(mlab: Lab, tmp_path: Path, secret: tuple[str, dict]) -> None:
    """tcp only when both hosts opted in: one host saying tcp and the other tls gives ssh."""
    marker, image = secret
    inv = mlab.inventory(images=[image])
    inv["hosts"][0]["live_migration_transport"] = "tcp"
    inv["hosts"][1]["live_migration_transport"] = "tls"
    path = mlab.write_inventory(tmp_path / "inventory.yaml", **inv)
    h1, h2 = (h.name for h in mlab.hosts)
    shown = novactl_json(path, "boot", "mix", "--flavor", "m1.tiny", "--image", "secret", "--availability-zone", f"nova:{h1}")
    wait_for_marker(mlab, h1, shown["id"], marker)
    try:
        with capture(mlab.hosts[0].veth, marker.encode()) as seen:
            done = novactl(path, "live-migration", "mix", h2, "--debug")
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"to {h2} over ssh finished successfully" in done.stderr and seen == [False]
    finally:
        novactl(path, "delete", "mix")
    assert_clean(mlab)
