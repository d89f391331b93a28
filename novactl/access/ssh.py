"""`novactl ssh`: a shell or a command on a guest, its host key pinned to what the guest printed on
its serial console, never trusted on first use.

Route: the guest's fixed or learned address (addresses.py), reached from its host (the driver's
`connect_guest`: a direct-tcpip channel through novactl's own strictly-checked SSH connection to the
host, as `ssh -J` would, or a plain socket for this machine). The guest's key must match a
fingerprint of the last `BEGIN SSH HOST KEY FINGERPRINTS` block on its console (fingerprints.py),
else the connection is refused before any credential is offered. The key offered is the keypair's
private key when novactl generated it, else the user's agent and ~/.ssh keys, as ssh would.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from dataclasses import dataclass

from novactl.access import addresses, fingerprints, pins
from novactl.access.console import raw_terminal, write_all
from novactl.drivers.base import ComputeDriver
from novactl.errors import HostError, UsageError
from novactl.hoststate import InstanceInfo
from novactl.lifecycle import check_state, find
from novactl.models import Inventory
from novactl.poller import poll
from novactl.remote.lost import LOST
from novactl.remote.ssh import HostKeyRefused, exception_text, paramiko

SSH_PORT = 22
NO_EXIT_STATUS = 255  # the remote end closed without one (killed by a signal): ssh's own code


@dataclass(frozen=True)
class Target:
    """Where `novactl ssh` goes and as whom."""

    instance: InstanceInfo
    network: str
    address: str
    login: str
    private_key: str | None  # the keypair's generated private key file, when there is one


def run(
    inventory: Inventory,
    name: str,
    login: str | None,
    command: list[str],
    fds: tuple[int, int, int],
) -> int:
    """Connect and run `command` (a login shell when empty); returns the remote exit status."""
    with poll(inventory) as cluster:
        instance = find(cluster, name)
        check_state("ssh to", instance, {"active"})
        driver = cluster.drivers[instance.host]
        target = resolve(inventory, instance, addresses.learn(cluster, [instance]).get(instance.uuid, {}), login)
        pinned = console_fingerprints(driver, instance)
        timeout = inventory.host(instance.host).connect_timeout
        client = connect(driver, target, pinned, timeout)
        try:
            return session(client, command, fds, timeout)
        except (paramiko.SSHException, EOFError) as exc:  # the guest or its host dropped the connection
            lost = f"SSH to {target.address} ({instance.name}): the session was lost: {exception_text(exc)}"
            raise HostError(instance.host, lost) from None
        finally:
            client.close()


def resolve(inventory: Inventory, instance: InstanceInfo, learned: dict[str, list[str]], login: str | None) -> Target:
    chosen = addresses.choose(instance, learned)
    if chosen is None:
        raise HostError(
            instance.host,
            f"no address known for {instance.name} yet: it has no fixed IP and {instance.host} has learned none "
            "(no DHCP lease, nothing in its ARP table); see `novactl console-log` for the guest's network",
        )
    image = next((i for i in inventory.images if i.id == instance.image_id), None)
    user = login or (image.properties.get("default_user") if image else None) or "root"
    if not isinstance(user, str) or not addresses.SAFE_LOGIN.fullmatch(user):
        raise UsageError(f"login {user!r} is not a user name")
    keypair = next((k for k in inventory.keypairs if k.name == instance.key_name), None)
    return Target(instance, chosen[0], chosen[1], user, keypair.private_key if keypair else None)


def console_fingerprints(driver: ComputeDriver, instance: InstanceInfo) -> list[fingerprints.Fingerprint]:
    """The last block on the console (remembered for later), else the one remembered from an earlier boot."""
    found = fingerprints.parse(driver.console_log(instance, None))
    if found:
        pins.remember(instance.uuid, found)
        return found
    kept = pins.remembered(instance.uuid)
    if kept:
        return kept
    what = "no SSH host key fingerprints" if found is None else "no SHA256 host key fingerprint"
    raise HostError(
        instance.host,
        f"{what} on {instance.name}'s console (cloud-init prints them once sshd has its keys, on the instance's first boot): "
        "novactl pins the guest's host key to them and will not trust a key on first use; retry, or see `novactl console-log`",
    )


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Accept the guest's key only if the guest printed its fingerprint on the console."""

    def __init__(self, pinned: list[fingerprints.Fingerprint], where: str):
        self._pins = pinned
        self._where = where

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if fingerprints.matching(self._pins, key.asbytes()) is None:
            printed = ", ".join(str(p) for p in self._pins)
            raise HostKeyRefused(
                f"REFUSED: the host key at {self._where} is SHA256:{fingerprints.sha256(key.asbytes())} ({key.get_name()}), "
                f"which the guest did not print on its console ({printed}): something else may be answering at that address"
            )


def connect(driver: ComputeDriver, target: Target, pinned: list[fingerprints.Fingerprint], timeout: float) -> paramiko.SSHClient:
    where = f"{target.address}:{SSH_PORT} ({target.instance.name} on {target.network})"
    stream = driver.connect_guest(target.address, SSH_PORT, timeout)
    pkey = _private_key(target.private_key) if target.private_key else None
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(_PinnedHostKey(pinned, where))  # no key is loaded: every key meets the policy
    try:
        client.connect(
            target.address,
            port=SSH_PORT,
            username=target.login,
            pkey=pkey,
            look_for_keys=pkey is None,
            allow_agent=pkey is None,
            sock=stream,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
        )
    except HostKeyRefused as exc:
        client.close()
        raise HostError(target.instance.host, str(exc)) from None
    except paramiko.AuthenticationException:
        client.close()
        key = target.private_key or "your agent's and ~/.ssh's keys"
        raise HostError(target.instance.host, f"{target.login}@{where} refused {key} (wrong --login, or the guest lacks the key)") from None
    except LOST as exc:
        client.close()
        raise HostError(target.instance.host, f"SSH to {where}: {exc or 'connection closed'}") from None
    client.get_transport().set_keepalive(15)
    return client


def _private_key(path: str) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise UsageError(f"cannot read the keypair's private key {path}: {getattr(exc, 'strerror', None) or exc}") from None


def session(client: paramiko.SSHClient, command: list[str], fds: tuple[int, int, int], timeout: float) -> int:
    """Run `command` as ssh does (its words joined by spaces for the remote shell), or a login shell on a pty."""
    stdin_fd, stdout_fd, _ = fds
    channel = client.get_transport().open_session(timeout=timeout)
    interactive = not command
    if interactive:
        columns, lines = _terminal_size(stdout_fd)
        channel.get_pty(term=os.environ.get("TERM", "vt100"), width=columns, height=lines)
        channel.invoke_shell()
    else:
        channel.exec_command(" ".join(command))
    with raw_terminal(stdin_fd) if interactive else contextlib.nullcontext(), _resizing(channel, stdout_fd, interactive):
        relay(channel, fds)
    channel.status_event.wait(timeout)  # exit-status may follow the end of output; a close also sets it
    status = channel.exit_status if channel.exit_status_ready() else -1
    channel.close()
    return status if status >= 0 else NO_EXIT_STATUS


def relay(channel: paramiko.Channel, fds: tuple[int, int, int]) -> None:
    """stdin to the channel, its output and errors to stdout and stderr, until the remote side closes."""
    stdin_fd, stdout_fd, stderr_fd = fds
    reading_input = True
    while True:
        watched = [channel, stdin_fd] if reading_input else [channel]
        ready, _, _ = select.select(watched, [], [], 1.0)
        while channel.recv_stderr_ready():
            write_all(stderr_fd, channel.recv_stderr(65536))
        if channel.recv_ready():
            data = channel.recv(65536)
            write_all(stdout_fd, data)
        elif channel.eof_received or channel.closed:  # its output is all here: the remote side is done
            while channel.recv_stderr_ready():  # errors sent just before the end
                write_all(stderr_fd, channel.recv_stderr(65536))
            return
        if reading_input and stdin_fd in ready:
            data = os.read(stdin_fd, 65536)
            if data:
                channel.sendall(data)
            else:
                reading_input = False
                channel.shutdown_write()


@contextlib.contextmanager
def _resizing(channel: paramiko.Channel, fd: int, interactive: bool):
    """Pass the terminal's new size on while an interactive session runs (SIGWINCH)."""
    if not interactive or threading.current_thread() is not threading.main_thread():
        yield
        return

    def resized(_signum: int, _frame: object) -> None:
        with contextlib.suppress(paramiko.SSHException, OSError):
            channel.resize_pty(*_terminal_size(fd))

    previous = signal.signal(signal.SIGWINCH, resized)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
        return size.columns, size.lines
    except OSError:
        return 80, 24
