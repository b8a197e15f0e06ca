# Shared by the boot tests: they need a /dev/kvm that runs standard guests at
# hardware speed (real hardware, or inside testhost/run). Elsewhere they fail
# loudly instead of hanging or skipping.
require_hardware_kvm() { # PROBE
	local out
	if ! out=$("$1"); then
		echo "FAIL: this /dev/kvm cannot run a standard guest at usable speed ($out);" \
			"run the boot tests through testhost/run" >&2
		exit 1
	fi
	echo "kvm: $out"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# describe_threads PID: each thread of PID's children (the VMM under
# timeout): name, state, kernel wait channel, CPU ticks used in one second,
# and its stack.
describe_threads() {
	local child task
	for child in $(pgrep -P "$1"); do
		declare -A before=()
		for task in /proc/"$child"/task/*; do
			before[$task]=$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null)
		done
		sleep 1
		for task in /proc/"$child"/task/*; do
			echo "thread $(cat "$task/comm" 2>/dev/null): state $(awk '{print $3}' "$task/stat" 2>/dev/null)," \
				"in $(cat "$task/wchan" 2>/dev/null), $(($(awk '{print $14 + $15}' "$task/stat" 2>/dev/null) - ${before[$task]:-0})) ticks in 1 s"
		done
		# where each thread is, when gdb is there to say
		command -v gdb >/dev/null &&
			timeout -k 2 15 gdb -p "$child" -batch -nx -ex 'thread apply all bt 12' 2>&1 |
			grep -E '^(Thread|#)'
	done
}

# vmm_timeout SECONDS CMD...: timeout's, but a VMM still running a fifth of
# SECONDS before the end is described first (describe_threads, on stderr),
# so that a hang says whether its vCPUs spin or sleep, and where.
vmm_timeout() {
	local seconds=$1 pid watcher status margin=$(($1 / 5))
	shift
	timeout "$seconds" "$@" &
	pid=$!
	# The sleep holds none of the caller's fds, and goes with the watcher:
	# left running, it would keep a pipe the caller reads open past the VMM
	# (a reader would then wait for its end of file until the sleep ends).
	(
		# jobs -p: the sleep, even when TERM comes before $! is read
		trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
		sleep $((seconds - margin)) </dev/null >/dev/null 2>&1 &
		wait $! || exit 0
		echo "still running after $((seconds - margin)) s:" >&2
		describe_threads "$pid" >&2
	) &
	watcher=$!
	wait "$pid"
	status=$?
	kill "$watcher" 2>/dev/null
	wait "$watcher" 2>/dev/null
	return $status
}
