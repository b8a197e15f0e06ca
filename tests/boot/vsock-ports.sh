#!/usr/bin/env bash
# vsock ports both ways with host unix sockets, through the krun tool
# (--vsock-port, krun_add_vsock_port2): the guest (vsockguest.c) connects to
# the host (CID 2) at a mapped port, whose unix listener (vsock_peer.c
# serve) echoes a line, then takes 16 MiB and sends 16 MiB back, each
# checksummed at both ends; the guest listens on a port mapped with
# :listen, and the host reaches it through the socket the VMM listens on
# (vsock_peer.c knock); a connection to an unmapped port is refused at
# once. Checks both sides' words, the sums, the VMM's counters, and that
# the VMM removed its listening socket.
#
#   vsock-ports.sh PROBE KRUN VSOCKGUEST VSOCK_PEER
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 guest=$3 peer=$4
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/vsock-ports.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/sock" && cp "$guest" "$work/root/vsockguest" ||
	fail "cannot make the root in $work"

"$peer" serve "$work/sock/peer.sock" >"$work/serve.log" 2>&1 &
pids+=($!)
"$peer" knock "$work/sock/vm.sock" >"$work/knock.log" 2>&1 &
knocker=$!
pids+=($knocker)
for _ in $(seq 50); do grep -q 'peer: listening' "$work/serve.log" && break; sleep 0.1; done

vmm_timeout 240 "$krun" --log-level info --vsock-port "1234:$work/sock/peer.sock" \
	--vsock-port "5678:$work/sock/vm.sock:listen" "$work/root" /vsockguest >"$work/vm.out" 2>&1
status=$?
wait "$knocker"
knock_status=$?
tr -d '\r' <"$work/vm.out" >"$work/vm.log"
sed 's/^/[vm] /' "$work/vm.log"
sed 's/^/[serve] /' "$work/serve.log"
sed 's/^/[knock] /' "$work/knock.log"

has() { grep -q -- "$2" "$work/$1.log"; }
sum_of() { sed -n "s/^$2 16777216 bytes, sum \([0-9a-f]*\)\$/\1/p" "$work/$1.log"; }

check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the guest's line was echoed by the host's listener" has vm 'vsockguest: echo answered'
check "the host's listener saw the line" has serve 'peer: echoed 6 bytes'
g_sent=$(sum_of vm 'vsockguest: sent') p_got=$(sum_of serve 'peer: received')
check "16 MiB from the guest arrived whole (sums $g_sent, $p_got)" [ -n "$g_sent" -a "$g_sent" = "$p_got" ]
p_sent=$(sum_of serve 'peer: sent') g_got=$(sum_of vm 'vsockguest: received')
check "16 MiB from the host arrived whole (sums $p_sent, $g_got)" [ -n "$p_sent" -a "$p_sent" = "$g_got" ]
check "the host reached the guest's listener through the VMM's socket (status $knock_status)" \
	[ "$knock_status" = 0 ]
check "the guest's listener saw ping" has vm "vsockguest: the host's connection said ping"
check "the unmapped port was refused at once" has vm 'vsockguest: unmapped port: ECONN[A-Z]* after'
check "the VMM counted connections and refusals" \
	has vm 'vsock: [3-9][0-9]* connections; .*refused [1-9]'
check "the VMM removed its listening socket" [ ! -e "$work/sock/vm.sock" ]

[ $failures = 0 ] || fail "$failures checks failed"
echo "vsock-ports: all checks passed"
