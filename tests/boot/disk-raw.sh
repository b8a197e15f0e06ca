#!/usr/bin/env bash
# Raw disks through the krun tool (--disk, krun_add_disk3): a sparse image
# and a read-only second disk. A first guest makes the ext4 file system
# (Debian's mke2fs, copied into the root with its libraries), fsck on the
# host finds it clean. The next (diskguest.c write) reads both serials,
# writes files on vda, writes 16 MiB more, removes them and trims (FITRIM,
# the device's DISCARD), reads vdb and is refused a write to it. Then, on
# the host: the image's blocks shrank back, fsck finds it clean, debugfs
# reads the guest's file; a second VM reads every file back (diskguest.c
# verify).
#
#   disk-raw.sh PROBE KRUN DISKGUEST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 guest=$3
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p cannot punch holes.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/disk-raw.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" && cp "$guest" "$work/root/diskguest" &&
	copy_program "$work/root" "$(command -v mke2fs)" || fail "cannot make the root in $work"
disk=$work/disk.raw ro=$work/ro.raw
truncate -s 128M "$disk" || fail "cannot make the image"
{ printf 'RO-DISK!'; head -c 1048568 /dev/zero; } >"$ro"
ro_sum=$(md5sum <"$ro")

run_vm() { # LOG MODE DISK-OPTIONS...
	local log=$1 mode=$2
	shift 2
	run_logged "$log" 240 "$krun" --log-level info "$@" "$work/root" /diskguest "$mode"
}
has() { grep -q -- "$2" "$work/$1.log"; }

# Inode tables and journal written now (no lazy init), so that the next
# guest's kernel does not allocate them behind the trim's measurement.
run_logged mkfs 240 "$krun" --log-level info --disk "$disk" "$work/root" -- \
	"$(command -v mke2fs)" -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 /dev/vda
status=$?
check "mke2fs in the guest succeeded (exit status $status)" [ "$status" = 0 ]
check "fsck finds the guest's new file system clean" fsck.ext4 -fn "$disk"
blocks_before=$(stat -c %b "$disk")

run_vm write write --disk "$disk:id=data-disk" --disk "$ro:ro:format=raw:id=ro-disk"
status=$?
blocks_after=$(stat -c %b "$disk")
check "the first guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "vda's serial is the block id" has write 'diskguest: vda serial data-disk$'
check "vdb's serial is the block id" has write 'diskguest: vdb serial ro-disk$'
check "the guest wrote its files and unmounted" has write 'diskguest: files written'
check "the guest trimmed" has write 'diskguest: trimmed [1-9]'
check "the read-only disk read" has write 'diskguest: vdb reads "RO-DISK!"'
check "the read-only disk refused a write" has write 'diskguest: vdb refused a write'
check "the read-only image is unchanged" [ "$(md5sum <"$ro")" = "$ro_sum" ]
check "the VMM counted the discards" has write 'virtio-blk data-disk: .* [1-9][0-9]* discards'
check "no request failed on the writable disk" has write 'virtio-blk data-disk: .* 0 I/O errors'
# 4 MiB of files and at most the 4 MiB journal stay; the 16 MiB removed
# were given back by the trim (without it: 20 MiB more at least).
grown=$(((blocks_after - blocks_before) * 512))
check "the trim gave the host its blocks back (the image grew $grown bytes)" \
	[ "$grown" -lt $((12 << 20)) ]
check "fsck finds the image clean" fsck.ext4 -fn "$disk"
check "the host reads the guest's file" \
	[ "$(debugfs -R 'cat /hello.txt' "$disk" 2>/dev/null)" = "hello from the guest's disk" ]

run_vm verify verify --disk "$disk"
status=$?
check "the second guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the second guest read every file back" has verify 'diskguest: verified'

[ $failures = 0 ] || fail "$failures checks failed"
echo "disk-raw: all checks passed"
