"""State libvirt cannot express, kept in novactl's metadata: the setMetadata form and ERROR faults."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from novactl import lifecycle
from novactl.drivers.base import ComputeDriver, HostReport
from novactl.drivers.libvirt import metadata
from novactl.errors import HostError
from novactl.hoststate import InstanceInfo
from novactl.instances import status
from novactl.models import Flavor

TINY = Flavor(id="1", name="m1.tiny", ram=512, disk=1, vcpus=1)


def instance(**fields) -> InstanceInfo:
    return InstanceInfo(uuid="0b1f8d6e-1111-4a6e-9d7e-2f1c3b4a5d6e", name="vm", host="h1", flavor=TINY, **fields)


def test_set_metadata_form_has_no_namespace_and_reads_back() -> None:
    resized = instance(vm_state="resized", metadata={"old_host": "h2", "old_flavor": "2", "old_vm_state": "active"})
    text = metadata.to_plain_xml(resized)
    assert "xmlns" not in text and ET.fromstring(text).tag == "instance"  # libvirt adds PREFIX/NAMESPACE itself
    back = metadata.from_xml(text, "h1", resized.uuid, "instance-0b1f8d6e")
    assert back.vm_state == "resized" and back.metadata == resized.metadata
    assert status(back) == "VERIFY_RESIZE"


class Recorder(ComputeDriver):
    """A driver that only records what would be saved on the host."""

    saved: list[InstanceInfo]

    def __init__(self, fail: bool = False):
        self.saved, self.fail = [], fail

    def poll(self) -> HostReport:
        raise NotImplementedError

    def set_service_status(self, disabled: bool, reason: str | None) -> None:
        raise NotImplementedError

    def save_server_group(self, record: dict) -> None:
        raise NotImplementedError

    def save_state(self, instance: InstanceInfo) -> None:
        if self.fail:
            raise HostError("h1", "libvirt: gone")
        self.saved.append(instance)


def test_a_failed_reboot_leaves_error_with_a_fault_that_reads_back() -> None:
    driver, vm = Recorder(), instance(task_state="rebooting_hard")
    lifecycle.set_error(driver, vm, "ERROR: h1: libvirt: cannot start")
    assert driver.saved == [vm] and vm.vm_state == "error" and vm.task_state is None
    assert vm.fault["code"] == 500 and vm.fault["message"].endswith("cannot start")
    back = metadata.from_xml(metadata.to_plain_xml(vm), "h1", vm.uuid, "instance-0b1f8d6e")
    assert status(back) == "ERROR" and back.fault["message"] == vm.fault["message"]
    lifecycle.set_error(Recorder(fail=True), instance(), "lost")  # recording is best effort: never raises
