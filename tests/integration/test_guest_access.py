"""Issue 9, getting in: `novactl console` and `novactl ssh` into the real Linux test guest on the lab.

One guest (TCG, see test_linux_guest.py) is booted per module with a generated keypair and user data
that runs a shell on the serial port, so the console can be driven both ways. It sits on a
libvirt-managed NAT network (`libvirt_network: default`, the zero-config default's network) inside its
lab host, reachable only from there: `novactl ssh` jumps through the host, to the address the host's
dnsmasq leased to the guest's udhcpc.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from novactl.access.fingerprints import BEGIN, END
from tests.integration.cli import ENV, NOVACTL, novactl, novactl_json
from tests.integration.leftovers import assert_clean
from tests.integration.test_boot import wait_for_marker
from tests.integration.test_linux_guest import BOOT_TIMEOUT, READY
from tests.lab import Lab

# The serial port gets a shell once the guest is up (init.sh runs user data before READY).
USER_DATA = "#!/bin/sh\nsetsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1' &\n"
WAIT = 60  # seconds any one interaction may take under TCG on a loaded machine


@pytest.fixture(scope="module")
def guest(lab: Lab, linux_image: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from novactl.keypairs import generate

    work = tmp_path_factory.mktemp("access")
    private, public = generate()
    key = work / "ops"
    key.write_bytes(private)
    key.chmod(0o600)
    (work / "user-data").write_text(USER_DATA)
    defaults = {**lab.inventory()["defaults"], "virt_type": "qemu"}
    keypairs = [{"name": "ops", "public_key": public, "private_key": str(key)}]
    networks = [{"name": "nat", "libvirt_network": "default"}]
    inventory = lab.write_inventory(work / "inventory.yaml", defaults=defaults, images=[linux_image], keypairs=keypairs, networks=networks)
    args = ["--flavor", "m1.tiny", "--image", "linux", "--key-name", "ops", "--user-data", str(work / "user-data")]
    shown = novactl_json(inventory, "boot", "access1", *args)
    try:
        wait_for_marker(lab, shown["OS-EXT-SRV-ATTR:host"], shown["id"], READY, timeout=BOOT_TIMEOUT)
        yield {"inventory": inventory, "shown": shown, "work": work, "lab": lab}
    finally:
        novactl(inventory, "delete", shown["id"])
        assert_clean(lab)


class Terminal:
    """novactl run on a pty, as a user's terminal would run it; every read has a deadline."""

    def __init__(self, inventory: Path, *args: str) -> None:
        self.master, self.slave = pty.openpty()
        argv = [*NOVACTL, "-i", str(inventory), *args]
        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave, stderr=subprocess.PIPE, env=ENV)
        self.seen = b""

    def expect(self, text: bytes, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on the terminal within {timeout} s: {self.seen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # EIO: nothing holds the pty's other end any more
                    break
        assert text in self.seen, self.seen[-2000:]

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def finish(self, timeout: float = WAIT) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        finally:
            self.proc.kill()
        stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
        return code, stderr

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def test_console_attaches_both_ways_and_ctrl_bracket_leaves(guest: dict) -> None:
    term = Terminal(guest["inventory"], "console", "access1")
    try:
        cooked = termios.tcgetattr(term.slave)
        term.send(b"\r")
        term.expect(b"# ")  # the serial shell's prompt: the console reached the guest and came back
        term.send(b"echo console-$((6*7))\r")
        term.expect(b"console-42")
        term.send(b"\x1d")
        code, stderr = term.finish()
        assert code == 0, stderr
        assert "Escape character is ^]" in stderr and "left the console (Ctrl-])" in stderr
        assert termios.tcgetattr(term.slave) == cooked  # the terminal is as it was before raw mode
    finally:
        term.close()
    # console-log still has the guest's output: libvirt logs the pty to console.log
    log = novactl(guest["inventory"], "console-log", "access1")
    assert log.returncode == 0 and "console-42" in log.stdout and READY in log.stdout


def test_console_of_a_second_session_is_refused_unless_forced(guest: dict) -> None:
    first = Terminal(guest["inventory"], "console", "access1")
    try:
        first.send(b"\r")
        first.expect(b"# ")
        second = novactl(guest["inventory"], "console", "access1", timeout=WAIT)
        assert second.returncode == 1 and "--force" in second.stderr, second.stderr
        taken = Terminal(guest["inventory"], "console", "access1", "--force")
        try:
            first_code, _ = first.finish()  # taken over: its stream ends, it exits by itself
            taken.send(b"\x1d")
            assert taken.finish()[0] == 0
        finally:
            taken.close()
        assert first_code in (0, 1)
    finally:
        first.close()


def test_ssh_runs_a_command_on_the_guest_through_its_host_and_returns_its_status(guest: dict) -> None:
    lab, shown = guest["lab"], guest["shown"]
    # udhcpc has a lease
    console = wait_for_marker(lab, shown["OS-EXT-SRV-ATTR:host"], shown["id"], "NOVACTL-LINUX-DHCP=", timeout=BOOT_TIMEOUT)
    leased = console.split("NOVACTL-LINUX-DHCP=", 1)[1].split()[0].split(",")[1]
    done = novactl(guest["inventory"], "ssh", "access1", "--", "hostname", timeout=WAIT)
    assert done.returncode == 0 and done.stdout == "access1\n", done.stderr
    assert novactl(guest["inventory"], "ssh", "access1", "--", "exit 7", timeout=WAIT).returncode == 7
    both = novactl(guest["inventory"], "ssh", "access1", "--", "echo out; echo err >&2; cat", timeout=WAIT)
    assert (both.returncode, both.stdout, both.stderr) == (0, "out\n", "err\n")
    shown_now = novactl_json(guest["inventory"], "show", "access1")
    assert shown_now["networks"] == {"nat": [leased]}  # learned from the host's DHCP leases, as Nova prints addresses


def test_ssh_refuses_a_host_key_the_guest_did_not_print_on_its_console(guest: dict) -> None:
    lab, shown = guest["lab"], guest["shown"]
    host, log = shown["OS-EXT-SRV-ATTR:host"], f"/var/lib/novactl/instances/{shown['id']}/console.log"
    size = lab.exec(host, ["stat", "-c", "%s", log]).stdout.strip()
    forged = f"{BEGIN}\n256 SHA256:{'A' * 43} root@access1 (ED25519)\n{END}\n"
    lab.exec(host, ["sh", "-c", 'printf %s "$1" >> "$2"', "sh", forged, log])
    try:
        done = novactl(guest["inventory"], "ssh", "access1", "--", "touch /tmp/should-not-run", timeout=WAIT)
        assert done.returncode == 1, done.stderr
        assert "REFUSED" in done.stderr and "SHA256:" + "A" * 43 in done.stderr and "did not print" in done.stderr
    finally:
        lab.exec(host, ["truncate", "-s", size, log])
    check = novactl(guest["inventory"], "ssh", "access1", "--", "test ! -e /tmp/should-not-run", timeout=WAIT)
    assert check.returncode == 0, check.stderr  # the refused session ran nothing; the real key is accepted again


def test_ssh_interactive_shell_on_a_pty(guest: dict) -> None:
    term = Terminal(guest["inventory"], "ssh", "access1")
    try:
        term.send(b"echo shell-$((6*7)); exit 3\r")
        term.expect(b"shell-42")
        code, stderr = term.finish()
        assert code == 3, stderr
    finally:
        term.close()
