#!/usr/bin/env bash
# testhost/run end to end: output and exit status of a command, the working
# directory shared read-write, the tmpfs scratch, and the failure paths (a
# hanging command, QEMU missing, no usable /dev/kvm, a test host that never
# starts CMD, one that freezes or spins under CMD) ending with a clear message
# instead of a hang; its policy with fake test hosts (a test that fails once,
# or twice, in a healthy test host; one whose test host fails the probe, at
# its start or after the test), and the real probe after a failed test.
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
out=$("$run" sh -c 'echo "to stdout"; echo "to stderr" >&2; pwd
	echo written-inside >result && mkfifo $TESTHOST_SCRATCH/fifo && test -p $TESTHOST_SCRATCH/fifo &&
		test -c /dev/kvm && echo scratch-ok
	exit 7' 2>&1)
expect "exit status and output" 7 $? "$out" "^to stdout$"
expect "stderr streamed" 7 7 "$out" "^to stderr$"
expect "runs in the calling directory" 7 7 "$out" "^$work$"
expect "scratch tmpfs and /dev/kvm" 7 7 "$out" "^scratch-ok$"
expect "files come back" 7 7 "$(cat result 2>&1)" "^written-inside$"
echo "one command in the test host took $(echo "$(date +%s.%N) - $start" | bc) s"

out=$(TESTHOST_QEMU=/nonexistent/qemu-system-x86_64 "$run" true 2>&1)
expect "QEMU missing" 125 $? "$out" "not found: apt-get install qemu-system-x86"

out=$(TESTHOST_CPU=max,-svm "$run" true 2>&1)
expect "no usable /dev/kvm" 125 $? "$out" "no /dev/kvm inside the test host"

# Fake test hosts, for the lock, the timeout and the failure paths: a "QEMU"
# that boots nothing is a test host stuck before CMD; fake-qemu runs CMD right
# here, as a healthy test host would, with fake-bin first in PATH: the known-good guest's "QEMU"
# there fails once for each line in probe-fails. The speed probe fails once
# for each line in speed-fails.
# (each with a lock of its own: none of them is a real test host)
printf '#!/bin/sh\nexec sleep 1000\n' >stuck-qemu && chmod +x stuck-qemu
export TESTHOST_LOCK=$work/fake-lock
ctl_of_args='for arg; do case $arg in *id=ctl,path=*) ctl=${arg#*id=ctl,path=}; ctl=${ctl%%,*} ;; esac; done'
cat >fake-qemu <<EOF
#!/bin/bash
$ctl_of_args
: >"\$ctl/started"
(. "\$ctl/env"; export TESTHOST_CTL=\$ctl PATH=$work/fake-bin:\$PATH; exec bash "\$ctl/cmd") </dev/null
echo \$? >"\$ctl/status"
EOF
chmod +x fake-qemu
flock "$work/lock" sleep 5 &
sleep 1
out=$(TESTHOST_QEMU=$work/fake-qemu TESTHOST_LOCK=$work/lock "$run" echo after-the-other 2>&1)
expect "one test host at a time" 0 $? "$out" "waiting for another test host"
expect "runs once the other ended" 0 0 "$out" "^after-the-other$"
wait

out=$(TESTHOST_QEMU=$work/fake-qemu "$run" --timeout 10 sleep 1000 2>&1)
expect "a hanging command is cut off" 124 $? "$out" "did not finish within 10 s"

fails_once_per_line() { # FILE: true (and one line fewer) while FILE has a line
	[ -s "$1" ] && sed -i 1d "$1"
}
mkdir -p fake-bin
cat >fake-bin/qemu-system-x86_64 <<EOF
#!/bin/bash
$(declare -f fails_once_per_line)
fails_once_per_line $work/probe-fails && { echo "the known-good guest did not start"; exit 1; }
echo "testhost probe: the known-good guest ran its init, CPUs 0-1"
EOF
cat >speed-probe <<EOF
#!/bin/bash
$(declare -f fails_once_per_line)
fails_once_per_line $work/speed-fails && { echo "emulated: the probe guest did not stop within 60 s"; exit 1; }
echo "hardware-speed 0.0040 s for 1000000 iterations"
EOF
# a test: NAME passes, unless a line of test-fails is NAME (taken once)
cat >fake-test <<EOF
#!/bin/bash
echo "\$1" >>$work/tests-run
grep -qx "\$1" $work/test-fails 2>/dev/null || exit 0
sed -i "0,/^\$1\\\$/{//d}" $work/test-fails
echo "\$1: FAIL"
exit 1
EOF
chmod +x fake-bin/qemu-system-x86_64 speed-probe fake-test
lines() { # WORD...: one a line
	[ $# = 0 ] || printf '%s\n' "$@"
}
fake_run() { # FAILING TESTS, SPEED PROBE FAILURES, PROBE FAILURES: testhost/run a b c
	# (the tests named one a line, as test.sh names them)
	lines $1 >test-fails
	lines $2 >speed-fails
	lines $3 >probe-fails
	: >tests-run
	TESTHOST_QEMU=$work/fake-qemu "$run" --probe "$work/speed-probe" --tests "$(lines a b c)" "$work/fake-test" 2>&1
}
runs() { tr "\n" " " <tests-run | sed "s/ $//"; } # the tests run, in order

out=$(fake_run "b" "" "")
expect "a test failing once in a healthy test host passes on its second run" 0 $? "$out" \
	"tests run again: b (passed on its second run); result: all 3 test(s) passed"
expect "only that test runs again, in a new test host" 0 0 "$(runs)" "^a b c b$"
expect "the test host was probed after the failure" 0 0 "$out" "after b failed, this test host is healthy"
expect "the summary counts the test hosts" 0 0 "$out" "summary: 2 test host(s) started, 0 broken (none), 1 to run failed tests again"

out=$(fake_run "b b" "" "")
expect "a test failing in two healthy test hosts fails the run" 1 $? "$out" "result: FAILED: b"
expect "and says that it is ours" 1 1 "$out" "FAILED: b failed twice, .* a bug of ours, not the test host's"
expect "the others ran once" 1 1 "$(runs)" "^a b c b$"

out=$(fake_run "b" "" "x")
expect "a test host that fails the probe after a test failed is replaced" 0 $? "$out" \
	"1 broken (the probe failed after b failed)"
expect "the test and those after it run in the new one" 0 0 "$(runs)" "^a b b c$"
expect "a test failing in a broken test host is not counted" 0 0 "$out" "tests run again: none"

# last session's hostile-guest run: two test hosts failed the speed probe at
# their start, then the test failed once in a healthy one; it must still get
# its second run
out=$(fake_run "a" "x x" "")
expect "test hosts replaced at the start leave the test its second run" 0 $? "$out" \
	"4 test host(s) started, 2 broken (its nested KVM failed the speed probe at its start, its nested KVM failed the speed probe at its start), 1 to run failed tests again"

: >tests-run
out=$(TESTHOST_QEMU=$work/fake-qemu "$run" --probe "$work/speed-probe" \
	sh -c 'echo ran >>tests-run; exit 7' 2>&1)
expect "a command's own status is final" 7 $? "$out" "result: the command's status: 7"
expect "a failed command does not run again" 7 7 "$(runs)" "^ran$"

out=$(TESTHOST_QEMU=$work/stuck-qemu TESTHOST_START_LIMIT=5 TESTHOST_MAX_HOSTS=2 "$run" true 2>&1)
expect "a stuck test host is replaced, then given up" 125 $? "$out" "giving up after 2 test hosts"
expect "a stuck test host is named" 125 125 "$out" "no sign of CMD after 5 s"
expect "the summary says why" 125 125 "$out" "2 broken (stuck before starting, stuck before starting)"

# one that starts CMD, then neither beats nor uses CPU: a frozen test host;
# once frozen, fake-qemu's after it
cat >frozen-qemu <<EOF
#!/bin/bash
$ctl_of_args
[ -e $work/froze ] && exec $work/fake-qemu "\$@"
: >$work/froze
: >"\$ctl/started"
exec sleep 1000
EOF
chmod +x frozen-qemu
rm -f froze
out=$(TESTHOST_QEMU=$work/frozen-qemu TESTHOST_STALL_LIMIT=5 "$run" sh -c 'echo ran >tests-run' 2>&1)
expect "a frozen test host is stopped and replaced" 0 $? "$out" "frozen (no heartbeat for 5 s"
expect "the command runs in the next" 0 0 "$(runs)" "^ran$"
expect "the summary says why" 0 0 "$out" "1 broken (frozen under command)"

# one that starts CMD, then spins without a heartbeat (a broken kernel)
cat >spinning-qemu <<EOF
#!/bin/bash
$ctl_of_args
: >"\$ctl/started"
while :; do :; done
EOF
chmod +x spinning-qemu
# (the idle limit out of reach: on a loaded machine the spinning may look idle)
out=$(TESTHOST_QEMU=$work/spinning-qemu TESTHOST_STALL_LIMIT=1000 TESTHOST_BUSY_STALL_LIMIT=10 \
	TESTHOST_MAX_HOSTS=1 "$run" true 2>&1)
expect "a busy test host without a heartbeat is stopped too" 125 $? "$out" "frozen (no heartbeat for 10 s"

# the real probe, in real test hosts: a test that always fails (a test
# host that then fails the probe, as one did here, is replaced)
unset TESTHOST_LOCK
out=$("$run" --tests 'always-fails' sh -c 'exit 3' 2>&1)
expect "a real test host passes the probe after a failed test" 1 $? "$out" \
	"testhost probe: the known-good guest ran its init"
expect "and the test fails in a second healthy one" 1 1 "$out" \
	"tests run again: always-fails (failed again: ours); result: FAILED: always-fails"

[ $failures = 0 ] && echo PASS || exit 1
