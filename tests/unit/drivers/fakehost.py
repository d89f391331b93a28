"""A libvirt host for unit tests: this machine in a temp dir, behind libvirt's own test driver.

`ScriptedConnection` is a real `LocalConnection` (commands really run: qemu-img, mkdir, the poll
script, flock), with two differences:

- the host's file system is a temp dir: the host keeps the default paths (`/var/lib/novactl/...`)
  and every such path in a command, a file transfer or a lock is redirected under the host's root,
  so two hosts have the same paths, as real ones do, and never share a file;
- `ip` (bridges need root and would touch this machine's network) answers from a scripted set of
  bridges.

Every command and file operation is recorded (with the host's own paths), so tests can count round trips. libvirt is
`test://<node.xml>`: a private in-memory hypervisor, which defines, starts, stops and saves domains
without QEMU.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from pathlib import Path

import libvirt

from novactl.drivers.libvirt.driver import LibvirtDriver
from novactl.drivers.libvirt.host import Host
from novactl.errors import HostError
from novactl.models import Flavor, HostConfig, Image, Inventory, Network, SchedulerConfig
from novactl.remote import CommandFailed, Result
from novactl.remote.local import LocalConnection

NODE_XML = """<node>
  <cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>
  <memory>8388608</memory>
</node>
"""
TINY = Flavor(id="1", name="m1.tiny", ram=512, disk=1, vcpus=1)
SPECIAL = Flavor(id="42", name="m1.special", ram=1024, disk=2, vcpus=2, ephemeral=1, swap=64)
IMAGE_ID = "5e2c8b1a-2222-4b7e-8c1d-3f2e4a5b6c7d"
NETWORK = Network(name="private", bridge="br-test")
HOST_PREFIX = HostConfig.state_path  # every path a host has by default lies under it
_uris = itertools.count()


class ScriptedConnection(LocalConnection):
    """Commands run for real on this machine under `root`, `ip` excepted; every argv is recorded in `commands`."""

    def __init__(self, config: HostConfig, root: Path, bridges: set[str]):
        super().__init__(config)
        self.root = str(root)
        self.bridges = bridges  # shared by every connection to the same fake host
        self.bridge_ports: dict[str, list[str]] = {}
        self.commands: list[list[str]] = []
        self.closed = False

    def here(self, path: str) -> str:
        """Where a host path lives on this machine."""
        return self.root + path if path.startswith(HOST_PREFIX) else path

    def run(self, argv: list[str], *, check: bool = True, timeout: float = 300) -> Result:
        self.commands.append(list(argv))
        return self._run(argv, check=check, timeout=timeout)

    def _run(self, argv: list[str], *, check: bool, timeout: float) -> Result:
        if argv[0] == "ip":
            return self._ip(argv, check)
        if argv[:2] == ["ls", "-A"] and argv[2].startswith("/sys/class/net/"):
            bridge = argv[2].split("/")[4]
            return Result(self.host.name, tuple(argv), 0, "\n".join(self.bridge_ports.get(bridge, [])), "")
        try:
            done = super().run([arg.replace(HOST_PREFIX, self.root + HOST_PREFIX) for arg in argv], check=False, timeout=timeout)
        except OSError as exc:
            raise HostError(self.host.name, str(exc)) from None
        result = Result(self.host.name, tuple(argv), done.exit_status, *(t.replace(self.root, "") for t in (done.stdout, done.stderr)))
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    def read_file(self, path: str) -> bytes | None:
        self.commands.append(["read_file", path])
        return super().read_file(self.here(path))

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.commands.append(["write_file", path])  # one remote command over SSH
        super().write_file(self.here(path), data, mode)

    def write_files(self, files, mode: int = 0o644) -> None:
        self.commands.append(["write_files", *files])  # one remote command over SSH
        for path, data in files.items():
            super().write_file(self.here(path), data, mode)

    def lock(self, path: str, timeout: float = 60):
        self.commands.append(["lock", path])  # one round trip over SSH; the release is posted, not waited for
        return super().lock(self.here(path), timeout)

    def hold(self, path: str, timeout: float = 60) -> None:
        self.commands.append(["hold", path])  # one round trip over SSH
        super().hold(self.here(path), timeout)

    def holds(self, path: str) -> bool:
        return super().holds(self.here(path))

    def lose_holds(self) -> None:
        """What the end of an SSH connection's remote shell does to the locks it held: they are gone."""
        self._held.close()
        self._held_paths.clear()

    @contextmanager
    def lock_then_run(self, path: str, argv: list[str], timeout: float = 60):
        self.commands.append(["lock_then_run", path, *argv])  # one round trip over SSH
        with super().lock(self.here(path), timeout):
            yield self._run(argv, check=True, timeout=timeout)

    def put_file(self, local_path: str, remote_path: str, progress=None) -> None:
        super().put_file(local_path, self.here(remote_path), progress)

    def get_file(self, remote_path: str, local_path: str, progress=None) -> None:
        super().get_file(self.here(remote_path), local_path, progress)

    def _ip(self, argv: list[str], check: bool) -> Result:
        status, err = 0, ""
        match argv[1:]:
            case ["link", "set", "dev", name, "up"] | ["link", "set", "dev", name, "alias", "novactl", "up"]:
                if name not in self.bridges:
                    status, err = 1, f'Cannot find device "{name}"\n'
            case ["link", "add", "name", name, "type", "bridge"]:
                if name in self.bridges:
                    status, err = 2, "RTNETLINK answers: File exists\n"
                self.bridges.add(name)
            case ["link", "del", "dev", name]:
                self.bridges.discard(name)
            case ["link", "set", "dev", _port, "master", _bridge]:
                pass
            case _:
                raise AssertionError(f"unscripted ip command {argv}")
        result = Result(self.host.name, tuple(argv), status, "", err)
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    def close(self) -> None:
        super().close()
        self.closed = True


class FakeHost:
    """One host: its directories under `root`, its own test-driver hypervisor, its bridges."""

    def __init__(self, root: Path, name: str = "compute1", **config: object):
        root.mkdir(parents=True, exist_ok=True)
        node_xml = root / "node.xml"
        node_xml.write_text(NODE_XML)
        self.root = root
        self.libvirt_uri = f"test://{node_xml}"  # the config keeps qemu:///system, as a real host's would
        self.config = HostConfig(
            name=name,
            address=f"192.0.2.{next(_uris) % 250 + 1}",
            transport="local",
            bridge=NETWORK.bridge,
            **config,  # type: ignore[arg-type]
        )
        self.bridges: set[str] = set()
        self.connections: list[ScriptedConnection] = []
        self._libvirt: libvirt.virConnect | None = None

    def connect(self, config: HostConfig) -> ScriptedConnection:
        conn = ScriptedConnection(config, self.root, self.bridges)
        conn.open_libvirt = self.open_libvirt  # type: ignore[method-assign]
        self.connections.append(conn)
        return conn

    def open_libvirt(self) -> libvirt.virConnect:
        """The same hypervisor for every connection of this host (a test:// file URI is private per open)."""
        if self._libvirt is None:
            self._libvirt = libvirt.open(self.libvirt_uri)
        return self._libvirt

    def path(self, host_path: str) -> str:
        """Where a path of this host lives on this machine."""
        return str(self.root) + host_path

    @property
    def commands(self) -> list[list[str]]:
        return [argv for conn in self.connections for argv in conn.commands]

    def driver(self, inventory: Inventory) -> LibvirtDriver:
        return LibvirtDriver(self.config, inventory, Host(self.config, opener=self.connect))


def inventory(hosts: list[FakeHost], image_file: Path) -> Inventory:
    image = Image(id=IMAGE_ID, name="cirros", file=str(image_file), disk_format="qcow2")
    return Inventory(
        path="<unit test>",
        scheduler=SchedulerConfig(),
        hosts=[h.config for h in hosts],
        flavors=[TINY, SPECIAL],
        images=[image],
        networks=[NETWORK],
        server_groups=[],
    )
