#!/usr/bin/env bash
# The krun tool end to end: a busybox root on the host (tools/mkroot.sh),
# commands run in a microVM with it as the live root filesystem. Checks are
# grouped per boot (each boot costs seconds in the test host).
#
#   krun-cli.sh PROBE KRUN MKROOT
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 mkroot=$3
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/krun-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
"$mkroot" "$root" 2>/dev/null
echo "host secret" >"$work/outside"
echo "from the host" >"$root/from-host"
printf 'not a program\n' >"$root/not-executable"
chmod 644 "$root/not-executable"

failures=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}
run() { # name, expected status, krun args...
	local name=$1 want=$2
	shift 2
	timeout 120 "$krun" "$@" </dev/null >"$work/$name.out" 2>&1
	local status=$?
	tr -d '\r' <"$work/$name.out" >"$work/$name.log"
	sed "s/^/[$name] /" "$work/$name.log"
	check "$name: exit status $want (got $status)" [ "$status" = "$want" ]
}
has() { grep -q -- "$2" "$work/$1.log"; }
lacks_escape() { ! grep -q ESCAPED "$work/escape.log"; }

run basics 3 --cpus 4 --mem 512 --env GREETING=hello --workdir /tmp "$root" \
	sh -c 'echo "cpus=$(nproc)"; echo "greeting=$GREETING"; echo "pwd=$(pwd)";
	       echo "host file: $(cat /from-host)"; echo "from the guest" >/from-guest;
	       mkdir /made-in-guest && mv /from-guest /made-in-guest/renamed; exit 3'
check "basics: 4 vCPUs" has basics '^cpus=4$'
check "basics: environment" has basics '^greeting=hello$'
check "basics: working directory" has basics '^pwd=/tmp$'
check "basics: host file seen in the guest" has basics '^host file: from the host$'
check "basics: guest's file on the host" grep -qx 'from the guest' "$root/made-in-guest/renamed"

run not-found 127 "$root" /no/such/program
run not-executable 126 "$root" /not-executable
run killed 137 "$root" sh -c 'kill -9 $$'

run escape 0 "$root" sh -c '
	cat /../outside 2>/dev/null && echo "ESCAPED via .."
	ln -s ../outside /up && cat /up 2>/dev/null && echo "ESCAPED via a relative symlink"
	ln -s '"$work"'/outside /abs && cat /abs 2>/dev/null && echo "ESCAPED via an absolute symlink"
	echo overwritten >/../outside 2>/dev/null
	cd / && cd .. && pwd
	echo done'
check "escape: nothing outside the root was read" lacks_escape
check "escape: the file beside the root is untouched" grep -qx 'host secret' "$work/outside"

[ $failures = 0 ] && echo PASS || exit 1
