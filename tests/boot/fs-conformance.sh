#!/usr/bin/env bash
# POSIX filesystem conformance on the virtio-fs root: fsconform (a static
# program) runs in a microVM whose root is a busybox root served by our FUSE
# server, and prints one TAP-like line per check.
#
#   fs-conformance.sh PROBE KRUN MKROOT FSCONFORM
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 mkroot=$3 fsconform=$4
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks fifos, sockets,
# renameat2 flags and fallocate, which are checked here.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/fs-conformance.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
"$mkroot" "$root" 2>/dev/null || fail "mkroot.sh failed"
cp "$fsconform" "$root/fsconform" || fail "cannot copy $fsconform"

# streamed, so a slow or stuck run shows how far it got
timeout 240 "$krun" --cpus 2 "$root" /fsconform </dev/null 2>&1 | tr -d '\r' | tee "$work/log"
status=${PIPESTATUS[0]}

summary=$(grep -E '^fsconform: [0-9]+/[0-9]+ passed' "$work/log" | tail -n 1)
[ -n "$summary" ] || fail "no fsconform summary (VM exit status $status)"
grep '^skip ' "$work/log" | sed 's/^/SKIPPED: /'
failed=$(grep -c '^not ok ' "$work/log")
echo "pass count: ${summary#fsconform: }"
[ "$status" = 0 ] || fail "fsconform exited with status $status ($failed checks failed)"
[ "$failed" = 0 ] || fail "$failed checks failed"
echo PASS
