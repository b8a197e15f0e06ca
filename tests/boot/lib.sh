# Shared by the boot tests and bench/net.sh: they need a /dev/kvm that runs
# standard guests at hardware speed (real hardware, or inside testhost/run).
# Elsewhere they fail loudly instead of hanging or skipping.
require_hardware_kvm() { # PROBE
	local out
	if ! out=$("$1"); then
		echo "FAIL: this /dev/kvm cannot run a standard guest at usable speed ($out);" \
			"run the boot tests through testhost/run" >&2
		exit 1
	fi
	echo "kvm: $out"
}

# passt isolates itself in a user namespace, which the kernel refuses to a
# chrooted process, as the test host's command is (testhost/init): there
# the calling script (SCRIPT, an absolute path) runs again, once, with its
# arguments, in a mount namespace of its own whose root the test host's
# root (PID 1's /host) was moved over, as switch_root does.
unchroot_for_passt() { # SCRIPT [ARG...]
	if [ -n "${KRUN_UNCHROOTED:-}" ] || unshare -U true 2>/dev/null; then
		return 0
	fi
	exec nsenter -t 1 -m -r -- /bin/busybox unshare -m -- /bin/busybox sh -c \
		'cd /host && /bin/busybox mount --move /host / && dir=$1 && shift &&
		 exec /bin/busybox chroot . /usr/bin/env -C "$dir" KRUN_UNCHROOTED=1 "$@"' \
		sh "$PWD" "$@"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# function_at VMLINUX RIP: the kernel function RIP (16 hex digits) lies in
function_at() {
	nm -n "$1" | awk -v rip="$2" 'NF == 3 && $1 > rip { exit } NF == 3 { at = $3 } END { print at }'
}

# name_guest_rips FILE: the guest kernel's function at each rip a VMM logged
# into FILE when asked to describe its vCPUs (SIGUSR2), from the symbols of
# $GUEST_VMLINUX (the boot tests get it from meson). Inside the test host, a
# rip in its own kernel's VMRUN loop is named too: its nested SVM then handed
# the guest's vCPU the test host's own state (seen at the same rip, in
# __svm_vcpu_run right after VMRUN, with a cr3 outside the guest's RAM, in
# three different workloads): a fault of the test host, not of the guest.
name_guest_rips() {
	local rip host_fn
	[ -r "${GUEST_VMLINUX:-}" ] || return 0
	for rip in $(grep -o 'described on request (SIGUSR2): rip=0x[0-9a-f]*' "$1" | sed 's/.*rip=0x//'); do
		rip=$(printf %016x "0x$rip")
		case $rip in
		ffff*)
			echo "guest rip $rip is in $(function_at "$GUEST_VMLINUX" "$rip")"
			[ -r "${TESTHOST_VMLINUX:-}" ] || continue
			host_fn=$(function_at "$TESTHOST_VMLINUX" "$rip")
			[[ $host_fn == __svm*_vcpu_run ]] &&
				echo "guest rip $rip is the test host's own $host_fn: its nested SVM put the test host's state in this vCPU (the test host's fault)"
			;;
		*) echo "guest rip $rip is in user space" ;;
		esac
	done
}

# describe_threads PID: each thread of PID's children (the VMM under
# timeout): name, state, kernel wait channel, CPU ticks used in one second,
# and its stack; first, the VMM logs where each vCPU's guest is (SIGUSR2),
# and when its log is a file, those places are named.
describe_threads() {
	local child task log caught
	for child in $(pgrep -P "$1"); do
		# only once it catches SIGUSR2 (bit 12 - 1 of SigCgt): before its
		# vCPUs run, the signal would kill it
		caught=$(awk '$1 == "SigCgt:" { print $2 }' "/proc/$child/status" 2>/dev/null)
		if (((0x${caught:-0} >> 11) & 1)); then
			kill -USR2 "$child" 2>/dev/null
			sleep 1
			log=$(readlink "/proc/$child/fd/2" 2>/dev/null)
			[ -f "$log" ] && name_guest_rips "$log"
		fi
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

# check WHAT CMD...: runs CMD; "ok: WHAT", or "FAIL: WHAT" on stderr and
# one more in $failures, which the test ends on.
failures=0
check() {
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; failures=$((failures + 1)); fi
}

# make_netns NS: a network namespace with its loopback up.
make_netns() {
	ip netns add "$1" && ip netns exec "$1" ip link set lo up
}

# add_tap NS DEV ADDR/LEN: a tap in NS, nobody's until a VMM opens it, up
# at ADDR.
add_tap() {
	ip netns exec "$1" ip tuntap add dev "$2" mode tap &&
		ip netns exec "$1" ip addr add "$3" dev "$2" && ip netns exec "$1" ip link set "$2" up
}

# passt_netns NS: a namespace for passt, whose one route (passt needs one)
# goes through a tap nobody reads (the test host's kernel has no dummy
# interface): passt takes its address, 10.0.0.1, and gateway from it.
passt_netns() {
	make_netns "$1" && add_tap "$1" uplink0 10.0.0.1/24 &&
		ip netns exec "$1" ip route add default via 10.0.0.2 dev uplink0
}

# scratch_netns NAME: $work, a scratch directory (on the test host's tmpfs
# where there is one), and $ns, a network namespace, both for the test
# NAME and gone at its exit, with the server $httpd if it set one; in_ns
# CMD... runs CMD in $ns.
scratch_netns() {
	work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/$1.XXXXXX") ||
		fail "cannot make a scratch directory for $1"
	ns=krun-$1-$$
	trap 'remove_scratch_netns' EXIT
}
remove_scratch_netns() {
	[ -n "${httpd:-}" ] && kill "$httpd" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
in_ns() { ip netns exec "$ns" "$@"; }

# run_logged NAME SECONDS CMD...: CMD under vmm_timeout, its output (without
# carriage returns) in $work/NAME.log and here tagged [NAME]; CMD's status.
run_logged() {
	local name=$1 secs=$2
	shift 2
	vmm_timeout "$secs" "$@" >"$work/$name.out" 2>&1
	local status=$?
	tr -d '\r' <"$work/$name.out" >"$work/$name.log"
	sed "s/^/[$name] /" "$work/$name.log"
	return $status
}

# For a script that runs the VMM in the background ($krun, serving $root)
# and writes its status to $work/status when it ends:
# wait_for FILE: until FILE exists (0), or the VMM ended (1): vmm_timeout
# bounds the wait.
wait_for() {
	until [ -e "$1" ]; do
		[ -e "$work/status" ] && return 1
		sleep 0.2
	done
}
# The krun serving this root, found without a process per candidate
# (hundreds of them took a minute in the test host).
vmm_pid() {
	local p cmdline
	for p in /proc/[0-9]*; do
		[ "$p/exe" -ef "$krun" ] || continue
		mapfile -d '' cmdline <"$p/cmdline" 2>/dev/null
		[[ " ${cmdline[*]} " == *" $root "* ]] && echo "${p#/proc/}" && return
	done
}
# PID FIELD: its value in kB in the VMM's /proc status, read at once (the
# shell's read seeks back after each line, and each read of a changed
# status then splits its lines elsewhere)
vmm_status() {
	awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status" 2>/dev/null
}

# tsi_scratch TEST PROGRAM: for TSI's boot tests, whose host sides live on
# 127.0.0.1: the test host's loopback up (it may start down); $work, a
# scratch directory removed at exit, when the processes in $pids are
# killed; $work/root holding PROGRAM under its own name.
tsi_scratch() {
	if ! ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
		ip link set lo up 2>/dev/null || /bin/busybox ip link set lo up ||
			fail "the loopback interface is down and cannot be brought up"
	fi
	work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/$1.XXXXXX")
	pids=()
	trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
	mkdir -p "$work/root" && cp "$2" "$work/root/" || fail "cannot make the root in $work"
}

# copy_program ROOT PROGRAM: PROGRAM and every shared library it loads (the
# loader too), copied to the same paths under ROOT, for a guest root that
# holds only what a test puts there.
copy_program() {
	local lib
	cp -L --parents "$2" "$1" || return 1
	for lib in $(ldd "$2" | grep -o '/[^ ]*'); do
		cp -L --parents "$lib" "$1" || return 1
	done
}

# await_line FILE PATTERN PID SECONDS: until FILE has a line matching
# PATTERN (a guest saying it listens), PID has ended, or SECONDS passed.
await_line() {
	local i
	for ((i = 0; i < $4 * 5; i++)); do
		grep -q -- "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
