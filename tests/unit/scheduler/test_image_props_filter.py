"""ImagePropertiesFilter, with Nova's unit-test cases; versions as Nova's integers (6.0.0 = 6000000)."""

import pytest

from novactl.scheduler.filters.image_props_filter import ImagePropertiesFilter, version_satisfies, version_str

from .conftest import config, host, image, spec

V6 = 6000000


def passes(props, supported, version=V6):
    h = host(supported_instances=supported, hypervisor_version=version)
    return ImagePropertiesFilter(config()).host_passes(h, spec(image=image(**props)))


XEN_KVM_HVM = {"hw_architecture": "x86_64", "img_hv_type": "kvm", "hw_vm_mode": "hvm"}


def test_same_props_and_version():
    assert passes({**XEN_KVM_HVM, "img_hv_requested_version": ">=6.0,<6.2"}, [["x86_64", "kvm", "hvm"]])


def test_different_props():
    assert not passes({"hw_architecture": "armv7l", "img_hv_type": "qemu", "hw_vm_mode": "hvm"}, [["x86_64", "kvm", "hvm"]])


def test_different_hypervisor_version():
    assert not passes({**XEN_KVM_HVM, "img_hv_requested_version": ">=6.2"}, [["x86_64", "kvm", "hvm"]])


def test_partial_props():
    assert passes({"hw_architecture": "x86_64", "hw_vm_mode": "hvm"}, [["x86_64", "kvm", "hvm"]])
    assert not passes({"hw_architecture": "x86_64", "hw_vm_mode": "hvm"}, [["x86_64", "kvm", "xen"]])


def test_without_image_props():
    filt = ImagePropertiesFilter(config())
    assert not filt.applies(spec())
    assert filt.host_passes(host(), spec())
    assert passes({}, [["x86_64", "kvm", "hvm"]])


def test_without_host_props():
    assert not passes(XEN_KVM_HVM, [])


def test_without_hypervisor_version():
    assert passes({**XEN_KVM_HVM, "img_hv_requested_version": ">=6.0"}, [["x86_64", "kvm", "hvm"]], version=0)


def test_unsupported_hypervisor_version():
    assert not passes({**XEN_KVM_HVM, "img_hv_requested_version": ">=6.0"}, [["x86_64", "kvm", "hvm"]], version=5000)


@pytest.mark.parametrize(
    ("props", "supported"),
    [
        ({"hw_vm_mode": "pv"}, [["x86_64", "xen", "xen"]]),
        ({"hw_vm_mode": "hv"}, [["x86_64", "xen", "hvm"]]),
        ({"hw_architecture": "x86_32"}, [["i686", "kvm", "hvm"]]),
        ({"hw_architecture": "AMD64"}, [["x86_64", "kvm", "hvm"]]),
        ({"img_hv_type": "xapi"}, [["i686", "xen", "hvm"]]),
        ({"hw_vm_mode": "baremetal"}, [["i686", "baremetal", "hvm"]]),
    ],
)
def test_canonicalisation(props, supported):
    assert passes(props, supported)


def test_legacy_names_and_current_wins():
    assert passes({"architecture": "aarch64", "hypervisor_type": "qemu", "vm_mode": "hvm"}, [["aarch64", "qemu", "hvm"]])
    assert not passes({"img_hv_type": "kvm", "hypervisor_version_requires": ">=7.0"}, [["x86_64", "kvm", "hvm"]])
    assert passes({"architecture": "aarch64", "hw_architecture": "x86_64"}, [["x86_64", "kvm", "hvm"]])


def test_version_helpers():
    assert version_str(2011001) == "2.11.1"
    assert version_str(5000) == "5.0"
    assert version_satisfies(V6, "==6.0")
    assert version_satisfies(V6, ">=6.0, <6.2")
    assert not version_satisfies(V6, "<6.0")
    assert not version_satisfies(V6, "~6")


def test_reason():
    filt = ImagePropertiesFilter(config())
    h = host(supported_instances=[["x86_64", "kvm", "hvm"]], hypervisor_version=V6)
    assert filt.reason(h, spec(image=image(hw_architecture="aarch64"))) == (
        "image wants arch=aarch64 hypervisor_type=any vm_mode=any; host supports x86_64/kvm/hvm"
    )
    assert filt.reason(h, spec(image=image(img_hv_type="kvm", img_hv_requested_version=">=7"))) == (
        "hypervisor version 6.0.0 does not satisfy '>=7'"
    )


AARCH64_KVM_HVM = [["aarch64", "kvm", "hvm"]]


def test_uses_default_conf_value():
    # Nova's test_image_properties_filter_uses_default_conf_value: an image with no architecture
    # is checked as image_properties_default_architecture.
    filt = ImagePropertiesFilter(config(image_properties_default_architecture="x86_64"))
    aarch64 = host(supported_instances=AARCH64_KVM_HVM, hypervisor_version=V6)
    assert filt.applies(spec(image=image()))
    assert not filt.host_passes(aarch64, spec(image=image()))
    assert filt.passes_all([aarch64, host()], spec(image=image())) == [False, True]
    assert not filt.host_passes(aarch64, spec())  # no image at all: Nova checked the default too
    assert filt.reason(aarch64, spec(image=image())) == (
        "image wants arch=x86_64 hypervisor_type=any vm_mode=any; host supports aarch64/kvm/hvm"
    )


def test_image_architecture_beats_the_default():
    filt = ImagePropertiesFilter(config(image_properties_default_architecture="x86_64"))
    aarch64 = host(supported_instances=AARCH64_KVM_HVM, hypervisor_version=V6)
    assert filt.host_passes(aarch64, spec(image=image(hw_architecture="aarch64")))
    assert filt.host_passes(aarch64, spec(image=image(architecture="AArch64")))  # legacy name, canonicalised


def test_without_default_an_image_without_properties_fits_anywhere():
    filt = ImagePropertiesFilter(config())
    assert not filt.applies(spec(image=image()))
    assert filt.host_passes(host(supported_instances=AARCH64_KVM_HVM), spec(image=image()))


def test_default_architecture_in_the_inventory():
    from novactl.errors import InventoryError
    from novactl.inventory import parse_inventory

    text = "scheduler:\n  image_properties_default_architecture: {arch}\nhosts:\n  - name: h1\n    driver: fake\n"
    assert parse_inventory(text.format(arch="aarch64"), "inv.yaml").scheduler.image_properties_default_architecture == "aarch64"
    with pytest.raises(InventoryError, match=r"^inv.yaml:2:42: "):
        parse_inventory(text.format(arch="amd64"), "inv.yaml")  # Nova's choices: canonical names only
