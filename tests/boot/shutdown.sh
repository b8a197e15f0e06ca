#!/usr/bin/env bash
# krun_get_shutdown_eventfd end to end (shutdown-client): a write once the
# workload is ready gives it SIGTERM; one that traps it writes a marker and
# leaves with its own status, one that ignores it is killed after the
# init's grace period (guest_abi.h's KRUN_SHUTDOWN_GRACE_MS, 10 s) and the
# process exits 137, within that bound plus the time the VM takes to stop.
#
#   shutdown.sh PROBE MKROOT SHUTDOWN_CLIENT
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 mkroot=$2 client=$3
require_hardware_kvm "$probe"

work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/shutdown.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
"$mkroot" "$root" 2>/dev/null

run() { # name, expected status, workload script: status and seconds from ask to exit
	local name=$1 want=$2
	rm -f "$root/ready" "$root/marker"
	run_logged "$name" 180 "$client" "$root" ready /bin/sh -c "$3" </dev/null
	local status=$? end=$(date +%s)
	check "$name: exit status $want (got $status)" [ "$status" = "$want" ]
	local asked=$(sed -n 's/^shutdown asked at //p' "$work/$name.log")
	check "$name: the shutdown was asked" [ -n "$asked" ]
	took=$((end - ${asked:-$end}))
}

# busy in a child the shell waits for, so that the trap runs at once
run trapped 3 'trap "echo got SIGTERM >/marker; exit 3" TERM; touch /ready;
	       while :; do sleep 1 & wait; done'
check "trapped: the workload's handler ran" grep -qx 'got SIGTERM' "$root/marker"
check "trapped: stopped well within the grace period ($took s)" [ "$took" -lt 9 ]

run ignored 137 'trap "" TERM; touch /ready; while :; do sleep 1; done'
check "ignored: killed after the grace period, not before ($took s)" [ "$took" -ge 9 ]
check "ignored: stopped within the bound ($took s, 10 s and 30 s to stop)" [ "$took" -le 40 ]

[ $failures = 0 ] && echo PASS || exit 1
