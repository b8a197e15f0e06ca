#!/usr/bin/env bash
# testhost/run end to end: output and exit status of a command, the working
# directory shared read-write, the tmpfs scratch, and the failure paths (a
# hanging command, QEMU missing, no usable /dev/kvm, a test host that never
# starts CMD, one that freezes or spins under CMD) ending with a clear message
# instead of a hang.
#
#   testhost-run.sh REPO_ROOT WORK_DIR
set -uo pipefail
run=$1/testhost/run
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
expect() { # description, expected status, actual status, output, expected output pattern
	if [ "$3" != "$2" ] || ! grep -q -- "$5" <<<"$4"; then
		echo "FAIL: $1: status $3 (wanted $2), output:" >&2
		echo "$4" >&2
		failures=$((failures + 1))
	else
		echo "ok: $1"
	fi
}

start=$(date +%s.%N)
out=$("$run" sh -c 'echo "to stdout"; echo "to stderr" >&2; pwd; exit 7' 2>&1)
expect "exit status and output" 7 $? "$out" "^to stdout$"
expect "stderr streamed" 7 7 "$out" "^to stderr$"
expect "runs in the calling directory" 7 7 "$out" "^$work$"
echo "one command in the test host took $(echo "$(date +%s.%N) - $start" | bc) s"

out=$("$run" sh -c 'echo written-inside >result && mkfifo $TESTHOST_SCRATCH/fifo && test -p $TESTHOST_SCRATCH/fifo && test -c /dev/kvm && echo scratch-ok' 2>&1)
expect "scratch tmpfs and /dev/kvm" 0 $? "$out" "^scratch-ok$"
expect "files come back" 0 0 "$(cat result 2>&1)" "^written-inside$"

flock "$work/lock" sleep 5 &
sleep 1
out=$(TESTHOST_LOCK=$work/lock "$run" echo after-the-other 2>&1)
expect "one test host at a time" 0 $? "$out" "waiting for another test host"
expect "runs once the other ended" 0 0 "$out" "^after-the-other$"
wait

out=$("$run" --timeout 10 sleep 1000 2>&1)
expect "a hanging command is cut off" 124 $? "$out" "did not finish within 10 s"

out=$(TESTHOST_QEMU=/nonexistent/qemu-system-x86_64 "$run" true 2>&1)
expect "QEMU missing" 125 $? "$out" "not found: apt-get install qemu-system-x86"

out=$(TESTHOST_CPU=max,-svm "$run" true 2>&1)
expect "no usable /dev/kvm" 125 $? "$out" "no /dev/kvm inside the test host"

# a "QEMU" that boots nothing stands for a test host stuck before CMD
printf '#!/bin/sh\nexec sleep 1000\n' >stuck-qemu && chmod +x stuck-qemu
out=$(TESTHOST_QEMU=$work/stuck-qemu TESTHOST_START_LIMIT=10 "$run" true 2>&1)
expect "a stuck test host is replaced, then given up" 125 $? "$out" "attempt 3 of 3"
expect "a stuck test host is named" 125 125 "$out" "no sign of CMD after 10 s"

# one that starts CMD, then neither beats nor uses CPU: a frozen test host
cat >frozen-qemu <<'EOF'
#!/bin/sh
for arg; do case $arg in *id=ctl,path=*) ctl=${arg#*id=ctl,path=}; ctl=${ctl%%,*} ;; esac; done
: >"$ctl/started"
exec sleep 1000
EOF
chmod +x frozen-qemu
out=$(TESTHOST_QEMU=$work/frozen-qemu TESTHOST_STALL_LIMIT=10 "$run" true 2>&1)
expect "a frozen test host is stopped, for the caller to retry" 98 $? "$out" "frozen (no heartbeat for 10 s"

# one that starts CMD, then spins without a heartbeat (a broken kernel)
sed 's/^exec sleep 1000$/while :; do :; done/' frozen-qemu >spinning-qemu && chmod +x spinning-qemu
# (the idle limit out of reach: on a loaded machine the spinning may look idle)
out=$(TESTHOST_QEMU=$work/spinning-qemu TESTHOST_STALL_LIMIT=1000 TESTHOST_BUSY_STALL_LIMIT=20 "$run" true 2>&1)
expect "a busy test host without a heartbeat is stopped too" 98 $? "$out" "frozen (no heartbeat for 20 s"

[ $failures = 0 ] && echo PASS || exit 1
