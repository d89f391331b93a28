"""Sanity checks of the lab itself: real namespaces, sshd and libvirtd."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest
import yaml

from tests.lab import Lab, LabHost


@contextmanager
def ssh(lab: Lab, host: LabHost, known_hosts: Path | None = None) -> Iterator[paramiko.SSHClient]:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts or lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        host.address,
        username="root",
        key_filename=str(lab.ssh_key),
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
        banner_timeout=5,
        auth_timeout=5,
    )
    try:
        yield client
    finally:
        client.close()


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _stdin, stdout, _stderr = client.exec_command(command, timeout=30)
    out = stdout.read().decode()
    return stdout.channel.recv_exit_status(), out


def test_report_startup(lab: Lab) -> None:
    print()
    for h in lab.hosts:
        print(f"lab host {h.name} {h.address}: started in {h.startup_seconds:.2f}s")
    print(f"lab of {len(lab.hosts)} hosts started in {lab.startup_seconds:.2f}s, virt_type={lab.virt_type}")
    assert lab.virt_type in ("kvm", "qemu")
    assert [h.name for h in lab.hosts] == ["lab1", "lab2", "lab3"]


def test_ssh_with_strict_host_keys_reaches_each_host(lab: Lab) -> None:
    for h in lab.hosts:
        with ssh(lab, h) as c:
            assert run(c, "hostname") == (0, f"{h.name}\n")


def test_unknown_host_key_is_rejected(lab: Lab, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException), ssh(lab, lab.hosts[0], known_hosts=empty):
        pass


def test_var_lib_novactl_is_private_per_host(lab: Lab) -> None:
    lab1, lab2 = lab.hosts[:2]
    name = f"probe-{uuid.uuid4().hex}"
    with ssh(lab, lab1) as c:
        assert run(c, f"touch /var/lib/novactl/{name} && test -f /var/lib/novactl/{name}")[0] == 0
    try:
        with ssh(lab, lab2) as c:
            assert run(c, f"test -e /var/lib/novactl/{name}")[0] == 1
        assert not Path("/var/lib/novactl", name).exists()
        assert (lab1.root / "var-lib-novactl" / name).exists()
    finally:
        (lab1.root / "var-lib-novactl" / name).unlink(missing_ok=True)


def test_virsh_works_and_hosts_are_empty(lab: Lab) -> None:
    for h in lab.hosts:
        assert "CPU(s):" in lab.virsh(h, "nodeinfo")
        assert lab.virsh(h, "list", "--all", "--name").strip() == ""
    caps = lab.virsh(lab.hosts[0], "domcapabilities", "--virttype", lab.virt_type)
    assert f"<domain>{lab.virt_type}</domain>" in caps


def test_hosts_see_only_their_own_processes(lab: Lab) -> None:
    for h in lab.hosts:
        out = lab.exec(h, ["ps", "-e", "-o", "comm="]).stdout.split()
        assert out.count("libvirtd") == 1 and out.count("virtlogd") == 1


def test_network_commands_work_inside_a_host(lab: Lab) -> None:
    h = lab.hosts[0]
    lab.exec(h, ["ip", "link", "add", "nctltest0", "type", "bridge"])
    try:
        assert "nctltest0" in lab.exec(h, ["ip", "-br", "link"]).stdout
        lab.exec(h, ["bridge", "link", "show"])
        lab.exec(h, ["test", "-d", "/sys/class/net/nctltest0/bridge"])  # sysfs shows this netns
        assert not Path("/sys/class/net/nctltest0").exists()  # not in the root namespace
    finally:
        lab.exec(h, ["ip", "link", "del", "nctltest0"])


def test_hosts_reach_each_other(lab: Lab) -> None:
    lab1, lab2 = lab.hosts[:2]
    # By name, via the host's /etc/hosts; bash's /dev/tcp, since a host's /root (pyenv's python) is its own.
    done = lab.exec(lab1, ["timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{lab2.name}/22; head -c 4 <&3"])
    assert done.stdout == "SSH-"  # lab2's sshd answered with its identification string


def test_stopped_sshd_refuses_quickly_others_still_work(lab: Lab) -> None:
    down, *others = lab.hosts
    lab.stop_sshd(down)
    try:
        t = time.monotonic()
        with pytest.raises(OSError):
            socket.create_connection((down.address, 22), timeout=5).close()
        assert time.monotonic() - t < 1.0
        for h in others:
            with ssh(lab, h) as c:
                assert run(c, "hostname") == (0, f"{h.name}\n")
    finally:
        lab.start_sshd(down)
    with ssh(lab, down) as c:
        assert run(c, "hostname") == (0, f"{down.name}\n")


def test_tiny_domain_starts_and_destroys_quickly(lab: Lab) -> None:
    """No disk, 32 MiB: checks QEMU, /dev/kvm access and cgroups in a host."""
    h = lab.hosts[1]
    xml = f"""<domain type='{lab.virt_type}'>
  <name>nctl-lab-tiny</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><serial type='pty'/><console type='pty'/></devices>
</domain>"""
    lab.exec(h, ["virsh", "-c", "qemu:///system", "define", "/dev/stdin"], input=xml)
    try:
        lab.virsh(h, "start", "nctl-lab-tiny")
        assert "nctl-lab-tiny" in lab.virsh(h, "list", "--name")
        assert all("nctl-lab-tiny" not in lab.virsh(o, "list", "--all", "--name") for o in lab.hosts if o is not h)
        t = time.monotonic()
        lab.virsh(h, "destroy", "nctl-lab-tiny")
        destroy_seconds = time.monotonic() - t
        print(f"\ntiny domain destroy took {destroy_seconds:.2f}s")
        assert destroy_seconds < 1.5
    finally:
        lab.exec(h, ["virsh", "-c", "qemu:///system", "destroy", "nctl-lab-tiny"], check=False)
        lab.virsh(h, "undefine", "nctl-lab-tiny")


def test_inventory(lab: Lab, tmp_path: Path) -> None:
    path = lab.write_inventory(tmp_path / "inventory.yaml", images=[{"name": "cirros"}])
    inv = yaml.safe_load(path.read_text())
    assert inv == lab.inventory(images=[{"name": "cirros"}])
    assert inv["defaults"] == {
        "ssh_user": "root",
        "ssh_key": str(lab.ssh_key),
        "known_hosts": str(lab.known_hosts),
        "connect_timeout": 5,
    }
    assert [h["address"] for h in inv["hosts"]] == [h.address for h in lab.hosts]
    assert {h["zone"] for h in inv["hosts"]} == {"nova"}
    assert [f["name"] for f in inv["flavors"]] == ["m1.tiny", "m1.small"]
