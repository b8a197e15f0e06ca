#!/usr/bin/env bash
# TSI's listeners, guest kernel (kernel/patches, net/tsi/listen.c) and VMM
# together, in a VM made through the C API as crun makes it (tsi_host.c
# vm: no network device, krun_add_vsock with KRUN_TSI_HIJACK_INET) with the
# port map "7410:7310". The guest (tsilisten.c) serves on 7310 and listens
# on the unmapped 7311; the host's clients (tsi_host.c client) reach 7310
# through the host's 127.0.0.1:7410 and never see 7311. Checks a
# non-blocking accept4 with nothing pending, the guest reaching its own
# server on 127.0.0.1, poll's POLLIN, the accepted socket's peer against
# the host client's own address, 1 MiB each way with sums at both ends,
# close and listen again, and 50 host clients held at once.
#
#   tsi-listen.sh PROBE TSILISTEN TSI_HOST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 guest=$2 host=$3
require_hardware_kvm "$probe"

tsi_scratch tsi-listen "$guest"

"$host" client "$work/root" >"$work/client.log" 2>&1 &
client=$!
pids+=($client)
start=$SECONDS
vmm_timeout 400 "$host" vm "$work/root" /tsilisten 7410:7310 >"$work/vm.out" 2>&1
status=$?
wait "$client"
client_status=$?
tr -d '\r' <"$work/vm.out" >"$work/vm.log"
sed 's/^/[vm] /' "$work/vm.log"
sed 's/^/[client] /' "$work/client.log"
echo "the VM ran for $((SECONDS - start)) s"

has() { grep -q -- "$2" "$work/$1.log"; }
field() { sed -n "s/$2/\1/p" "$work/$1.log" | head -n 1; }

check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the host clients' exit status is 0 (got $client_status)" [ "$client_status" = 0 ]
check "the VMM turned TSI on (tsi.hijack=inet)" has vm 'tsi.hijack is inet$'
check "a non-blocking accept4 with nothing pending: EAGAIN" \
	has vm 'accept4 with nothing pending: Resource temporarily unavailable'
check "the guest reached its own server on 127.0.0.1" \
	has vm 'the guest reached its own server from 127.0.0.1:'
check "the unmapped guest listener: refused, and no host listener there" \
	has client 'unmapped port 7311: Connection refused, no listener in /proc/net/tcp'
check "the published port listens on the host" \
	has client 'published port 7410: a listener in /proc/net/tcp'
check "poll on the listener: POLLIN for the host client" \
	has vm 'poll on the listener: 1, revents 0x1$'
g_port=$(field vm '^tsilisten: accepted a host client from 127.0.0.1:\([0-9]*\), its socket 127.0.0.1:7310$')
c_port=$(field client '^client: connected from port \([0-9]*\)$')
check "getpeername of the accepted socket is the host client's address (ports $g_port, $c_port)" \
	[ -n "$g_port" -a "$g_port" = "$c_port" ]
c_sent=$(field client '^client: sent 1048576 bytes, sum \([0-9a-f]*\)$')
g_got=$(field vm '^tsilisten: received 1048576 bytes, sum \([0-9a-f]*\)$')
check "1 MiB host to guest, sums $c_sent, $g_got" [ -n "$c_sent" -a "$c_sent" = "$g_got" ]
check "and the guest's answer reached the host" has client "the guest said got 1048576 $g_got"
g_sent=$(field vm '^tsilisten: sent 1048576 bytes, sum \([0-9a-f]*\)$')
c_got=$(field client '^client: received 1048576 bytes, sum \([0-9a-f]*\)$')
check "1 MiB guest to host, sums $g_sent, $c_got" [ -n "$g_sent" -a "$g_sent" = "$c_got" ]
check "closed, then listening again: reachable again" \
	eval "has vm 'reachable again after close and listen' && has client '1 of 1 clients answered'"
check "50 host clients held at once, all answered" \
	eval "has vm '50 host clients accepted' && has client '50 of 50 clients answered'"
check "the VMM: no connect (the guest's own stayed in the guest), the listener published twice, the unmapped one not, no second stream for a second listen(), 52 connections held and accepted" \
	has vm 'vsock TSI: 0 connects, .*; listeners 2 published, 1 not; host connections 52 held, 52 accepted, 0 expired, 0 unknown ids'

[ $failures = 0 ] || fail "$failures checks failed"
echo "tsi-listen: all checks passed"
