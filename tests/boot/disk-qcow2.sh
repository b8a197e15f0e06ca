#!/usr/bin/env bash
# A qcow2 disk over a raw backing file, through the krun tool (--disk
# ...:format=qcow2): the guest (diskguest.c, as in disk-raw.sh) writes its
# files on vda, trims, and a second VM reads them back. On the host, with
# Debian's qemu-img: the overlay checks clean, the backing file is
# untouched, and the overlay's contents (converted to raw) are a clean ext4
# holding the guest's file. Then a VMM killed with SIGKILL in the middle of
# the guest's writes: qemu-img check still accepts the image (leaked
# clusters at worst, never corruption).
#
#   disk-qcow2.sh PROBE KRUN DISKGUEST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 guest=$3
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p cannot punch holes.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/disk-qcow2.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" && cp "$guest" "$work/root/diskguest" || fail "cannot make the root in $work"
base=$work/base.raw overlay=$work/overlay.qcow2 ro=$work/ro.raw
truncate -s 128M "$base" && mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$base" ||
	fail "cannot make the ext4 image"
qemu-img create -q -f qcow2 -F raw -b "$base" "$overlay" || fail "qemu-img create failed"
{ printf 'RO-DISK!'; head -c 1048568 /dev/zero; } >"$ro"
base_sum=$(md5sum <"$base")

run_vm() { # LOG MODE DISK-OPTIONS...
	local log=$1 mode=$2
	shift 2
	run_logged "$log" 240 "$krun" --log-level info "$@" "$work/root" /diskguest "$mode"
}
has() { grep -q -- "$2" "$work/$1.log"; }
qcow2_checks() { # WHAT: qemu-img check's verdict, 0 clean, 3 leaks only
	qemu-img check "$overlay" >"$work/check.log" 2>&1
	local status=$?
	sed "s/^/[qemu-img check, $1] /" "$work/check.log" >&2
	echo "$status"
}
leaks_at_worst() { [ "$1" = 0 ] || [ "$1" = 3 ]; }

run_vm write write --disk "$overlay:format=qcow2:id=data-disk" --disk "$ro:ro:format=raw:id=ro-disk"
status=$?
check "the first guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the VMM opened the overlay as qcow2 over its backing file" has write 'qcow2'
check "the guest wrote its files and unmounted" has write 'diskguest: files written'
check "the guest trimmed" has write 'diskguest: trimmed [1-9]'
check "no request failed on the qcow2 disk" has write 'virtio-blk data-disk: .* 0 I/O errors'
verdict=$(qcow2_checks "after the guest")
check "qemu-img check finds the overlay clean (status $verdict)" [ "$verdict" = 0 ]
check "the backing file is untouched" [ "$(md5sum <"$base")" = "$base_sum" ]
qemu-img convert -O raw "$overlay" "$work/flat.raw" || fail "qemu-img convert failed"
check "the overlay's contents are a clean ext4" fsck.ext4 -fn "$work/flat.raw"
check "the host reads the guest's file from them" \
	[ "$(debugfs -R 'cat /hello.txt' "$work/flat.raw" 2>/dev/null)" = "hello from the guest's disk" ]
rm -f "$work/flat.raw"

run_vm verify verify --disk "$overlay:format=qcow2"
status=$?
check "the second guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the second guest read every file back" has verify 'diskguest: verified'

# A fresh overlay written by a guest whose VMM is killed mid-way.
rm -f "$overlay"
qemu-img create -q -f qcow2 -F raw -b "$base" "$overlay" || fail "qemu-img create failed"
"$krun" --disk "$overlay:format=qcow2" --disk "$ro:ro:format=raw" \
	"$work/root" /diskguest write >"$work/killed.log" 2>&1 &
vmm=$!
if await_line "$work/killed.log" 'diskguest: vda serial' "$vmm" 180; then
	sleep 1.5
	kill -KILL "$vmm"
	wait "$vmm" 2>/dev/null
	sed 's/^/[killed] /' "$work/killed.log"
	check "the guest had not finished when its VMM was killed" \
		bash -c "! grep -q 'diskguest: write,' '$work/killed.log'"
	verdict=$(qcow2_checks "after SIGKILL")
	check "qemu-img check accepts the image after SIGKILL (status $verdict: 0 clean, 3 leaks)" \
		leaks_at_worst "$verdict"
else
	kill -KILL "$vmm" 2>/dev/null
	sed 's/^/[killed] /' "$work/killed.log"
	check "the guest started writing before its VMM was to be killed" false
fi

[ $failures = 0 ] || fail "$failures checks failed"
echo "disk-qcow2: all checks passed"
