#!/usr/bin/env bash
# A network interface end to end over a datagram socket: the guest
# (netguest.c) brings eth0 up with a static address itself and pings
# 10.0.2.2; the host's peer (net_client.c's child, a stand-in for gvproxy in
# vfkit mode) is greeted with VFKT from the socket the VMM binds beside its
# own, and answers ARP and ICMP echo. Checks the guest's MAC, every echo
# answered, the peer's view, the VMM's counters, and that the VMM removed
# its socket.
#
#   net-unixgram.sh PROBE NET_CLIENT NETGUEST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2 netguest=$3
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/net-unixgram.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root" "$work/sock" && cp "$netguest" "$work/root/netguest" ||
	fail "cannot make the root in $work"

vmm_timeout 180 "$client" "$work/root" "$work/sock/peer.sock" /netguest 3 >"$work/out" 2>&1
status=$?
tr -d '\r' <"$work/out" >"$work/log"
sed 's/^/[net] /' "$work/log"

failures=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -- "$1" "$work/log"; }
check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "eth0 has the MAC the client gave" has 'netguest: eth0 mac 02:4b:52:55:4e:01'
check "the peer was greeted with VFKT from the VMM's own socket" \
	has "peer: greeted with \"VFKT\" from $work/sock/krun-net-"
check "the peer answered ARP from the guest's MAC" \
	has 'peer: ARP request for 10.0.2.2 from 02:4b:52:55:4e:01'
check "every echo was answered" has 'netguest: all echoes answered'
check "the VMM counted frames both ways" has 'net eth0 (unixgram): received [1-9]'
check "the VMM removed its socket" [ -z "$(ls "$work/sock" | grep krun-net-)" ]
[ $failures = 0 ] || fail "$failures checks failed"
echo "net-unixgram: all checks passed"
