#!/usr/bin/env bash
# The user-mode interface end to end (krun_add_net_user), twice: the guest,
# a busybox shell, gets 10.0.2.15/24 on eth0 (first set by itself, then
# from the stack's DHCP through the init, NET_FLAG_DHCP_CLIENT), fetches a
# file over HTTP from a server of user_client.c's on the host's 127.0.0.1
# through 10.0.2.2, then answers one connection on its port 8080, which the
# host reaches through a published port (krun_set_port_map "H:8080").
# Checks the file's digest on both sides, the line the host read, the
# lease and resolv.conf, the guest's exit status and the VMM's counters.
# No privileges, no helper process.
#
#   net-user.sh PROBE USER_CLIENT
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2
require_hardware_kvm "$probe"

# The test host's loopback may be down: the host side lives on 127.0.0.1.
if ! ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
	ip link set lo up 2>/dev/null || /bin/busybox ip link set lo up ||
		fail "the loopback interface is down and cannot be brought up"
fi

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/net-user.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/tmp" "$work/root/etc" &&
	cp /bin/busybox "$work/root/bin/busybox" &&
	head -c 4194304 /dev/urandom >"$work/payload" || fail "cannot make the root in $work"
want=$(sha256sum <"$work/payload" | cut -d' ' -f1)

failures=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -- "$1" "$work/log"; }

bb=/bin/busybox
static_setup="$bb ip link set eth0 up && $bb ip addr add 10.0.2.15/24 dev eth0 &&"
dhcp_check="$bb ip addr show eth0 | $bb grep -q 'inet 10.0.2.15/24' &&
echo 'guest: eth0 is 10.0.2.15/24' && $bb grep -q '^nameserver 10.0.2.3' /etc/resolv.conf &&
echo 'guest: resolv.conf names 10.0.2.3' &&"
fetch_and_serve="$bb wget -q -O /tmp/payload http://10.0.2.2:\$HOST_PORT/payload &&
echo \"guest: fetched sha256 \$($bb sha256sum /tmp/payload | $bb cut -d' ' -f1)\" &&
echo 'hello from the guest' | $bb nc -l -p 8080 && echo 'guest: served the host' &&
$bb sleep 1"

for mode in static dhcp; do
	if [ $mode = static ]; then
		setup=$static_setup dhcp=0
	else
		setup=$dhcp_check dhcp=1
	fi
	USER_CLIENT_DHCP=$dhcp vmm_timeout 200 "$client" "$work/root" "$work/payload" \
		$bb sh -c "$setup $fetch_and_serve" >"$work/out" 2>&1
	status=$?
	tr -d '\r' <"$work/out" >"$work/log"
	sed "s/^/[net-user $mode] /" "$work/log"
	check "$mode: the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
	[ $mode = dhcp ] && check "dhcp: the stack leased 10.0.2.15/24 and DNS 10.0.2.3" \
		has 'guest: resolv.conf names 10.0.2.3'
	check "$mode: the host's server on 127.0.0.1 served the guest through 10.0.2.2" \
		has 'host: served 4194304 bytes to GET /payload'
	check "$mode: the guest fetched the file whole (sha256 $want)" \
		has "guest: fetched sha256 $want"
	check "$mode: the host reached the guest through the published port" \
		has 'host: through 127.0.0.1:[0-9]* the guest said "hello from the guest"'
	check "$mode: the VMM counted the stack's frames" \
		has 'net eth0 (user): [1-9][0-9]* frames from the guest'
done
[ $failures = 0 ] || fail "$failures checks failed"
echo "net-user: all checks passed"
