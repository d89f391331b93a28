"""Leaving the shared lab empty after a test: delete what it left, then check nothing remains."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli import novactl, novactl_json
from tests.lab import Lab


def delete_leftovers(inventory: Path) -> None:
    """Delete every instance still listed, whatever the test did."""
    leftover = novactl_json(inventory, "list")
    if leftover:
        novactl(inventory, "delete", *[row["ID"] for row in leftover])


def assert_clean(lab: Lab) -> None:
    """No domain, no instance directory, no claim, no held lock on any host, and every host's sshd
    answering (libvirtd answers `virsh list` here): the lab as the next test needs it. A host whose
    sshd a test left down gets it back, and that test fails."""
    for host in lab.hosts:
        if not lab.sshd_answers(host):
            lab.start_sshd(host)
            raise AssertionError(f"{host.name}: sshd did not answer after the test (started again)")
        assert lab.virsh(host, "list", "--all", "--name").strip() == "", host.name
        entries = lab.exec(host, ["ls", "-A", "/var/lib/novactl/instances"]).stdout.split()
        assert [e for e in entries if e != "_base"] == [], host.name
        assert lab.exec(host, ["sh", "-c", "ls -A /var/lib/novactl/claims 2>/dev/null"], check=False).stdout.strip() == ""
        locks = lab.exec(host, ["sh", "-c", "ls /var/lib/novactl/locks/*.lock 2>/dev/null"], check=False).stdout.split()
        for lock in locks:  # a lock file may stay; nobody may hold it
            assert lab.exec(host, ["flock", "-n", lock, "true"], check=False).returncode == 0, lock
