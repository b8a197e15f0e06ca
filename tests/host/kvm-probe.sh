#!/usr/bin/env bash
# The speed probe must tell a /dev/kvm that emulates guest code (PVM) from one
# that runs it at hardware speed (kvm_intel/kvm_amd, nested ones included).
# What to expect is read from the device and the KVM modules present, not
# from the host name.
#
#   kvm-probe.sh PROBE
set -uo pipefail
probe=$1
out=$("$probe")
status=$?
echo "probe: $out (status $status)"
if [ ! -e /dev/kvm ]; then
	# some machines have no KVM device at all (guests then run in the test
	# host, under QEMU TCG): the probe must say so, apart from "emulated"
	[ $status = 2 ] || { echo "FAIL: without /dev/kvm the probe must exit 2" >&2; exit 1; }
elif [ -d /sys/module/kvm_pvm ]; then
	[ $status = 1 ] && [[ $out == emulated* ]] || { echo "FAIL: PVM's /dev/kvm must read as emulated" >&2; exit 1; }
elif [ -d /sys/module/kvm_amd ] || [ -d /sys/module/kvm_intel ]; then
	[ $status = 0 ] && [[ $out == hardware-speed* ]] || { echo "FAIL: kvm_amd/kvm_intel must read as hardware speed" >&2; exit 1; }
else
	echo "FAIL: no KVM module loaded here (status $status)" >&2
	exit 1
fi
echo "PASS"
