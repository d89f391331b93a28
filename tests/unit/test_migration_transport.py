"""live_migration_transport: which path a pair of hosts takes, the completion deadline, the relay."""

from __future__ import annotations

import socket
import textwrap
import threading

import pytest

from novactl.drivers.libvirt.migrate import completion_timeout, migration_transport
from novactl.errors import HostError, InventoryError
from novactl.hoststate import InstanceInfo
from novactl.inventory import parse_inventory
from novactl.models import Flavor, HostConfig
from novactl.remote.local import LocalConnection
from novactl.remote.relay import LoopbackRelay


def host(name: str, transport: str | None = None) -> HostConfig:
    return HostConfig(name=name, address="192.0.2.1", **({"live_migration_transport": transport} if transport else {}))


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        (None, None, "ssh"),  # the default
        ("tcp", "tcp", "tcp"),
        ("tls", "tls", "tls"),
        ("tcp", "ssh", "ssh"),  # in clear only if both hosts opted in
        ("ssh", "tcp", "ssh"),
        ("tcp", "tls", "ssh"),  # TLS only if both have certificates
        ("tls", "ssh", "ssh"),
    ],
)
def test_a_pair_of_hosts_migrates_over_what_both_allow(src, dst, expected) -> None:
    assert migration_transport(host("a", src), host("b", dst)) == expected


def test_the_completion_timeout_is_novas_seconds_per_gib_of_ram_at_least_2_plus_disk() -> None:
    tiny = InstanceInfo(uuid="u", name="n", host="a", flavor=Flavor(id="1", name="t", ram=512, disk=1, vcpus=1))
    assert completion_timeout(host("a"), tiny) == 800 * (2 + 1)
    big = InstanceInfo(uuid="u", name="n", host="a", flavor=Flavor(id="2", name="b", ram=8192, disk=20, vcpus=4, ephemeral=10, swap=1024))
    assert completion_timeout(HostConfig(name="a", address="x", live_migration_completion_timeout=10), big) == 10 * (8 + 20 + 10 + 1)


def test_the_inventory_accepts_only_the_three_transports_and_a_positive_timeout() -> None:
    def parse(defaults: str):
        return parse_inventory(textwrap.dedent(f"defaults:\n{defaults}hosts:\n  - {{name: a, address: 192.0.2.1}}\n"), "inv.yaml")

    assert parse("  live_migration_transport: tls\n").hosts[0].live_migration_transport == "tls"
    assert parse("  ssh_port: 22\n").hosts[0].live_migration_transport == "ssh"
    bad_values = ("live_migration_transport: rdma", "live_migration_completion_timeout: 0", "live_migration_completion_timeout: 2.0")
    for bad in bad_values:
        with pytest.raises(InventoryError) as raised:
            parse(f"  {bad}\n")
        assert raised.value.exit_code == 2 and "inv.yaml:2:" in str(raised.value)


class _Elsewhere:
    """A destination whose loopback port is `port` here: an echo server stands in for the target QEMU."""

    def __init__(self, port: int | None) -> None:
        self._port = port

    def connect_loopback(self, _port: int) -> socket.socket:
        if self._port is None:
            raise HostError("dst", "connection refused")
        return socket.create_connection(("127.0.0.1", self._port), timeout=5)


def _echo_server() -> tuple[int, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        while data := conn.recv(65536):
            conn.sendall(data)
        conn.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], thread


def test_the_relay_carries_both_ways_and_leaves_no_thread_or_listener_behind() -> None:
    echo_port, echo = _echo_server()
    src = LocalConnection(host("src"))
    relay = LoopbackRelay(src, _Elsewhere(echo_port))  # type: ignore[arg-type]
    port = relay.listen()
    payload = bytes(range(256)) * 4096  # 1 MiB, written before anything is read back
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        sender = threading.Thread(target=lambda: (client.sendall(payload), client.shutdown(socket.SHUT_WR)), daemon=True)
        sender.start()
        received = b""
        while data := client.recv(65536):
            received += data
    assert received == payload
    echo.join(10)
    relay.close(timeout=10)
    assert not [t for t in threading.enumerate() if t.name.startswith(("migration-relay", "local-forward"))]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)  # no longer listening


def test_a_destination_that_refuses_closes_the_source_connection() -> None:
    relay = LoopbackRelay(LocalConnection(host("src")), _Elsewhere(None))  # type: ignore[arg-type]
    port = relay.listen()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.settimeout(10)
            assert client.recv(10) == b""  # EOF, not a wait
    finally:
        relay.close(timeout=10)
