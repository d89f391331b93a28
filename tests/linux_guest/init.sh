#!/bin/busybox sh
# PID 1 of novactl's Linux test guest, run from the initramfs (no root disk is mounted).
# Does what cloud-init does with a config drive, printing NOVACTL-LINUX-<STEP> markers on the
# serial console so tests can follow it: modules, config drive, hostname, network, root's keys,
# sshd (dropbear) with its host key fingerprints, user_data scripts, then READY.

/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp /var/run /var/log /config-drive
mount -t devpts devpts /dev/pts

say() { echo "NOVACTL-LINUX-$*"; }

# get KEY FILE: the value of a path=value line written by json.awk
get() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' "$2"; }

say INIT="$(uname -r)"
while read -r module; do
    insmod "/lib/modules/$module.ko" || say MODULE-FAILED="$module"
done </etc/modules
ifconfig lo 127.0.0.1 up
acpid -c /etc/acpi  # the ACPI power button (novactl stop) powers off cleanly

# The config drive, found by its label as cloud-init does; the cdrom may take a moment to appear.
drive=
for _ in $(seq 100); do
    drive=$(findfs LABEL=config-2 2>/dev/null) && break
    sleep 0.1
done
meta=/tmp/meta_data
net=/tmp/network_data
: >"$meta"
: >"$net"
latest=/config-drive/openstack/latest
if [ -n "$drive" ] && mount -t iso9660 -o ro "$drive" /config-drive; then
    say CONFIG-DRIVE="$drive"
    [ -f "$latest/meta_data.json" ] && awk -f /lib/json.awk "$latest/meta_data.json" >"$meta"
    [ -f "$latest/network_data.json" ] && awk -f /lib/json.awk "$latest/network_data.json" >"$net"
else
    say CONFIG-DRIVE=none
fi

name=$(get hostname "$meta")
case "$name" in
    "" | *[!a-z0-9.-]*) name=novactl-guest ;;
esac
hostname "$name"
say HOSTNAME="$name"
say UUID="$(get uuid "$meta")"

# network_data.json: each network's link names the MAC of the interface to configure.
dhcp() {
    udhcpc -f -i "$1" -s /etc/udhcpc.sh >/var/log/udhcpc."$1".log 2>&1 &  # READY does not wait for a lease
    say NET="$1",dhcp
}
configured=
i=0
while type=$(get "networks.$i.type" "$net") && [ -n "$type" ]; do
    link=$(get "networks.$i.link" "$net")
    j=0
    mac=
    while id=$(get "links.$j.id" "$net") && [ -n "$id" ]; do
        [ "$id" = "$link" ] && mac=$(get "links.$j.ethernet_mac_address" "$net" | tr A-F a-f) && mtu=$(get "links.$j.mtu" "$net")
        j=$((j + 1))
    done
    dev=
    for path in /sys/class/net/*; do
        [ "$(cat "$path/address")" = "$mac" ] && dev=${path##*/}
    done
    if [ -z "$dev" ]; then
        say NET-NO-INTERFACE="$mac"
    elif [ "$type" = ipv4 ]; then
        ifconfig "$dev" "$(get "networks.$i.ip_address" "$net")" netmask "$(get "networks.$i.netmask" "$net")" up
        [ -n "$mtu" ] && [ "$mtu" != null ] && ifconfig "$dev" mtu "$mtu"
        r=0
        while gw=$(get "networks.$i.routes.$r.gateway" "$net") && [ -n "$gw" ]; do
            route add -net "$(get "networks.$i.routes.$r.network" "$net")" netmask "$(get "networks.$i.routes.$r.netmask" "$net")" gw "$gw" dev "$dev"
            r=$((r + 1))
        done
        say NET="$dev,$(get "networks.$i.ip_address" "$net")"
    else
        ifconfig "$dev" up
        dhcp "$dev"
    fi
    configured="$configured $dev"
    i=$((i + 1))
done
if [ -z "$configured" ]; then  # no network_data.json: DHCP everywhere, as cloud-init's fallback
    for path in /sys/class/net/*; do
        dev=${path##*/}
        [ "$dev" = lo ] && continue
        ifconfig "$dev" up
        dhcp "$dev"
    done
fi
s=0
while dns=$(get "services.$s.address" "$net") && [ -n "$dns" ]; do
    [ "$(get "services.$s.type" "$net")" = dns ] && echo "nameserver $dns" >>/etc/resolv.conf
    s=$((s + 1))
done

# public_keys for root, as cloud-init's ssh module does for the default user
mkdir -p -m 700 /root/.ssh
grep '^public_keys\.' "$meta" | cut -d= -f2- >/root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
say KEYS="$(grep -c . /root/.ssh/authorized_keys)"

# sshd with a host key made now, its fingerprint and key printed as cloud-init prints them
key=/etc/dropbear/dropbear_ed25519_host_key
mkdir -p /etc/dropbear
dropbearkey -t ed25519 -f "$key" >/dev/null 2>&1
public=$(dropbearkey -y -f "$key" | grep '^ssh-')
fingerprint=$(dropbearkey -y -f "$key" | sed -n 's/^Fingerprint: //p')
echo "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
echo "256 $fingerprint root@$name (ED25519)"
echo "-----END SSH HOST KEY FINGERPRINTS-----"
echo "-----BEGIN SSH HOST KEY KEYS-----"
echo "${public% *} root@$name"
echo "-----END SSH HOST KEY KEYS-----"
dropbear -F -E -s -r "$key" -p 22 >/var/log/dropbear.log 2>&1 &
say SSHD=dropbear

# user_data runs when it is a script, as cloud-init's scripts-user does
user_data="$latest/user_data"
if [ -n "$drive" ] && [ -f "$user_data" ]; then
    if [ "$(head -c 2 "$user_data")" = "#!" ]; then
        cp "$user_data" /tmp/user_data
        chmod 700 /tmp/user_data
        /tmp/user_data
        say USER-DATA=exit:$?
    else
        say USER-DATA=not-a-script
    fi
fi

say READY
while :; do
    wait  # reap what the children leave behind
    sleep 60
done
