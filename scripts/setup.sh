#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs to run novactl and its tests, idempotent:
# apt packages, the Python package with its test extras, and (no systemd here) virtlogd + libvirtd.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients libvirt-dev pkg-config
              openssh-server openssh-client iproute2 bridge-utils util-linux procps
              dnsmasq-base iptables  # libvirt NAT networks' DHCP and NAT (the default inventory's network)
              cloud-init libarchive-tools  # the config drive tests: cloud-init reads what bsdtar extracts
              mtools syslinux syslinux-common)  # the Linux test guest's FAT boot image (tests/linux_guest)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test]'

# libvirt's qemu user must be able to open /dev/kvm (udev does this on a normal machine).
if [ -c /dev/kvm ]; then
  chgrp kvm /dev/kvm 2>/dev/null && chmod 660 /dev/kvm 2>/dev/null || true
else
  echo "setup: no /dev/kvm: guests will run under TCG (type='qemu'), much slower" >&2
fi

# No systemd: start the daemons directly unless they already run.
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
  for _ in $(seq 1 100); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
virsh -c qemu:///system version >/dev/null
echo "setup: ready: $(virsh -c qemu:///system version | grep 'Running hypervisor')" >&2
