#!/usr/bin/env bash
# A hostile guest (hostile.c) against the VMM: it reaches for a procfs and a
# sysfs mounted inside its share (one of them hidden under its own /proc, as
# under crun), walks out with .. and symlinks, swaps a symlink in during
# lookups, holds thousands of directory handles, floods the share and the
# console; meanwhile the host keeps the console's pipe undrained and checks
# that the VMM still serves the share, and afterwards that nothing outside
# the root changed and the VMM's memory stayed bounded:
#   - the directory handles held (5,000, or as many as the VMM's fd budget
#     allows) cost the VMM at most HANDLES_BOUND_KIB (its RSS while they
#     are held, less its RSS just before: the guest's own kernel objects for
#     them, in guest RAM, are in that difference);
#   - at the end, the VMM beyond guest RAM (the info log's memory line) is
#     at most BEYOND_RAM_BOUND_KIB.
# Needs root: it mounts a procfs and a sysfs in the root.
#
#   hostile-guest.sh PROBE KRUN HOSTILE
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 hostile=$3
require_hardware_kvm "$probe"
[ "$(id -u)" = 0 ] || fail "needs root, to mount a procfs and a sysfs inside the guest's root"

# A handle needs an fd and a small record: 64 MiB for 5,000 is 13 KiB each.
# (A whole listing kept per handle, as before issue 9: ~365 MiB for the
# 3,973 handles the test host's fd limit allowed.)
HANDLES_BOUND_KIB=$((64 * 1024))
BEYOND_RAM_BOUND_KIB=$((64 * 1024))
# how long the console's pipe stays undrained once the guest floods it
# (hostile.c probes the share for the first BACKED_UP_S of this)
HOST_READER_DELAY_S=20

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
# box/ holds the root and, beside it, the secret.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/hostile-guest.XXXXXX")
box=$work/box root=$work/box/root
hostname_before=$(cat /proc/sys/kernel/hostname)
mounts=("$root/hostproc" "$root/hostsys" "$root/proc")
cleanup() {
	local m
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	# the guest may have changed it (the bug this test is for)
	[ "$(cat /proc/sys/kernel/hostname)" = "$hostname_before" ] ||
		echo "$hostname_before" >/proc/sys/kernel/hostname
	# never into a procfs or sysfs left mounted
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

mkdir -p "$root"/{hostproc,hostsys,proc,bigdir} && cp "$hostile" "$root/hostile" ||
	fail "cannot make the root in $root"
secret="host secret $RANDOM$RANDOM$RANDOM"
echo "$secret" >"$box/secret"
# 400 entries of 200-character names: a whole listing kept per handle would
# be ~100 KiB, ~500 MiB for 5,000 handles. Made by the shell itself: a
# process per file costs a second each in the test host.
long=$(printf '%0190d' 0)
for i in $(seq -w 400); do : >"$root/bigdir/$long-$i"; done
mount -t proc proc "$root/hostproc" && mount -t sysfs sysfs "$root/hostsys" &&
	mount -t proc proc "$root/proc" || fail "cannot mount a procfs and a sysfs in $root"
# What lies beside the root: nothing there may change.
outside() { find "$box" -path "$root" -prune -o -printf '%p %y %s %m %T@\n' | sort; }
outside >"$work/outside.before"

# The host's side of hostile.c's handshakes; the VMM's memory use in
# $work/rss.log, one "WHEN FIELD KiB" a line, or why it could not be read.
host_side() {
	local pid
	wait_for "$root/.dirs-before" || return
	pid=$(vmm_pid)
	[ -n "$pid" ] || echo "no krun serving $root found" >>"$work/rss.log"
	echo "before VmRSS $(vmm_status "$pid" VmRSS)" >>"$work/rss.log"
	: >"$root/.dirs-before-done"
	wait_for "$root/.dirs-held" || return
	echo "held VmRSS $(vmm_status "$pid" VmRSS)" >>"$work/rss.log"
	echo "held VmHWM $(vmm_status "$pid" VmHWM)" >>"$work/rss.log"
	: >"$root/.dirs-held-done"
	wait_for "$root/.flood-started" || return
	sleep 1
	echo "written by the host while the console was backed up" >"$root/host-during-flood"
}
# The console's reader, asleep while the guest floods it.
slow_reader() {
	wait_for "$root/.flood-started" && sleep "$HOST_READER_DELAY_S"
	cat
}

host_side &
helper=$!
start=$(date +%s)
{
	vmm_timeout 300 "$krun" --log-level info --cpus 2 "$root" /hostile "$box" \
		</dev/null 2>"$work/vmm.log"
	echo $? >"$work/status"
} | slow_reader >"$work/console.out"
wait "$helper"
# (afterwards, so that the reader is cat alone)
tr -d '\r' <"$work/console.out" >"$work/console.log"
status=$(cat "$work/status")
echo "hostile run: $(($(date +%s) - start)) s, exit status $status"
flood_line='^flood [0-9]{8} \.{48}$'
grep -Ev "$flood_line" "$work/console.log"
sed 's/^/[vmm] /' "$work/vmm.log"

summary=$(grep -E '^hostile: [0-9]+/[0-9]+ passed' "$work/console.log")
failed=$(grep -c '^not ok ' "$work/console.log")
check "the guest's checks ran to their summary (${summary:-none})" [ -n "$summary" ]
check "the guest's checks all passed ($failed failed)" [ "$failed" = 0 ]
check "the guest's program exited 0 (got $status)" [ "$status" = 0 ]
check "the secret beside the root is unchanged" grep -qxF "$secret" "$box/secret"
check "the secret reached neither the console nor the log" \
	bash -c '! grep -qF "$0" "$1" "$2"' "$secret" "$work/console.log" "$work/vmm.log"
outside >"$work/outside.after"
check "nothing beside the root changed" cmp -s "$work/outside.before" "$work/outside.after"
hostname_after=$(cat /proc/sys/kernel/hostname)
check "the host's hostname is unchanged (was $hostname_before, now $hostname_after)" \
	[ "$hostname_after" = "$hostname_before" ]
flood_lines=$(grep -Ec "$flood_line" "$work/console.log")
# (hostile.c's CONSOLE_FLOOD_BYTES / FLOOD_LINE)
check "the console flood reached the host whole ($flood_lines of 262144 lines)" \
	[ "$flood_lines" = 262144 ]
rss() { awk -v when="$1" -v field="$2" '$1 == when && $2 == field { print $3 }' "$work/rss.log" 2>/dev/null; }
before=$(rss before VmRSS) held=$(rss held VmRSS)
if [ -n "$before" ] && [ -n "$held" ]; then
	echo "VMM RSS: $before KiB before the directory handles, $held KiB while held" \
		"(peak so far $(rss held VmHWM) KiB)"
	handles=$(sed -n 's/^# \([0-9]*\) handles opened and read.*/\1/p' "$work/console.log")
	check "${handles:-?} directory handles cost the VMM $((held - before)) KiB, at most $HANDLES_BOUND_KIB" \
		[ $((held - before)) -le $HANDLES_BOUND_KIB ]
else
	check "the VMM's RSS was read before and while the directory handles were held ($(tr '\n' ';' <"$work/rss.log" 2>/dev/null))" false
fi
beyond=$(sed -n 's/.*VMM beyond guest RAM \([0-9]*\) KiB.*/\1/p' "$work/vmm.log")
check "at the end, the VMM used ${beyond:-?} KiB beyond guest RAM, at most $BEYOND_RAM_BOUND_KIB" \
	[ "${beyond:-$((BEYOND_RAM_BOUND_KIB + 1))}" -le $BEYOND_RAM_BOUND_KIB ]
[ $failures = 0 ] && echo PASS || exit 1
