#!/usr/bin/env bash
# How often the test host fails a boot test, as it is and with QEMU options
# that may avoid QEMU TCG's nested-SVM faults. Each run is one testhost/run
# call (it takes the test host lock for that run alone) allowed one test host
# (TESTHOST_MAX_HOSTS=1): its outcome counts as it came, nothing runs again.
# The configurations take turns run by run, so that the machine's load falls
# on all of them alike.
#
#   bench/testhost-faults.sh BUILD_DIR RUNS TEST [CONFIG...]
#   bench/testhost-faults.sh --table RESULTS
#
# TEST is a boot test's name in BUILD_DIR (vmm-boot); CONFIG is one of
# baseline, thread-single (-accel tcg,thread=single), smp1 (a 1-CPU test
# host), npt0 (kvm_amd.npt=0 in the test host), no-vgif (-cpu max,-vgif);
# all of them when none is given. Each run appends a line to RESULTS
# ($TESTHOST_FAULTS, default testhost-faults.tsv in BUILD_DIR) and keeps its
# output in RESULTS.logs/; the table of all lines in RESULTS ends the run.
# Outcomes: ok; guest-failed (the test failed, then the probe said whether
# the test host was healthy or broken, and the test's output whether its
# guest triple-faulted, sat in a state no guest can be in, hung (a boot's
# timeout), or else); frozen
# or died (the test host under the test); stuck (before it); probe-at-start
# (its nested KVM failed the speed probe); timeout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

table() { # RESULTS: one row per configuration, in the order first run
	awk -F'\t' '
	function kind(o) {
		if (o ~ /^guest-failed:.*:probe-healthy$/) return "healthy"
		if (o ~ /^guest-failed:/) return "broken"
		if (o == "frozen" || o == "died") return "froze"
		return o
	}
	{
		c = $1
		if (!(c in runs)) order[n++] = c
		runs[c]++; count[c, kind($3)]++; secs[c] += $5
		if ($3 == "ok") ok_secs[c] += $5
		else if ($3 ~ /^guest-failed:/) {
			split($3, f, ":")
			if (!((c, f[2]) in fault)) faults[c] = faults[c] SUBSEP f[2]
			fault[c, f[2]]++
		}
	}
	END {
		print "| configuration | runs | ok | test failed, test host healthy after | test failed, test host broken after | froze or died | stuck | speed probe failed at start | timeout | mean s per run (per ok run) | guest failures |"
		print "|---|---|---|---|---|---|---|---|---|---|---|"
		for (i = 0; i < n; i++) {
			c = order[i]
			m = split(substr(faults[c], 2), kinds, SUBSEP)
			said = ""
			for (k = 1; k <= m; k++)
				said = said sprintf("%s%s %d", k > 1 ? ", " : " ", kinds[k], fault[c, kinds[k]])
			printf "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %.0f (%s) |%s |\n", c, runs[c],
				count[c, "ok"], count[c, "healthy"], count[c, "broken"], count[c, "froze"],
				count[c, "stuck"], count[c, "probe-at-start"], count[c, "timeout"], secs[c] / runs[c],
				count[c, "ok"] ? sprintf("%.0f", ok_secs[c] / count[c, "ok"]) : "-", said
		}
	}' "$1"
}
if [ "${1:-}" = --table ]; then
	table "$2"
	exit
fi

[ $# -ge 3 ] || { echo "usage: bench/testhost-faults.sh BUILD_DIR RUNS TEST [CONFIG...]" >&2; exit 2; }
build=$(cd "$1" && pwd) runs=$2 test=$3
shift 3
[ $# -gt 0 ] || set -- baseline thread-single smp1 npt0 no-vgif
results=${TESTHOST_FAULTS:-$build/testhost-faults.tsv}
mkdir -p "$results.logs"
# (the test host sees the build directory: the run starts there)
cd "$build"

run_config() { # CONFIG LOG: one testhost/run, its output into LOG
	local opts=()
	case $1 in
	baseline) ;;
	thread-single) export TESTHOST_QEMU_ARGS="-accel tcg,thread=single" ;;
	smp1) opts=(--cpus 1) ;;
	npt0) export TESTHOST_KERNEL_ARGS="kvm_amd.npt=0" ;;
	no-vgif) export TESTHOST_CPU=max,-vgif ;;
	*) echo "unknown configuration $1" >&2; exit 2 ;;
	esac
	TESTHOST_MAX_HOSTS=1 "$here/testhost/run" --timeout 900 "${opts[@]}" --probe tools/kvm-speed-probe \
		--tests "$test" meson test -C "$build" --no-rebuild --print-errorlogs >"$2" 2>&1
}

outcome() { # LOG: the run's outcome, from testhost/run's lines
	local summary
	summary=$(grep '^testhost: summary: ' "$1" || true)
	case $summary in
	*"result: all "*) echo ok ;;
	*"(stuck "*) echo stuck ;;
	*"(frozen "* | *"(died "*) echo "${summary#*broken (}" | cut -d' ' -f1 ;;
	*"speed probe at its start"*) echo probe-at-start ;;
	*"did not finish in time"*) echo timeout ;;
	*)
		local verdict kind=other
		verdict=$(sed -n 's/^testhost: after .* failed, this test host is \(.*\)/\1/p' "$1" | head -n 1)
		if grep -q 'triple fault' "$1"; then kind=triple-fault
		elif grep -q 'a state the guest cannot be in' "$1"; then kind=impossible-state
		elif grep -q 'exit status 124 after' "$1"; then kind=boot-hung
		fi
		echo "guest-failed:$kind:probe-${verdict:-none}"
		;;
	esac
}

# The test host lock, taken here for each run so that its time is the test
# host's alone, not the wait for it; testhost/run gets a lock of its own.
lock=${TESTHOST_LOCK:-/tmp/libkrun-c-testhost.lock}
for i in $(seq "$runs"); do
	for config in "$@"; do
		log=$results.logs/$config-$(date +%Y%m%d-%H%M%S).log
		exec {lock_fd}>>"$lock"
		flock "$lock_fd"
		start=$(date +%s.%N)
		(TESTHOST_LOCK=$results.lock run_config "$config" "$log") {lock_fd}>&- || true
		seconds=$(echo "$(date +%s.%N) - $start" | bc)
		exec {lock_fd}>&-
		printf '%s\t%s\t%s\t%s\t%.0f\n' "$config" "$i" "$(outcome "$log")" "$(date +%T)" "$seconds" >>"$results"
		tail -n 1 "$results"
	done
done
table "$results"
