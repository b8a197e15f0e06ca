#!/usr/bin/env bash
# The user-mode interface end to end (krun_add_net_user): the guest, a
# busybox shell, brings eth0 up as 10.0.2.15/24 itself, fetches a file over
# HTTP from a server of user_client.c's on the host's 127.0.0.1 through
# 10.0.2.2, then answers one connection on its port 8080, which the host
# reaches through a published port (krun_set_port_map "H:8080"). Checks the
# file's digest on both sides, the line the host read, the guest's exit
# status and the VMM's counters. No privileges, no helper process.
#
#   net-user.sh PROBE USER_CLIENT
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/net-user.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/tmp" && cp /bin/busybox "$work/root/bin/busybox" &&
	head -c 4194304 /dev/urandom >"$work/payload" || fail "cannot make the root in $work"
want=$(sha256sum <"$work/payload" | cut -d' ' -f1)

bb=/bin/busybox
script="$bb ip link set eth0 up && $bb ip addr add 10.0.2.15/24 dev eth0 &&
$bb wget -q -O /tmp/payload http://10.0.2.2:\$HOST_PORT/payload &&
echo \"guest: fetched sha256 \$($bb sha256sum /tmp/payload | $bb cut -d' ' -f1)\" &&
echo 'hello from the guest' | $bb nc -l -p 8080 && echo 'guest: served the host'"
vmm_timeout 240 "$client" "$work/root" "$work/payload" $bb sh -c "$script" >"$work/out" 2>&1
status=$?
tr -d '\r' <"$work/out" >"$work/log"
sed 's/^/[net-user] /' "$work/log"

failures=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}
has() { grep -q -- "$1" "$work/log"; }
check "the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
check "the host's server on 127.0.0.1 served the guest through 10.0.2.2" \
	has 'host: served 4194304 bytes to GET /payload'
check "the guest fetched the file whole (sha256 $want)" has "guest: fetched sha256 $want"
check "the host reached the guest through the published port" \
	has 'host: through 127.0.0.1:[0-9]* the guest said "hello from the guest"'
check "the VMM counted the stack's frames" has 'net eth0 (user): [1-9][0-9]* frames from the guest'
[ $failures = 0 ] || fail "$failures checks failed"
echo "net-user: all checks passed"
