#!/usr/bin/env bash
# A root on a disk through the krun tool (--root-disk, --root-fstype:
# krun_add_disk and krun_set_root_disk_remount): an ext4 image made with
# mkfs.ext4 -d from a small tree (busybox, the guest program), an empty
# directory as the share the init starts from. The workload, the image's
# own /bin/sh, runs diskguest.c root there: / is /dev/vda, a file written.
# Then, on the host: fsck finds the image clean, the file is in it, and the
# share holds no file.
#
#   disk-root.sh PROBE KRUN DISKGUEST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 guest=$3
require_hardware_kvm "$probe"

work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/disk-root.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/tree img=$work/root.ext4
busybox=$(command -v busybox) || fail "busybox is not installed (Debian's busybox-static)"
mkdir -p "$work/share" "$tree/bin" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/tmp" &&
	cp "$busybox" "$tree/bin/busybox" && ln -s busybox "$tree/bin/sh" &&
	cp "$guest" "$tree/diskguest" || fail "cannot make the tree in $work"
truncate -s 64M "$img" && mkfs.ext4 -q -F -d "$tree" -E lazy_itable_init=0,lazy_journal_init=0 "$img" ||
	fail "cannot make the ext4 image"

vmm_timeout 240 "$krun" --log-level info --root-disk "$img" --root-fstype ext4 "$work/share" \
	/bin/sh -c '/diskguest root && echo "disk-root: sh from the disk says $(/bin/busybox basename $0)"' \
	>"$work/vm.out" 2>&1
status=$?
tr -d '\r' <"$work/vm.out" >"$work/vm.log"
sed 's/^/[vm] /' "$work/vm.log"
has() { grep -q -- "$1" "$work/vm.log"; }

check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the workload's / is /dev/vda" has 'diskguest: / is /dev/vda'
check "the root disk's serial is root" has 'diskguest: vda serial root$'
check "the image's own shell ran" has 'disk-root: sh from the disk says sh'
check "fsck finds the image clean" fsck.ext4 -fn "$img"
check "the guest's file is in the image" \
	[ "$(debugfs -R 'cat /written-in-guest.bin' "$img" 2>/dev/null | wc -c)" = $((4 << 20)) ]
# (the init makes its mount points there before it switches: dev, proc,
# sys, tmp, as in any root share)
check "the workload wrote nothing in the share the init started from" \
	[ -z "$(find "$work/share" ! -type d)" ]

[ $failures = 0 ] || fail "$failures checks failed"
echo "disk-root: all checks passed"
