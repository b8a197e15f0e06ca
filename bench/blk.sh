#!/usr/bin/env bash
# Side by side, in the same test host and the same run: a disk through our
# virtio-blk (the krun tool's --disk) and through QEMU microvm's
# (virtio-blk-device), on the same guest kernel, 1 vCPU, 512 MiB, the same
# guest program (bench/blkbench.c: the krun tool's workload in ours, the
# init of an initramfs in QEMU's) on /dev/vda, O_DIRECT, no filesystem.
# Rows, each QEMU's before ours, each on a fresh 256 MiB image on tmpfs
# ($TESTHOST_SCRATCH in the test host):
#   QEMU, raw (truncate)                     | ours --disk IMG:format=raw
#   QEMU, qcow2 (qemu-img create -f qcow2)   | ours --disk IMG:format=qcow2
# QEMU's drive is cache=writeback,aio=threads: the host's page cache with
# the guest's flushes passed on as fdatasync, which is what the krun tool
# asks of ours (krun_add_disk3 without direct I/O, KRUN_SYNC_FULL); tmpfs
# has no O_DIRECT to compare anyway.
# For each: 1 MiB sequential write (ending with a flush) and read MiB/s
# over the first MIB MiB, then 4 KiB random read and write IOPS in those
# MiB for SECONDS each, one in flight and THREADS in flight (all timed by
# the guest), and the VMM's host CPU time (user + system, all its threads,
# from /proc/PID/stat when the guest announces a phase and when it reports
# it) per GiB the phase moved. Figures, not asserted.
# RUNS rounds of the four rows:
#   testhost/run --probe build/tools/kvm-speed-probe bench/blk.sh [BUILD_DIR] [RUNS]
# (default RUNS 2; BLK_SECONDS, default 3, BLK_MIB, default 64, BLK_THREADS,
# default 4, change the phases)
set -uo pipefail
cd "$(dirname "$(realpath "$0")")/.." || exit 1
. tests/boot/lib.sh
build=$(realpath "${1:-build}")
runs=${2:-2}
seconds=${BLK_SECONDS:-3} mib=${BLK_MIB:-64} threads=${BLK_THREADS:-4} size=256M
require_hardware_kvm "$build/tools/kvm-speed-probe"
command -v qemu-img >/dev/null || fail "qemu-img is not installed (Debian's qemu-utils package)"
vmlinux=$(kernel/build.sh guest kernel/guest.config kernel/patches 2>/dev/null | tail -n 1)/vmlinux
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/bench-blk.XXXXXX") || fail "no scratch directory"
trap 'rm -rf "$work"' EXIT
if ! { mkdir -p "$work/root" "$work/initramfs" && cp "$build/bench/blkbench" "$work/root/blkbench" &&
	cp "$build/bench/blkbench" "$work/initramfs/init" &&
	(cd "$work/initramfs" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"; }; then
	fail "cannot make the guest's root and initramfs in $work"
fi
hz=$(getconf CLK_TCK)
phases=("seqwrite 1MiB" "seqread 1MiB" "randread 4KiB qd1" "randwrite 4KiB qd1")
[ "$threads" -gt 1 ] && phases+=("randread 4KiB qd$threads" "randwrite 4KiB qd$threads")

# A fresh image, $work/disk.FORMAT (the last row's removed).
image() { # FORMAT
	rm -f "$work"/disk.*
	if [ "$1" = raw ]; then
		truncate -s "$size" "$work/disk.raw"
	else
		qemu-img create -q -f qcow2 "$work/disk.qcow2" "$size"
	fi
}

# Each sets cmd to a VMM's command line, on the image of FORMAT.
# shellcheck disable=SC2054 # commas inside QEMU's options
qemu() { # FORMAT
	cmd=(qemu-system-x86_64 -M microvm,isa-serial=off,acpi=off -enable-kvm -cpu host
		-smp 1 -m 512 -nodefaults -no-user-config -nographic -no-reboot
		-global virtio-mmio.force-legacy=false -kernel "$vmlinux" -initrd "$work/initramfs.cpio"
		-append "console=hvc0 reboot=t panic=-1 quiet $seconds $mib $threads"
		-chardev stdio,id=c0 -device virtio-serial-device -device virtconsole,chardev=c0
		-drive "file=$work/disk.$1,format=$1,if=none,id=d0,cache=writeback,aio=threads"
		-device virtio-blk-device,drive=d0)
}
ours() { # FORMAT
	cmd=("$build/cli/krun" --cpus 1 --mem 512 --disk "$work/disk.$1:format=$1:id=bench"
		"$work/root" /blkbench "$seconds" "$mib" "$threads")
}

# User + system clock ticks of process PID, all its threads (the
# fields after the command's name: utime and stime are the 12th and 13th).
cpu_ticks() { # PID
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -r -a fields <<<"${stat##*) }"
	echo $((fields[11] + fields[12]))
}

rates=() cpus=()
figure_re='^blkbench: ([A-Za-z0-9 ]+): ([0-9.]+) [A-Za-z/]+, ([0-9]+) bytes in [0-9.]+ s$'
row() { # SLOT LABEL FORMAT FUNCTION: the function sets cmd for the format
	local slot=$1 label=$2 line pid status start begin=0 ticks p rate=() cpu=()
	local -A got=() per_gib=()
	"$4" "$3"
	image "$3" || fail "cannot make the $3 image in $work"
	rm -f "$work/out"
	mkfifo "$work/out" || fail "cannot make a fifo in $work"
	start=$(date +%s.%N)
	"${cmd[@]}" </dev/null >"$work/out" 2>"$work/err" &
	pid=$!
	: >"$work/log"
	# The VMM's CPU read as each phase's lines arrive: the guest writes
	# them to its console just before its first request and after its last.
	# A phase takes seconds: a guest silent for 120 s is stuck (QEMU's
	# once was, in its first row's last phase, on 2026-12-07), and the row
	# shows its log's end.
	while IFS= read -r -t 120 line; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$work/log"
		if [[ $line == "blkbench: begin "* ]]; then
			begin=$(cpu_ticks "$pid") || begin=0
		elif [[ $line =~ $figure_re ]]; then
			got[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
			ticks=$(cpu_ticks "$pid") &&
				per_gib[${BASH_REMATCH[1]}]=$(printf '%.1f' "$(echo \
					"($ticks - $begin) / $hz * 1073741824 / ${BASH_REMATCH[3]}" | bc -l)")
		fi
	done <"$work/out"
	kill "$pid" 2>/dev/null # only if the guest went quiet for 120 s
	wait "$pid"
	status=$?
	echo "== $label: exit status $status after $(echo "$(date +%s.%N) - $start" | bc) s"
	if grep -q '^blkbench: done' "$work/log"; then
		grep -E "$figure_re" "$work/log"
	else
		tail -n 30 "$work/log" "$work/err"
	fi
	for p in "${phases[@]}"; do
		rate+=("${got[$p]:--}") cpu+=("${per_gib[$p]:--}")
	done
	rates+=("$slot $(printf '%-22s' "$label")$(printf ' %10s' "${rate[@]}")")
	cpus+=("$slot $(printf '%-22s' "$label")$(printf ' %10s' "${cpu[@]}")")
}

table() { # TITLE SEQUENTIAL-UNIT RANDOM-UNIT ROW...
	local title=$1 seq=$2 random=$3 p
	shift 3
	echo
	echo "$title"
	printf '%-22s' ""
	for p in "${phases[@]}"; do printf ' %10s' "${p%% *}"; done
	printf '\n%-22s' ""
	for p in "${phases[@]}"; do printf ' %10s' "${p#* }"; done
	printf '\n%-22s' ""
	for p in "${phases[@]}"; do
		if [[ $p == seq* ]]; then printf ' %10s' "$seq"; else printf ' %10s' "$random"; fi
	done
	echo
	# each row's rounds together
	printf '%s\n' "$@" | sort -s -n -k1,1 | cut -d' ' -f2-
}

echo "guest kernel $vmlinux; $size images, $mib MiB sequential, $seconds s a random phase," \
	"$threads threads in flight; 1 vCPU, 512 MiB"
for _ in $(seq "$runs"); do
	row 1 "qemu raw" raw qemu
	row 2 "ours raw" raw ours
	row 3 "qemu qcow2" qcow2 qemu
	row 4 "ours qcow2" qcow2 ours
done
echo
echo "nested (the test host's KVM under QEMU TCG): compare within this run only"
table "the guest's figures" MiB/s IOPS "${rates[@]}"
table "the VMM's CPU time (user + system) per GiB the phase moved" s/GiB s/GiB "${cpus[@]}"
