"""Pure parts of getting into guests: the console's fingerprint block, the console relay."""

from __future__ import annotations

import base64
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.access import fingerprints
from novactl.access.fingerprints import BEGIN, END, Fingerprint

# The Linux test guest's block (tests/linux_guest/init.sh prints it as cloud-init does).
GUEST = f"""NOVACTL-LINUX-KEYS=1\r
{BEGIN}\r
256 SHA256:Z0vq0wQy2I1oW1H4v2ePZp3M0n6m0Xo8pS2oQhQ0aJc root@web-2 (ED25519)\r
{END}\r
-----BEGIN SSH HOST KEY KEYS-----\r
"""
# Ubuntu's cloud-init on EC2: each line behind a syslog prefix, three key types.
UBUNTU = f"""<14>Nov 26 01:02:03 ec2: {BEGIN}
<14>Nov 26 01:02:03 ec2: 1024 SHA256:{"A" * 43} root@ip-10-0-0-5 (DSA)
<14>Nov 26 01:02:03 ec2: 256 SHA256:{"B" * 42}c root@ip-10-0-0-5 (ECDSA)
<14>Nov 26 01:02:03 ec2: 3072 SHA256:{"C" * 42}+ root@ip-10-0-0-5 (RSA)
<14>Nov 26 01:02:03 ec2: {END}
"""

_b64 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=43, max_size=43)
_fingerprint = st.builds(Fingerprint, st.integers(10, 99999), _b64, st.sampled_from(["ED25519", "ECDSA", "RSA", "DSA", "ECDSA-SK"]))
_noise = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)


def block(found: list[Fingerprint], prefix: str = "", comment: str = "root@vm") -> str:
    lines = [f"{prefix}{BEGIN}", *(f"{prefix}{f.bits} SHA256:{f.sha256} {comment} ({f.key_type})" for f in found), f"{prefix}{END}"]
    return "\r\n".join(lines) + "\r\n"


def test_the_test_guests_block() -> None:
    assert fingerprints.parse(GUEST) == [Fingerprint(256, "Z0vq0wQy2I1oW1H4v2ePZp3M0n6m0Xo8pS2oQhQ0aJc", "ED25519")]


def test_cloud_init_lines_behind_a_syslog_prefix() -> None:
    assert [(f.bits, f.key_type) for f in fingerprints.parse(UBUNTU)] == [(1024, "DSA"), (256, "ECDSA"), (3072, "RSA")]


def test_no_complete_block_is_none_and_an_empty_block_is_empty() -> None:
    assert fingerprints.parse("booting...\n") is None
    assert fingerprints.parse(f"{BEGIN}\n256 SHA256:{'A' * 43} root@vm (ED25519)\n") is None  # cut off: no END yet
    assert fingerprints.parse(f"{END}\n{BEGIN}\n") is None
    assert fingerprints.parse(f"{BEGIN}\n2048 aa:bb:cc root@vm (RSA)\n{END}\n") == []  # MD5 only: nothing to pin


def test_the_last_block_wins_a_reboot_prints_new_keys() -> None:
    old, new = Fingerprint(256, "A" * 43, "ED25519"), Fingerprint(256, "B" * 43, "ED25519")
    assert fingerprints.parse(block([old]) + "rebooting\n" + block([new])) == [new]


def test_a_key_matches_its_own_fingerprint_only() -> None:
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))
    mine = Fingerprint(256, fingerprints.sha256(blob), "ED25519")
    other = Fingerprint(256, fingerprints.sha256(blob[:-1] + b"\x00"), "ED25519")
    assert fingerprints.matching([other, mine], blob) == mine
    assert fingerprints.matching([other], blob) is None
    assert len(mine.sha256) == 43 and "=" not in mine.sha256
    assert mine.sha256 == base64.b64encode(__import__("hashlib").sha256(blob).digest()).decode()[:43]


@settings(max_examples=200, deadline=None)
@given(
    found=st.lists(_fingerprint, max_size=5, unique=True),
    before=_noise,
    after=_noise,
    prefix=st.sampled_from(["", "ec2: ", "<14>Nov 26 ci: "]),
)
def test_any_block_in_any_console_parses_back(found, before, after, prefix) -> None:
    text = before.replace(BEGIN[:5], "") + "\n" + block(found, prefix) + after.replace(BEGIN[:5], "")
    assert fingerprints.parse(text) == found


@settings(max_examples=300, deadline=None)
@given(console=_noise, lines=st.lists(_noise, max_size=30))
def test_hostile_console_text_never_raises_and_stays_bounded(console, lines) -> None:
    text = console + f"\n{BEGIN}\n" + "\n".join(lines * 3) + f"\n{END}\n"
    parsed = fingerprints.parse(text)
    assert parsed is not None and len(parsed) <= fingerprints.MAX_KEYS
    for found in parsed:
        assert len(found.sha256) == 43 and found.bits >= 10


def test_a_flood_of_fingerprints_keeps_the_first_sixteen() -> None:
    many = [Fingerprint(256, f"{i:02d}" + "A" * 41, "ED25519") for i in range(40)]
    assert fingerprints.parse(block(many)) == many[: fingerprints.MAX_KEYS]


def test_console_relay_stops_at_ctrl_bracket_and_sends_what_came_before() -> None:
    from novactl.access.console import LEFT, relay
    from novactl.drivers.base import ConsoleEnded

    class Pipes:  # a console whose output is a pipe we fill: no libvirt involved
        def __init__(self) -> None:
            self.out_read, self.out_write = os.pipe()
            self.wakeup_read, self.wakeup_write = os.pipe()
            self.chunks: list[bytes | ConsoleEnded] = []
            self.sent = b""

        @property
        def wakeup(self) -> int:
            return self.wakeup_read

        def read(self):
            if not self.chunks:
                return None
            os.read(self.wakeup_read, 1)
            return self.chunks.pop(0)

        def write(self, data: bytes) -> None:
            self.sent += data

        def close(self) -> None:
            pass

    console = Pipes()
    console.chunks.append(b"login: ")
    os.write(console.wakeup_write, b"x")
    keys_read, keys_write = os.pipe()
    os.write(keys_write, b"root\r\x1dignored")
    assert relay(console, keys_read, console.out_write) is LEFT
    assert console.sent == b"root\r"
    assert os.read(console.out_read, 100) == b"login: "
    console.chunks.append(ConsoleEnded("gone", failed=True))
    os.write(console.wakeup_write, b"x")
    assert relay(console, keys_read, console.out_write) == ConsoleEnded("gone", failed=True)


def test_ssh_goes_to_the_first_network_with_a_learned_address() -> None:
    from novactl.access.addresses import choose
    from novactl.hoststate import InstanceInfo
    from novactl.models import Flavor

    instance = InstanceInfo(
        uuid="u",
        name="vm",
        host="h",
        flavor=Flavor("1", "t", 1, 1, 1),
        image_id="",
        networks={"a": ["fa:16:3e:00:00:01"], "b": ["fa:16:3e:00:00:02"]},
    )
    assert choose(instance, {}) is None
    assert choose(instance, {"b": ["10.0.0.2"]}) == ("b", "10.0.0.2")
    assert choose(instance, {"a": ["192.168.122.5", "192.168.122.6"], "b": ["10.0.0.2"]}) == ("a", "192.168.122.5")
    assert choose(instance, {"c": ["10.9.9.9"]}) is None  # not one of its networks
    instance.fixed_ips = {"b": "10.77.0.10"}
    assert choose(instance, {"b": ["10.0.0.2"]}) == ("b", "10.77.0.10")  # the fixed IP, not a learned one
    assert choose(instance, {"a": ["192.168.122.5"]}) == ("a", "192.168.122.5")  # networks in their order


def test_pins_are_remembered_privately_and_only_for_uuids(tmp_path) -> None:
    from novactl.access import pins

    uuid = "0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e"
    kept = [Fingerprint(256, "A" * 43, "ED25519"), Fingerprint(3072, "B" * 43, "RSA")]
    assert pins.remembered(uuid, tmp_path / "pins") == []
    pins.remember(uuid, kept, tmp_path / "pins")
    assert pins.remembered(uuid, tmp_path / "pins") == kept
    path = tmp_path / "pins" / uuid
    assert path.stat().st_mode & 0o777 == 0o600 and (tmp_path / "pins").stat().st_mode & 0o777 == 0o700
    path.chmod(0o644)  # readable (so writable?) by others: not trusted
    assert pins.remembered(uuid, tmp_path / "pins") == []
    pins.remember("../escape", kept, tmp_path / "pins")
    assert pins.remembered("../escape", tmp_path / "pins") == [] and not (tmp_path / "escape").exists()
