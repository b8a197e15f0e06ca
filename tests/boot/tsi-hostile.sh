#!/usr/bin/env bash
# A guest that speaks TSI's wire itself (tsihostile.c, raw vsock streams to
# the VMM's TSI port) against the krun tool's implicit TSI, with tsi_host.c's
# server on the host's 127.0.0.1: malformed requests are reset, a request
# split a byte per packet is answered, one left half way is reset at its
# deadline, a guessed ACCEPT gets nothing, and more streams than the VMM's
# bound are answered up to it and refused beyond; meanwhile the host counts
# the VMM's fds (at most the bound more, and back down once the guest lets
# go) and reads its memory while a 256 MiB fetch sits unread in the guest
# (at most NEVER_READ_BOUND_KIB more), and a second fetch still gets through.
#
#   tsi-hostile.sh PROBE KRUN TSIHOSTILE TSI_HOST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 guest=$3 host=$4
require_hardware_kvm "$probe"

# the vsock device's connection bound (VSOCK_MAX_CONNS); fds beyond it are
# the VMM's own (about 50 here) and slack
STREAMS_BOUND=1024 FD_SLACK=128
# what a guest that never reads may cost the VMM: its buffers for one
# connection, not the host's 256 MiB
NEVER_READ_BOUND_KIB=$((16 * 1024))

tsi_scratch tsi-hostile "$guest"
root=$work/root

"$host" server >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q 'listening' "$work/server.log" && break; sleep 0.1; done

fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# The host's side of tsihostile.c's handshakes, in $work/host.log.
host_side() {
	local pid held after i
	wait_for "$root/.streams-held" || return
	pid=$(vmm_pid)
	held=$(fds "$pid")
	echo "fds held $held" >>"$work/host.log"
	: >"$root/.streams-held-done"
	wait_for "$root/.streams-closed" || return
	# the VMM closes its side as the guest's resets arrive: give it time
	for ((i = 0; i < 100; i++)); do
		after=$(fds "$pid")
		[ "$after" -lt $FD_SLACK ] && break
		sleep 0.2
	done
	echo "fds after $after" >>"$work/host.log"
	echo "rss before $(vmm_status "$pid" VmRSS)" >>"$work/host.log"
	: >"$root/.streams-closed-done"
	wait_for "$root/.never-read" || return
	echo "rss never-read $(vmm_status "$pid" VmRSS)" >>"$work/host.log"
	: >"$root/.never-read-done"
}
host_side &
helper=$!
{
	vmm_timeout 400 "$krun" --log-level info "$root" /tsihostile </dev/null \
		>"$work/vm.out" 2>&1
	echo $? >"$work/status"
} &
wait $!
wait "$helper"
status=$(cat "$work/status")
tr -d '\r' <"$work/vm.out" >"$work/vm.log"
sed 's/^/[vm] /' "$work/vm.log"
sed 's/^/[host] /' "$work/host.log" 2>/dev/null

value() { sed -n "s/^$1 \([0-9]*\)$/\1/p" "$work/host.log" 2>/dev/null; }
summary=$(grep -E '^tsihostile: [0-9]+/[0-9]+ passed' "$work/vm.log")
check "the guest's checks ran to their summary (${summary:-none})" [ -n "$summary" ]
check "the guest's checks all passed ($(grep -c '^not ok ' "$work/vm.log") failed)" \
	eval '! grep -q "^not ok " "$work/vm.log"'
check "the guest's program exited 0 (got $status)" [ "$status" = 0 ]
held=$(value 'fds held') after=$(value 'fds after')
check "the VMM held ${held:-?} fds with the streams open, at most $STREAMS_BOUND + $FD_SLACK" \
	[ "${held:-99999}" -le $((STREAMS_BOUND + FD_SLACK)) ]
check "and ${after:-?} once the guest closed them, fewer than $FD_SLACK" \
	[ "${after:-99999}" -lt $FD_SLACK ]
before=$(value 'rss before') idle=$(value 'rss never-read')
check "an unread 256 MiB fetch cost the VMM $((${idle:-0} - ${before:-0})) KiB, at most $NEVER_READ_BOUND_KIB" \
	eval '[ -n "$before" ] && [ -n "$idle" ] && [ $((idle - before)) -le $NEVER_READ_BOUND_KIB ]'
check "the VMM counted the malformed requests" \
	grep -qE 'vsock TSI: .* [1-9][0-9]* malformed' "$work/vm.log"
[ $failures = 0 ] || fail "$failures checks failed"
echo "tsi-hostile: all checks passed"
