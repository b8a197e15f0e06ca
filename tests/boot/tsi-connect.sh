#!/usr/bin/env bash
# TSI's TCP streams, the guest kernel's side (kernel/patches, net/tsi): the
# guest (tsiguest.c) turns tsi.hijack=inet on and uses ordinary TCP sockets;
# those for the host's 127.0.0.1 reach the host's server (tsi_host.c
# server) through the VMM's TSI endpoint, in a VM made through the C API
# as crun makes it (tsi_host.c vm: no network device, krun_add_vsock with
# KRUN_TSI_HIJACK_INET, which puts tsi.hijack=inet on the kernel's command
# line). Checks the 64 MiB fetch's sum at both ends, the socket's
# names against what the host saw, ECONNREFUSED by poll and SO_ERROR, a
# half-close the host reads as end of file and answers, the v4-mapped
# peer of an AF_INET6 socket, 1 MiB fetched from the host's ::1, and
# that the guest's own listener on 127.0.0.1, a ping socket and UDP stay
# in the guest (the host's listener on that port sees no connection, the
# VMM's TSI counts only the five connects to the host; the guest's
# listen() is offered to it, not published: no port map).
#
# Then the krun tool with no network option: its implicit vsock device
# carries TSI, as libkrun's does, and the same fetch reaches the host.
#
#   tsi-connect.sh PROBE TSIGUEST TSI_HOST KRUN
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 guest=$2 host=$3 krun=$4
require_hardware_kvm "$probe"

tsi_scratch tsi-connect "$guest"

"$host" server >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q 'listening' "$work/server.log" && break; sleep 0.1; done

vmm_timeout 400 "$host" vm "$work/root" /tsiguest >"$work/vm.out" 2>&1
status=$?
sleep 0.5
tr -d '\r' <"$work/vm.out" >"$work/vm.log"
sed 's/^/[vm] /' "$work/vm.log"
sed 's/^/[server] /' "$work/server.log"

has() { grep -q -- "$2" "$work/$1.log"; }
field() { sed -n "s/$2/\1/p" "$work/$1.log" | head -n 1; }

check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the VMM turned TSI on (tsi.hijack=inet)" has vm 'tsi.hijack is inet$'
check "SO_DOMAIN and SO_PROTOCOL are the family's and TCP's" \
	eval "has vm 'family 2 socket: SO_DOMAIN 2 SO_PROTOCOL 6' && has vm 'family 10 socket: SO_DOMAIN 10 SO_PROTOCOL 6'"
g_sum=$(field vm '^tsiguest: fetched 67108864 bytes, sum \([0-9a-f]*\)$')
s_sum=$(field server '^server: sent 67108864 bytes, sum \([0-9a-f]*\)$')
check "64 MiB fetched whole from the host's 127.0.0.1 (sums $g_sum, $s_sum)" \
	[ -n "$g_sum" -a "$g_sum" = "$s_sum" ]
g_port=$(field vm '^tsiguest: fetch socket is 127.0.0.1:\([0-9]*\), its peer 127.0.0.1:7301$')
s_port=$(field server '^server: connection on 7301 from port \([0-9]*\)$')
check "getsockname is the host socket's, getpeername the server (ports $g_port, $s_port)" \
	[ -n "$g_port" -a "$g_port" = "$s_port" ]
check "a non-blocking connect to a closed host port: EINPROGRESS" \
	has vm 'non-blocking connect to a closed port: Operation now in progress'
check "then poll and SO_ERROR say ECONNREFUSED" has vm 'tsiguest: closed port refused'
g_echo=$(field vm '^tsiguest: sent 1048576 bytes, sum \([0-9a-f]*\), then SHUT_WR; .*$')
s_echo=$(field server '^server: end of file after 1048576 bytes, sum \([0-9a-f]*\)$')
check "after SHUT_WR the host read end of file (sums $g_echo, $s_echo)" \
	[ -n "$g_echo" -a "$g_echo" = "$s_echo" ]
check "and its answer reached the guest" has vm "the host said got 1048576 $s_echo"
check "an AF_INET6 socket's peer is v4-mapped" has vm 'AF_INET6 peer \[::ffff:127.0.0.1\]:7301'
check "an AF_INET6 socket reached the host's ::1" has vm 'AF_INET6 peer \[::1\]:7301'
g6_sum=$(field vm '^tsiguest: from \[::1\] fetched 1048576 bytes, sum \([0-9a-f]*\)$')
s6_sum=$(field server '^server: sent 1048576 bytes, sum \([0-9a-f]*\)$')
check "1 MiB fetched whole from the host's ::1 (sums $g6_sum, $s6_sum)" \
	[ -n "$g6_sum" -a "$g6_sum" = "$s6_sum" ]
check "the guest's own listener answered" has vm "the guest's own listener answered"
check "the failed socket's next connects: ECONNABORTED, then the guest's listener" \
	has vm "the failed socket reached the guest's listener"
check "the host saw no connection to the guest's listening port" \
	eval '! has server "connection on 7303"'
check "the VMM's TSI saw the five host connects only, one refused" \
	has vm 'vsock TSI: 5 connects, 4 connected, 1 failed, 0 refused, '
check "the ping socket and UDP stayed in the guest" has vm 'UDP stayed in the guest'

run_logged implicit 300 "$krun" --log-level info "$work/root" /tsiguest implicit
status=$?
check "implicit: the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "implicit: no network interface, TSI on" has implicit 'tsi.hijack=inet), implicit'
check "implicit: the guest kernel got tsi.hijack=inet" has implicit 'tsi.hijack is inet$'
i_sum=$(field implicit '^tsiguest: fetched 67108864 bytes, sum \([0-9a-f]*\)$')
check "implicit: 64 MiB fetched whole from the host's 127.0.0.1 (sum $i_sum)" \
	[ -n "$i_sum" -a "$i_sum" = "$s_sum" ]

[ $failures = 0 ] || fail "$failures checks failed"
echo "tsi-connect: all checks passed"
