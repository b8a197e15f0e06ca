#!/usr/bin/env bash
# A network interface end to end over a stream socket to Debian's passt,
# started as crun starts it (passt -f --fd N): the init configures eth0 by
# DHCP from passt; the guest (netfetch.c) fetches a 4 MiB file over HTTP
# from a server on the host's loopback (passt takes the gateway's address
# there) and checks its size and cksum; then the host reaches a server in
# the guest through passt's forward of port 8080. All in a network
# namespace of the test's own, whose one route passt needs goes through a
# tap nobody reads (the test host's kernel has no dummy interface).
#
#   net-passt.sh PROBE NET_CLIENT NETFETCH
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2 netfetch=$3
require_hardware_kvm "$probe"
command -v passt >/dev/null || fail "passt is not installed (Debian's passt package)"

unchroot_for_passt "$0" "$@"

scratch_netns net-passt
passt_netns "$ns" || fail "cannot make the network namespace $ns"
mkdir -p "$work/root/etc" "$work/www" && cp "$netfetch" "$work/root/netfetch" &&
	head -c $((4 << 20)) /dev/urandom >"$work/www/blob" || fail "cannot make the root in $work"
want=$(cksum <"$work/www/blob" | awk '{ print $2 " bytes, cksum " $1 }')
# (not through in_ns: $! must be the server itself, and it must not hold
# the test's output open)
ip netns exec "$ns" busybox httpd -f -p 127.0.0.1:8000 -h "$work/www" </dev/null >/dev/null 2>&1 &
httpd=$!

vmm_timeout 180 ip netns exec "$ns" "$client" --passt "-t 8080" "$work/root" /netfetch 8000 /blob 8080 \
	>"$work/out" 2>&1 &
vmm=$!
# the guest says when it listens; then the host connects through passt
await_line "$work/out" 'netfetch: listening on 8080' $vmm 120
in_ns timeout 30 busybox nc 127.0.0.1 8080 </dev/null >"$work/from-guest" 2>&1
wait $vmm
status=$?
tr -d '\r' <"$work/out" >"$work/log"
sed 's/^/[passt] /' "$work/log"

has() { grep -q -- "$1" "$work/log"; }
check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "DHCP from passt gave eth0 the namespace's address" has 'netfetch: eth0 10.0.0.1$'
check "the guest fetched the host's file whole ($want)" has "netfetch: fetched $want$"
check "the host reached the guest's server" grep -qx 'hello from the guest' "$work/from-guest"
check "the VMM counted frames both ways" \
	has 'net eth0 (unixstream): received [1-9][0-9]* frames ([0-9]* bytes, [0-9]* over several buffers), sent [1-9]'
[ $failures = 0 ] || fail "$failures checks failed"
echo "net-passt: all checks passed"
