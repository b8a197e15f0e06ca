#!/usr/bin/env bash
# virtio-rng in a guest, through the krun tool: the guest kernel takes it
# as its hardware RNG, /dev/hwrng gives random bytes, and reading far more
# than the burst takes at least what the device's rate allows
# (src/devices/rng/rng.h: 256 KiB/s after a 64 KiB burst).
#
#   hwrng.sh PROBE KRUN MKROOT
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 mkroot=$3
require_hardware_kvm "$probe"

work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/hwrng.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
"$mkroot" "$root" 2>/dev/null

# 320 KiB: 256 KiB past the burst, a second's worth at the rate
run_logged hwrng 180 "$krun" "$root" sh -c '
	echo "current: $(cat /sys/class/misc/hw_random/rng_current)"
	head -c 1024 /dev/hwrng >/sample
	echo "distinct bytes: $(od -An -v -tx1 /sample | tr " " "\n" | grep . | sort -u | wc -l)"
	start=$(cut -d" " -f1 /proc/uptime)
	echo "bytes: $(head -c 327680 /dev/hwrng | wc -c)"
	echo "uptime: $start $(cut -d" " -f1 /proc/uptime)"' </dev/null
status=$?
check "the VM ran (status $status)" [ "$status" = 0 ]
check "the guest's hardware RNG is virtio-rng" grep -q '^current: virtio_rng' "$work/hwrng.log"
distinct=$(sed -n 's/^distinct bytes: //p' "$work/hwrng.log")
check "1 KiB from /dev/hwrng looks random ($distinct distinct bytes of 256)" \
	[ "${distinct:-0}" -ge 200 ]
secs=$(awk '/^uptime: / { print $3 - $2 }' "$work/hwrng.log")
check "327680 bytes read" grep -qx 'bytes: 327680' "$work/hwrng.log"
check "at most the rate: 320 KiB took ${secs:-?} s, at least 0.9 s" \
	awk -v s="${secs:-0}" 'BEGIN { exit !(s >= 0.9) }'

[ $failures = 0 ] && echo PASS || exit 1
