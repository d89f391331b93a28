"""doctor's verdicts from what a host answers: a scripted Connection (argv -> output) stands in for the host,
so each rule and each refusal of a strange answer is shown without a lab. The lab tests
(tests/integration/test_day2.py) run the same checks against real sshd, libvirtd and bridges."""

from __future__ import annotations

import time

import pytest

from novactl import doctor
from novactl.errors import HostError
from novactl.inventory import load_inventory
from novactl.models import HostConfig, Network
from novactl.remote import Result

HEALTHY = {
    ("grep", "-m1", "^flags", "/proc/cpuinfo"): "flags\t: fpu vmx sse2\n",
    ("stat", "-L", "-c", "%F %u %g %a", "/dev/kvm"): "character special file 0 107 660\n",
    ("id", "-u", "libvirt-qemu"): "64055\n",
    ("id", "-G", "libvirt-qemu"): "107 64055\n",
    ("sh", "-c", "command -v virt-ssh-helper"): "/usr/bin/virt-ssh-helper\n",
    ("qemu-img", "--version"): "qemu-img version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)\n",
    ("ip", "-j", "-d", "link", "show", "dev", "br0"): '[{"ifname": "br0", "flags": ["UP"], "linkinfo": {"info_kind": "bridge"}}]',
    ("ip", "-j", "link", "show", "dev", "eth1"): '[{"ifname": "eth1", "master": "br0"}]',
    ("test", "-d", "/srv/i"): "",
    ("test", "-d", "/srv/s"): "",
    ("test", "-d", "/srv/i/_base"): "",
    ("mktemp", "-p", "/srv/i", ".novactl-doctor.XXXXXX"): "/srv/i/.novactl-doctor.abc\n",
    ("mktemp", "-p", "/srv/s", ".novactl-doctor.XXXXXX"): "/srv/s/.novactl-doctor.abc\n",
    (
        "df",
        "-P",
        "-k",
        "/srv/i",
    ): "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 104857600 10485760 94371840 10% /srv\n",
    (
        "df",
        "-P",
        "-k",
        "/srv/i/_base",
    ): "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 104857600 10485760 94371840 10% /srv\n",
}


class ScriptedHost:
    """A Connection whose commands answer from a table; what is not in it fails as `command not found`."""

    def __init__(self, host: HostConfig, answers: dict, clock_offset: float = 0.0, files: dict | None = None):
        self.host, self.answers, self.clock_offset = host, answers, clock_offset
        self.files = files or {}
        self.ran: list[tuple[str, ...]] = []

    def run(self, argv, *, check=True, timeout=300):
        self.ran.append(tuple(argv))
        if tuple(argv) == ("date", "+%s.%N"):
            return Result(self.host.name, tuple(argv), 0, f"{time.time() + self.clock_offset:.9f}\n", "")
        if tuple(argv[:2]) == ("rm", "-f"):
            return Result(self.host.name, tuple(argv), 0, "", "")
        answer = self.answers.get(tuple(argv))
        if answer is None:
            return Result(self.host.name, tuple(argv), 1, "", f"{argv[0]}: failed")
        return Result(self.host.name, tuple(argv), 0, answer, "")

    def read_file(self, path):
        return self.files.get(path)

    def open_libvirt(self):
        raise HostError(self.host.name, "libvirt over SSH: Failed to connect socket")

    def close(self):
        pass


def _host(**overrides) -> HostConfig:
    return HostConfig(name="kvm1", address="192.0.2.11", instances_path="/srv/i", state_path="/srv/s", **overrides)


def _findings(monkeypatch, write_inventory, answers, host=None, **scripted) -> dict[str, doctor.Finding]:
    inventory = load_inventory(
        str(write_inventory("hosts: [{name: kvm1, address: 192.0.2.11}]\nnetworks: [{name: lan, bridge: br0, physical_interface: eth1}]\n"))
    )
    host = host or _host()
    monkeypatch.setattr(doctor, "connect", lambda h: ScriptedHost(h, answers, **scripted))
    return {f.check: f for f in doctor.diagnose(inventory, [host], deadline=10)}


def test_a_healthy_host(monkeypatch, write_inventory):
    found = _findings(monkeypatch, write_inventory, HEALTHY)
    statuses = {check: f.status for check, f in found.items()}
    assert statuses == {
        "ssh": "ok",
        "kvm": "ok",
        "virt-ssh-helper": "ok",
        "libvirtd": "fail",  # the scripted host has no libvirt
        "qemu-img": "ok",
        "bridge br0": "ok",
        "instances_path": "ok",
        "state_path": "ok",
        "_base": "ok",
        "clock": "ok",
        "cpu_mode": "ok",
    }
    assert found["kvm"].detail == "/dev/kvm usable by libvirt-qemu; CPU vmx"
    assert found["qemu-img"].detail == "qemu-img 8.2.2"
    assert found["bridge br0"].detail == "bridge br0 (network lan) present; port eth1"
    assert found["instances_path"].detail == "/srv/i writable; 90.0 GiB free of 100.0 GiB on /srv"
    assert "start libvirtd" in found["libvirtd"].detail


@pytest.mark.parametrize(
    ("uri", "status", "words"),
    [("qemu:///system", "warn", "AllowStreamLocalForwarding no"), ("qemu:///session", "fail", "tunnels libvirt through it")],
)
def test_virt_ssh_helper_missing(monkeypatch, write_inventory, uri, status, words):
    """A system URI's daemon socket is reached by sshd itself: the helper is only its fallback."""
    answers = {k: v for k, v in HEALTHY.items() if k != ("sh", "-c", "command -v virt-ssh-helper")}
    found = _findings(monkeypatch, write_inventory, answers, host=_host(libvirt_uri=uri))["virt-ssh-helper"]
    assert found.status == status and words in found.detail


def test_kvm_not_writable_by_the_qemu_user(monkeypatch, write_inventory):
    answers = {**HEALTHY, ("stat", "-L", "-c", "%F %u %g %a", "/dev/kvm"): "character special file 0 0 600\n"}
    kvm = _findings(monkeypatch, write_inventory, answers)["kvm"]
    assert kvm.status == "fail" and "not read-writable by libvirt-qemu" in kvm.detail and "chmod 660 /dev/kvm" in kvm.detail


def test_qemu_user_from_qemu_conf(monkeypatch, write_inventory):
    answers = {**HEALTHY, ("id", "-u", "nova"): "1000\n", ("id", "-G", "nova"): "1000\n"}
    kvm = _findings(monkeypatch, write_inventory, answers, files={"/etc/libvirt/qemu.conf": b'# user = "x"\nuser = "nova"\n'})["kvm"]
    assert kvm.status == "fail" and "by nova" in kvm.detail


def test_no_kvm_is_a_warning_for_kvm_and_fine_for_qemu(monkeypatch, write_inventory):
    answers = {k: v for k, v in HEALTHY.items() if k[0] != "stat"}
    assert _findings(monkeypatch, write_inventory, answers)["kvm"].status == "warn"
    assert _findings(monkeypatch, write_inventory, answers, host=_host(virt_type="qemu"))["kvm"].status == "ok"


@pytest.mark.parametrize(
    ("bridge_answer", "uplink_answer", "status", "words"),
    [
        (None, None, "fail", "bridge br0 (network lan) is missing: create it with port eth1"),
        ('[{"ifname": "br0", "flags": ["UP"], "linkinfo": {"info_kind": "vlan"}}]', None, "fail", "is a vlan interface, not a bridge"),
        ('[{"ifname": "br0", "flags": [], "linkinfo": {"info_kind": "bridge"}}]', '[{"ifname": "eth1", "master": "br0"}]', "warn", "down"),
        ('[{"ifname": "br0", "flags": ["UP"], "linkinfo": {"info_kind": "bridge"}}]', "[{}]", "fail", "eth1 is not a port of br0"),
        ('[{"ifname": "br0", "flags": ["UP"], "linkinfo": {"info_kind": "bridge"}}]', None, "fail", "eth1 of br0 does not exist"),
        ("not json", None, "fail", "unreadable answer from ip -j link show dev br0"),
        ('{"ifname": "br0"}', None, "fail", "unexpected answer from ip -j link show dev br0"),
    ],
)
def test_bridge_rules(monkeypatch, write_inventory, bridge_answer, uplink_answer, status, words):
    answers = {**HEALTHY}
    for key, value in (
        (("ip", "-j", "-d", "link", "show", "dev", "br0"), bridge_answer),
        (("ip", "-j", "link", "show", "dev", "eth1"), uplink_answer),
    ):
        answers.pop(key)
        if value is not None:
            answers[key] = value
    bridge = _findings(monkeypatch, write_inventory, answers)["bridge br0"]
    assert bridge.status == status and words in bridge.detail


def test_a_bridge_without_uplink_missing_is_a_warning():
    checks = doctor._Checks.__new__(doctor._Checks)
    checks.host = _host()
    checks.conn = ScriptedHost(checks.host, {})
    status, detail = checks.bridge(Network(name="private", bridge="br-x"))
    assert status == "warn" and "the first boot creates it" in detail


@pytest.mark.parametrize(
    ("df", "status", "words"),
    [
        (
            "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 104857600 104000000 857600 99% /srv\n",
            "fail",
            "boots will fail",
        ),
        (
            "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 104857600 99614720 5242880 95% /srv\n",
            "warn",
            "under 10% free",
        ),
        ("garbage", "fail", "unreadable answer from df -P -k /srv/i"),
    ],
)
def test_free_space(monkeypatch, write_inventory, df, status, words):
    found = _findings(monkeypatch, write_inventory, {**HEALTHY, ("df", "-P", "-k", "/srv/i"): df})["instances_path"]
    assert found.status == status and words in found.detail


def test_unwritable_path(monkeypatch, write_inventory):
    answers = {k: v for k, v in HEALTHY.items() if k != ("mktemp", "-p", "/srv/s", ".novactl-doctor.XXXXXX")}
    found = _findings(monkeypatch, write_inventory, answers)["state_path"]
    assert found.status == "fail" and "/srv/s is not writable (mktemp: failed)" in found.detail


@pytest.mark.parametrize(("offset", "status"), [(0.0, "ok"), (10.0, "warn"), (-300.0, "fail")])
def test_clock_skew(monkeypatch, write_inventory, offset, status):
    clock = _findings(monkeypatch, write_inventory, HEALTHY, clock_offset=offset)["clock"]
    assert clock.status == status
    assert clock.detail.endswith("s)") if status == "ok" else "run chrony" in clock.detail


def test_cpu_mode_under_nested_virtualisation_warns(monkeypatch, write_inventory):
    answers = {**HEALTHY, ("grep", "-m1", "^flags", "/proc/cpuinfo"): "flags\t: fpu hypervisor sse2\n"}
    found = _findings(monkeypatch, write_inventory, answers, host=_host(cpu_mode="host-model"))["cpu_mode"]
    assert found.status == "warn" and "MSR 0x10a" in found.detail


def test_an_unreachable_host_is_one_row(monkeypatch, write_inventory):
    inventory = load_inventory(str(write_inventory("hosts: [{name: kvm1, address: 192.0.2.11}]\n")))

    def refuse(host):
        raise HostError(host.name, "192.0.2.11:22: [Errno 111] Connection refused")

    monkeypatch.setattr(doctor, "connect", refuse)
    (row,) = doctor.diagnose(inventory, inventory.hosts)
    assert (row.check, row.status) == ("ssh", "fail")
    assert row.detail == "192.0.2.11:22: [Errno 111] Connection refused; start sshd on the host and make 192.0.2.11:22 reachable from here"


def test_a_hanging_host_is_cut_at_the_deadline(monkeypatch, write_inventory):
    inventory = load_inventory(str(write_inventory("hosts: [{name: kvm1, address: 192.0.2.11}]\n")))
    hang = ScriptedHost(_host(), HEALTHY)
    hang.run = lambda argv, **kw: time.sleep(30)  # never answers within the deadline
    monkeypatch.setattr(doctor, "connect", lambda host: hang)
    rows = doctor.diagnose(inventory, inventory.hosts, deadline=0.5)
    assert [(r.check, r.status) for r in rows] == [("ssh", "ok"), ("kvm", "fail")]
    assert rows[-1].detail == "no answer within 0.5 s: the host hangs in this check"


def test_cli_fake_hosts_and_unknown_host(fake_cluster, run_main):
    result = run_main("-i", str(fake_cluster), "doctor", "compute1", "-f", "value")
    assert result.exit_code == 0
    assert result.stdout == "compute1 driver ok fake host: its facts come from the inventory, there is nothing to check\n"
    unknown = run_main("-i", str(fake_cluster), "doctor", "nosuch")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("ERROR: unknown host 'nosuch'")
