"""Issue 8 on the lab: a transport that cannot deadlock, and hosts that stop answering.

Times are bounded by generous subprocess timeouts (a hang fails the test), never asserted as speed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from novactl.models import HostConfig
from novactl.remote import connect
from tests.integration.cli import novactl
from tests.integration.leftovers import delete_leftovers
from tests.lab import Lab


@pytest.fixture
def inventory(lab: Lab, tmp_path: Path, marker_image: dict) -> Iterator[Path]:
    path = lab.write_inventory(tmp_path / "inventory.yaml", images=[marker_image])
    yield path
    delete_leftovers(path)  # not assert_clean: a host stopped mid-command may keep what cleanup is for


@contextmanager
def frozen_libvirtd(lab: Lab, host: str) -> Iterator[None]:
    """libvirtd stopped with SIGSTOP: SSH still answers, libvirt calls never do."""
    pid = lab.exec(host, ["pidof", "libvirtd"]).stdout.split()[0]
    lab.exec(host, ["kill", "-STOP", pid])
    try:
        yield
    finally:
        lab.exec(host, ["kill", "-CONT", pid])


@contextmanager
def sshd_killed(lab: Lab, host: str) -> Iterator[None]:
    lab.stop_sshd(host)
    try:
        yield
    finally:
        lab.start_sshd(host)


def novactl_json_within(inventory: Path, timeout: float, *args: str) -> Any:
    done = novactl(inventory, *args, "-f", "json", timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("failure", [frozen_libvirtd, sshd_killed], ids=["libvirtd-frozen", "sshd-killed"])
def test_a_host_that_stops_answering_is_down_and_boots_go_elsewhere(lab: Lab, inventory: Path, failure) -> None:
    sick = lab.hosts[0].name
    with failure(lab, sick):
        done = novactl(inventory, "service-list", timeout=60)  # the bound is 15 s on an idle machine
        assert done.returncode == 0, done.stderr
        rows = {line.split("|")[3].strip(): line.split("|")[6].strip() for line in done.stdout.splitlines() if "nova-compute" in line}
        assert rows == {h.name: ("down" if h.name == sick else "up") for h in lab.hosts}
        assert f"{sick} is down: " in done.stdout  # with the reason
        # The scheduler excludes it (ComputeFilter), and the boot lands on a host that answers.
        dry = novactl(inventory, "boot", "probe", "--flavor", "m1.tiny", "--image", "marker", "--dry-run", timeout=60)
        assert f"{sick}: ComputeFilter: compute service down" in dry.stdout, dry.stdout + dry.stderr
        shown = novactl_json_within(inventory, 120, "boot", "elsewhere", "--flavor", "m1.tiny", "--image", "marker")
        assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] != sick
    assert {row["Host"]: row["State"] for row in novactl_json_within(inventory, 60, "service-list")}[
        sick
    ] == "up"  # and it comes back once it answers again


def test_hypervisor_show_of_a_frozen_host_exits_1_with_the_reason(lab: Lab, inventory: Path) -> None:
    sick = lab.hosts[1].name
    with frozen_libvirtd(lab, sick):
        done = novactl(inventory, "hypervisor-show", sick, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{sick} is down: " in done.stdout and "Traceback" not in done.stderr


def _lab_host(lab: Lab, index: int = 0) -> HostConfig:
    h = lab.hosts[index]
    return HostConfig(name=h.name, address=h.address, ssh_user="root", ssh_key=str(lab.ssh_key), known_hosts=str(lab.known_hosts))


def _call_hard(conn, rounds: int) -> int:
    """A mix of small and large replies (capabilities are tens of KiB) on one connection."""
    for _ in range(rounds):
        conn.getInfo()
        conn.listAllDomains(0)
        assert "<capabilities>" in conn.getCapabilities()
    return rounds * 3


def test_hundreds_of_concurrent_libvirt_calls_over_several_tunnels_never_stall(lab: Lab) -> None:
    """3 hosts x 3 libvirt connections each through one SSH connection per host, 4 threads per
    libvirt connection: 1,080 calls per repetition, 3 repetitions. A stalled bridge fails the join."""
    hosts = [_lab_host(lab, i) for i in range(len(lab.hosts))]
    for _repetition in range(3):
        connections = [connect(host) for host in hosts]
        try:
            libvirt_conns = [c.open_libvirt() for c in connections for _ in range(3)]
            with ThreadPoolExecutor(max_workers=len(libvirt_conns) * 4) as pool:
                futures = [pool.submit(_call_hard, conn, 10) for conn in libvirt_conns for _ in range(4)]
                done = [f.result(timeout=300) for f in futures]
            assert sum(done) == len(hosts) * 3 * 4 * 10 * 3
            for conn in libvirt_conns:
                conn.close()
        finally:
            for c in connections:
                c.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("libvirt-open-")]


def test_hypervisor_list_repeated_several_at_a_time_never_hangs(lab: Lab, inventory: Path) -> None:
    """A modest version of the by-hand run (hundreds of runs on 4 hosts, ARCHITECTURE.md)."""

    def one(_: int) -> tuple[int, str]:
        done = novactl(inventory, "hypervisor-list", "-f", "value", "-c", "State", timeout=120)
        return done.returncode, done.stdout

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(one, range(12)))
    assert results == [(0, "up\n" * len(lab.hosts))] * 12


def test_libvirt_goes_straight_to_the_daemons_socket_and_starts_nothing_on_the_host(lab: Lab) -> None:
    """sshd connects to libvirtd's socket itself (direct-streamlocal): no virt-ssh-helper, no login shell."""
    connection = connect(_lab_host(lab))
    try:
        libvirt_conns = [connection.open_libvirt() for _ in range(2)]
        helpers = lab.exec(lab.hosts[0].name, ["sh", "-c", "pgrep -c -f '^virt-ssh-helper' || true"]).stdout.strip()
        assert helpers == "0"
        assert [conn.getHostname() for conn in libvirt_conns] == [lab.hosts[0].name] * 2
        assert connection._libvirt_sockets == ["/var/run/libvirt/libvirt-sock"]  # the lab runs monolithic libvirtd
        for conn in libvirt_conns:
            conn.close()
    finally:
        connection.close()


def test_libvirt_falls_back_to_virt_ssh_helper_where_sshd_cannot_reach_the_socket(lab: Lab) -> None:
    connection = connect(_lab_host(lab, 1))
    try:
        connection._libvirt_sockets = ["/var/run/libvirt/no-such-sock"]  # sshd refuses: as for a missing socket
        conn = connection.open_libvirt()
        helpers = lab.exec(lab.hosts[1].name, ["sh", "-c", "pgrep -c -f '^virt-ssh-helper' || true"]).stdout.strip()
        assert helpers == "1"
        assert conn.getHostname() == lab.hosts[1].name
        assert connection._libvirt_sockets == []
        conn.close()
    finally:
        connection.close()
