#!/usr/bin/env bash
# A network interface end to end over a datagram socket, in two boots. The
# host's peer (net_client.c's child, a stand-in for gvproxy in vfkit mode)
# is greeted with VFKT from the socket the VMM binds beside its own, and
# answers ARP, ICMP echo and DHCP. The guest (netguest.c) pings 10.0.2.2
# after bringing eth0 up with a static address itself ("static"), or after
# the init configured it by DHCP from the peer ("dhcp": NET_FLAG_DHCP_CLIENT,
# the address, MTU and resolv.conf checked). Checks the guest's MAC, every
# echo answered, the peer's view, the VMM's counters, and that the VMM
# removed its socket. A third boot has a hostile peer and a flooding guest
# (see there).
#
#   net-unixgram.sh PROBE NET_CLIENT NETGUEST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2 netguest=$3
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/net-unixgram.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/etc" "$work/sock" && cp "$netguest" "$work/root/netguest" ||
	fail "cannot make the root in $work"

boot() { # name, net-client's options, netguest's
	vmm_timeout 180 "$client" $2 "$work/root" "$work/sock/peer.sock" /netguest $3 \
		>"$work/$1.out" 2>&1
	local status=$?
	tr -d '\r' <"$work/$1.out" >"$work/$1.log"
	sed "s/^/[$1] /" "$work/$1.log"
	check "$1: the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
	check "$1: eth0 has the MAC the client gave" has "$1" 'netguest: eth0 mac 02:4b:52:55:4e:01'
	check "$1: the peer was greeted with VFKT from the VMM's own socket" \
		has "$1" "peer: greeted with \"VFKT\" from $work/sock/krun-net-"
	check "$1: every echo was answered" has "$1" 'netguest: all echoes answered'
	check "$1: the VMM counted frames both ways" \
		has "$1" 'net eth0 (unixgram): received [1-9][0-9]* frames ([0-9]* bytes, [0-9]* over several buffers), sent [1-9]'
	check "$1: the VMM removed its socket" [ -z "$(ls "$work/sock" | grep krun-net-)" ]
}
has() { grep -q -- "$2" "$work/$1.log"; }
lacks() { ! has "$@"; }

boot static "" 3
check "static: the peer answered ARP from the guest's MAC" \
	has static 'peer: ARP request for 10.0.2.2 from 02:4b:52:55:4e:01'
check "static: no DHCP asked" lacks static 'peer: DHCP'

boot dhcp --dhcp "--dhcp 2"
check "dhcp: the init asked with rapid commit, the peer acked" \
	has dhcp 'peer: DHCP DISCOVER with rapid commit, answered with ACK'
check "dhcp: the lease's address and MTU on eth0" \
	has dhcp 'netguest: dhcp gave eth0 10.0.2.15, mtu 1400'
check "dhcp: the lease's DNS in the guest's resolv.conf" \
	has dhcp 'netguest: resolv.conf has nameserver 10.0.2.3'
check "dhcp: resolv.conf written in the root" grep -q 'nameserver 10.0.2.3' "$work/root/etc/resolv.conf"

# A hostile peer and a flooding guest: the peer sends a datagram longer than
# any frame, a runt and garbage first, and stops reading once the guest
# floods it; the guest still gets its echoes answered, its flood is slowed
# by the VMM waiting for the peer, and the VMM's memory stays bounded.
boot hostile --hostile "3 --flood 3"
check "hostile: the peer misbehaved" has hostile 'peer: sent a 70000-byte datagram, a runt'
check "hostile: the VMM dropped the over-long datagram and counted it" \
	has hostile 'dropped from the peer: 1 too long'
check "hostile: the guest flooded the peer" has hostile 'netguest: flooded [1-9][0-9]* datagrams'
check "hostile: the peer stopped reading" has hostile "peer: the guest's flood began"
check "hostile: the VMM waited for the peer rather than buffer" \
	has hostile 'waited [1-9][0-9]* times for the backend'
beyond=$(sed -n 's/.*VMM beyond guest RAM \([0-9]*\) KiB.*/\1/p' "$work/hostile.log")
check "hostile: the VMM used ${beyond:-?} KiB beyond guest RAM, at most 65536" \
	[ "${beyond:-999999}" -le 65536 ]

[ $failures = 0 ] || fail "$failures checks failed"
echo "net-unixgram: all checks passed"
