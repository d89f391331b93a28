#!/bin/sh
# udhcpc's lease script: apply the lease to the interface and say so on the console.
case "$1" in
    deconfig) ifconfig "$interface" 0.0.0.0 ;;
    bound | renew)
        ifconfig "$interface" "$ip" netmask "$subnet" up
        for gw in $router; do
            route add default gw "$gw" dev "$interface" && break
        done
        echo "NOVACTL-LINUX-DHCP=$interface,$ip" >/dev/console
        ;;
esac
