"""What a host learns of a guest's addresses (libvirt's interfaceAddresses answer), read as hostile input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from novactl.drivers.libvirt.addresses import from_interfaces

MACS = {"fa:16:3e:00:00:01": "default", "fa:16:3e:00:00:02": "lan"}


def iface(mac: str, *addrs: str, kind: int = 0) -> dict:
    return {"hwaddr": mac, "addrs": [{"type": kind, "addr": a, "prefix": 24} for a in addrs]}


def test_leases_of_this_instances_macs_by_network() -> None:
    answer = {"vnet0": iface("FA:16:3E:00:00:01", "192.168.122.57"), "vnet1": iface("fa:16:3e:00:00:02", "10.0.0.9", "10.0.0.9")}
    assert from_interfaces(answer, MACS) == {"default": ["192.168.122.57"], "lan": ["10.0.0.9"]}


def test_other_macs_ipv6_and_non_unicast_addresses_are_not_believed() -> None:
    answer = {
        "vnet0": iface("fa:16:3e:99:99:99", "192.168.122.8"),  # another guest's lease
        "vnet1": iface("fa:16:3e:00:00:01", "fe80::1", "0.0.0.0", "224.0.0.1", "127.0.0.1", "255.255.255.255", "240.0.0.1", kind=1),
        "vnet2": iface("fa:16:3e:00:00:02", "10.0.0.300", "10.0.0.1; rm -rf /", "x" * 100),
    }
    assert from_interfaces(answer, MACS) == {}


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: st.lists(kids) | st.dictionaries(st.text(max_size=8), kids),
        max_leaves=30,
    )
)
def test_any_shape_of_answer_never_raises(answer) -> None:
    found = from_interfaces(answer, MACS)
    assert set(found) <= {"default", "lan"}
