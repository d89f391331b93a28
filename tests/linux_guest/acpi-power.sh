#!/bin/sh
# acpid's handler for the ACPI power button: what `novactl stop` (Nova's clean shutdown) presses.
echo "NOVACTL-LINUX-POWEROFF" >/dev/console
kill -TERM -1
sync
poweroff -f
