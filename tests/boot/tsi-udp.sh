#!/usr/bin/env bash
# TSI's UDP, guest kernel (kernel/patches, net/tsi/dgram.c) and VMM
# together, in a VM made through the C API as crun makes it (tsi_host.c
# vm, no network device) with the port map "7421:7321/udp". The guest
# (tsiudp.c) talks to the host's echo on 127.0.0.1:7320 with sendto and
# with connect + send, reads a datagram longer than its buffer, and
# answers a host client that reached its socket on 7321 through the host's
# 127.0.0.1:7421.
#
#   tsi-udp.sh PROBE TSIUDP TSI_HOST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 guest=$2 host=$3
require_hardware_kvm "$probe"

tsi_scratch tsi-udp "$guest"

"$host" udp-echo >"$work/echo.log" 2>&1 &
pids+=($!)
"$host" udp-client "$work/root" >"$work/client.log" 2>&1 &
client=$!
pids+=($client)
vmm_timeout 300 "$host" vm "$work/root" /tsiudp 7421:7321/udp >"$work/vm.out" 2>&1
status=$?
wait "$client"
client_status=$?
tr -d '\r' <"$work/vm.out" >"$work/vm.log"
sed 's/^/[vm] /' "$work/vm.log"
sed 's/^/[echo] /' "$work/echo.log"
sed 's/^/[client] /' "$work/client.log"

has() { grep -q -- "$2" "$work/$1.log"; }

check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the host client's exit status is 0 (got $client_status)" [ "$client_status" = 0 ]
check "a non-blocking recv with nothing there: EAGAIN" \
	has vm 'recv with nothing there: Resource temporarily unavailable'
check "sendto reached the host's echo, whose answer came from 127.0.0.1:7320" \
	eval "has vm '6 bytes from 127.0.0.1:7320$' && has vm 'sendto answered'"
check "a datagram longer than the buffer: MSG_TRUNC, its whole length" \
	has vm '1000 bytes from 127.0.0.1:7320, MSG_TRUNC'
check "connect and send reached the echo" has vm 'connect and send answered'
check "the published port took the host client's datagram" has vm 'the host client said "hello"'
check "the answer reached the host client from the published port" \
	has client '"hi" from 127.0.0.1:7421'
check "the VMM: three datagram sockets, four datagrams each way, none dropped" \
	has vm 'datagram sockets 3, datagrams 4 out, 4 in, 0 dropped, 0 bad frames'

[ $failures = 0 ] || fail "$failures checks failed"
echo "tsi-udp: all checks passed"
