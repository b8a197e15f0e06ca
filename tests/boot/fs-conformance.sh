#!/usr/bin/env bash
# POSIX filesystem conformance on the virtio-fs root: fsconform (a static
# program) runs in a microVM whose root, served by our FUSE server, holds only
# fsconform itself (the guest init is served from memory), and prints one
# TAP-like line per check.
#
#   fs-conformance.sh PROBE KRUN FSCONFORM
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 fsconform=$3
require_hardware_kvm "$probe"

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks fifos, sockets,
# renameat2 flags and fallocate, which are checked here.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/fs-conformance.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir "$root" && cp "$fsconform" "$root/fsconform" || fail "cannot make the root in $root"

# Two vCPUs, so that both request queues (one per vCPU) and their workers
# serve. Streamed line by line (sed -u: tr would hold the last 4 KiB back),
# so a slow or stuck run shows how far it got. About 12 s in
# an idle test host; minutes while the machine under it is busy (seen: 220 s).
start=$(date +%s)
vmm_timeout 480 "$krun" --cpus 2 "$root" /fsconform </dev/null 2>&1 | sed -u 's/\r$//' | tee "$work/log"
status=${PIPESTATUS[0]}
echo "fsconform run: $(($(date +%s) - start)) s"

summary=$(grep -E '^fsconform: [0-9]+/[0-9]+ passed' "$work/log" | tail -n 1)
[ -n "$summary" ] || fail "no fsconform summary (VM exit status $status)"
grep '^skip ' "$work/log" | sed 's/^/SKIPPED: /'
failed=$(grep -c '^not ok ' "$work/log")
echo "pass count: ${summary#fsconform: }"
[ "$status" = 0 ] || fail "fsconform exited with status $status ($failed checks failed)"
[ "$failed" = 0 ] || fail "$failed checks failed"
echo PASS
