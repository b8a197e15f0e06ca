#!/usr/bin/env bash
# A host directory as the guest's root, end to end: the krun tool and a plain
# libkrun.h client (root-client) on a busybox root (tools/mkroot.sh). Checks
# are grouped per boot (each boot costs seconds in the test host).
#
#   krun-cli.sh PROBE KRUN MKROOT ROOT_CLIENT
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 krun=$2 mkroot=$3 client=$4
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

run() { # name, expected status, krun args...
	run_program "$1" "$2" "$krun" "${@:3}" </dev/null
}
run_program() { # name, expected status, program and args (stdin as given)
	local name=$1 want=$2
	shift 2
	run_logged "$name" "${boot_timeout:-120}" "$@"
	local status=$?
	check "$name: exit status $want (got $status)" [ "$status" = "$want" ]
}
has() { grep -q -- "$2" "$work/$1.log"; }
lacks_escape() { ! grep -q ESCAPED "$work/escape.log"; }

# (the info log says when the init started: a hang before or after)
run basics 3 --cpus 4 --mem 512 --env GREETING=hello --workdir /tmp --log-level info "$root" \
	sh -c 'echo "cpus=$(nproc)"; echo "greeting=$GREETING"; echo "pwd=$(pwd)";
	       echo "host file: $(cat /from-host)"; echo "from the guest" >/from-guest;
	       mkdir /made-in-guest && mv /from-guest /made-in-guest/renamed; exit 3'
check "basics: 4 vCPUs" has basics '^cpus=4$'
check "basics: environment" has basics '^greeting=hello$'
check "basics: working directory" has basics '^pwd=/tmp$'
check "basics: host file seen in the guest" has basics '^host file: from the host$'
check "basics: guest's file on the host" grep -qx 'from the guest' "$root/made-in-guest/renamed"

# A root prepared by crun: the config.json of `crun spec` (Debian's crun),
# read by the init as /.krun_config.json, lists a tmpfs for /dev. Covering
# the init's own devtmpfs with it hid the console ports' nodes, and stdio
# waited 30 s for them before it stayed on the console (issue 14): now the
# start takes about as long as one without the file.
timed_run() { # name, krun args...: run, expecting status 0; ms in $took
	local start=$(date +%s%N)
	run "$1" 0 "${@:2}"
	took=$((($(date +%s%N) - start) / 1000000))
}
(cd "$root" && crun spec && mv config.json .krun_config.json)
timed_run crun-config "$root" sh -c 'echo "ports: $(ls /dev/vport*p* | wc -l)"'
crun_ms=$took
rm "$root/.krun_config.json"
timed_run crun-none "$root" sh -c 'echo "ports: $(ls /dev/vport*p* | wc -l)"'
check "crun-config: the console ports' nodes are there" has crun-config '^ports: [1-9]'
check "crun-config: stdio found its ports at once" bash -c "! grep -q 'console ports appeared' '$work/crun-config.log'"
check "crun-config: started within 5 s of a start without it ($crun_ms vs $took ms)" \
	[ $((crun_ms - took)) -lt 5000 ]

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
check "escape: the workload got as far as its end" has escape '^done$'

# As PID 1 the workload's end is the guest's (a kernel panic): no status
# reaches the VMM, which ends as for any guest that stopped without one.
run pid1 125 --env KRUN_INIT_PID1=1 "$root" sh -c 'echo "pid=$$"; exit 5'
check "pid1: KRUN_INIT_PID1=1 runs the workload as PID 1" has pid1 '^pid=1$'
check "pid1: the user is told how the guest ended" has pid1 \
	"stopped without reporting the workload's exit status (it rebooted"

# stdio that is not a terminal: each stream a port of its own, input already
# waiting at start delivered, its end seen as end of file, stdout and stderr
# apart; input from a regular file and from a pipe, byte for byte.
printf 'line one\nline two\n' | timeout 120 "$krun" "$root" sh -c '
	while read -r l; do echo "got: $l"; done; echo "stdin ended"; echo "to stderr" >&2' \
	>"$work/stdio.log" 2>"$work/stdio-err.log"
status=${PIPESTATUS[1]}
check "stdio: exit status 0 (got $status)" [ "$status" = 0 ]
sed 's/^/[stdio] /' "$work/stdio.log" "$work/stdio-err.log"
check "stdio: input waiting at start reached the workload" has stdio '^got: line two$'
check "stdio: end of input seen" has stdio '^stdin ended$'
check "stdio: stderr kept apart from stdout" has stdio-err '^to stderr$'
check "stdio: stdout kept apart from stderr" bash -c "! grep -q 'to stderr' '$work/stdio.log'"
head -c 3145728 /dev/urandom >"$work/blob"
blob_sum=$(sha256sum <"$work/blob" | cut -d" " -f1)
timeout 120 "$krun" "$root" sha256sum <"$work/blob" >"$work/stdin-file.log" 2>&1
check "stdin-file: 3 MiB from a regular file, intact" has stdin-file "^$blob_sum "
cat "$work/blob" | timeout 120 "$krun" "$root" sha256sum >"$work/stdin-pipe.log" 2>&1
check "stdin-pipe: 3 MiB through a pipe, intact" has stdin-pipe "^$blob_sum "
rm -f "$work/blob"

# Output still queued when the workload ends reaches the host whole, while
# the host's reader sleeps: 512 KiB is more than the pipe and the VMM's
# buffer hold (128 KiB), and the rest waits in the console's ring. Before
# the exit status ended the VM at once, the guest's reboot reset the
# console and the ring's 384 KiB were lost, silently.
timeout 120 "$krun" "$root" sh -c 'head -c 524288 /dev/zero; exit 4' </dev/null 2>"$work/backlog-err.log" |
	{ dd bs=1 count=1 status=none >/dev/null; sleep 1; wc -c; } >"$work/backlog.log"
status=${PIPESTATUS[0]} backlog=$(($(cat "$work/backlog.log") + 1))
sed 's/^/[backlog] /' "$work/backlog-err.log"
check "backlog: exit status 4 (got $status)" [ "$status" = 4 ]
check "backlog: all 524288 bytes queued at the exit reached the host (got $backlog)" \
	[ "$backlog" = 524288 ]

# A console added through the API on three files, the implicit one disabled.
echo "a line from the input file" >"$work/console-in"
run_program console-default 4 "$client" console "$root" "$work/console-in" \
	"$work/console-out.log" "$work/console-err.log" </dev/null
check "console-default: input from its file" has console-out '^out: a line from the input file$'
check "console-default: stderr to its own file" has console-err '^err: to the error file$'

# A terminal: one console for all three, in raw mode on the host, with the
# terminal's size.
TERM=dumb script -qec "stty cols 123 rows 45; '$krun' '$root' sh -c 'test -t 0 && test -t 1 && echo all-terminal; stty size'" \
	/dev/null </dev/null >"$work/tty.out" 2>&1
tr -d '\r' <"$work/tty.out" >"$work/tty.log"
sed 's/^/[tty] /' "$work/tty.log"
# (script sends a NUL at the end of its own input, which the guest echoes)
check "tty: stdin and stdout are the guest's terminal" has tty 'all-terminal$'
check "tty: the guest has the terminal's size" has tty '^45 123$'

# SIGINT to krun whose stdin is not a terminal reaches the workload (as ^C on
# its console). krun runs in the background, where the shell would have it
# ignore SIGINT: env gives it the default back.
env --default-signal=INT "$krun" "$root" sh -c \
	'trap "echo got-sigint; exit 7" INT; echo ready; while :; do sleep 1; done' \
	</dev/null >"$work/sigint.log" 2>&1 &
krun_pid=$!
for _ in $(seq "${boot_timeout:-120}"); do has sigint '^ready$' && break; sleep 1; done
# SIGUSR2 first: the VMM says where its vCPU is, and the guest runs on.
kill -USR2 "$krun_pid"
for _ in $(seq 30); do has sigint 'described on request' && break; sleep 1; done
named=$(name_guest_rips "$work/sigint.log")
kill -INT "$krun_pid"
(sleep 60 && kill -KILL "$krun_pid") 2>/dev/null &
killer=$!
wait "$krun_pid"
status=$?
kill "$killer" 2>/dev/null
sed 's/^/[sigint] /' "$work/sigint.log"
check "sigint: the workload's trap ran (status 7, got $status)" [ "$status" = 7 ]
check "sigint: the workload said so" has sigint 'got-sigint$'
echo "$named" | sed 's/^/[sigusr2] /'
check "sigusr2: the VMM logged its vCPU's registers" \
	has sigint 'vCPU 0: described on request (SIGUSR2): rip=0x[0-9a-f]* rsp='
check "sigusr2: the guest's place named" grep -Eq '^guest rip [0-9a-f]{16} is in [a-z_]' <<<"$named"

# An unprivileged user who may open /dev/kvm runs a microVM as well (no call
# that needs a capability): nobody, in /dev/kvm's group, on a root it may
# read. (Run as another user, the rest of this script shows it already.)
if [ "$(id -u)" = 0 ]; then
	# the test host is a throwaway VM whose /dev/kvm is root's alone
	[ -z "${TESTHOST_SCRATCH:-}" ] || chmod g+rw /dev/kvm
	chmod 755 "$work"
	run_program unprivileged 6 setpriv --reuid=65534 --regid=65534 \
		--groups="$(stat -c %g /dev/kvm)" -- \
		"$krun" "$root" sh -c 'echo "unprivileged: $(cat /from-host)"; exit 6' </dev/null
	check "unprivileged: the workload ran and read the root" has unprivileged '^unprivileged: from the host$'
fi

# The workload's user and group, its limits, a file of several hundred MiB
# written in the guest and read back intact on the host, and changes seen in
# both directions while the guest runs.
( for _ in $(seq 600); do [ -e "$root/tmp/guest-ready" ] && break; sleep 0.1; done
  echo "written by the host while the guest ran" >"$root/tmp/host-later" ) &
run files 0 --env KRUN_SETUID=1000 --env KRUN_SETGID=1001 "$root" sh -c '
	echo "ids: $(id -u) $(id -g)"
	echo >/tmp/guest-ready
	for i in $(seq 300); do [ -e /tmp/host-later ] && break; sleep 0.1; done
	echo "host said: $(cat /tmp/host-later)"'
check "files: uid and gid of the workload" has files '^ids: 1000 1001$'
check "files: a change on the host seen in the guest" has files '^host said: written by the host while the guest ran$'
wait
# 20 copies of 16 random MiB: random content, without the cost of
# generating 320 MiB of randomness, or of starting hundreds of processes,
# in an emulated guest. (A minute or more in the test host when its machine
# is busy: a longer timeout, and the guest says how long each half took.)
boot_timeout=300 run big 0 "$root" sh -c 'head -c 16777216 /dev/urandom >/tmp/block &&
	start=$(date +%s) && for i in $(seq 20); do cat /tmp/block; done >/big &&
	written=$(date +%s) && sha256sum /big &&
	echo "written in $((written - start)) s, read back in $(($(date +%s) - written)) s"'
guest_sum=$(awk '$2 == "/big" { print $1 }' "$work/big.log")
host_sum=$(sha256sum "$root/big" | cut -d" " -f1)
same_sum() { [ -n "$guest_sum" ] && [ "$guest_sum" = "$host_sum" ]; }
check "big: 320 MiB written in the guest, identical on the host" same_sum
rm -f "$root/big"

# The workload through the API: exec, arguments with quotes, environment,
# working directory, rlimits.
run_program api-exec 42 "$client" exec "$root" </dev/null
check "api-exec: rlimit, workdir and environment" has api-exec '^nofile=321 pwd=/tmp mood=fine$'
check "api-exec: quotes in arguments survive" has api-exec "^it's \"quoted\"$"

# A second share, read-only (krun_add_virtiofs3): read, but every change
# refused, and the host's files as they were.
mkdir "$work/ro" && echo "read-only content" >"$work/ro/file"
run_program ro-share 0 "$client" ro-share "$root" "$work/ro" </dev/null
check "ro-share: its file read in the guest" has ro-share '^read-only content$'
check "ro-share: writing, creating and unlinking refused" bash -c \
	"grep -q '^refused-write$' '$work/ro-share.log' && grep -q '^refused-create$' '$work/ro-share.log' && grep -q '^refused-unlink$' '$work/ro-share.log'"
check "ro-share: the host's file unchanged, nothing added" bash -c \
	"[ \"\$(cat '$work/ro/file')\" = 'read-only content' ] && [ \"\$(ls '$work/ro')\" = file ]"

# A root that brings its own init (the library's, written there), a VMM
# that gives up root for nobody before the guest starts (as root; as
# another user, its own ids), and the environment from krun_set_env.
if [ "$(id -u)" = 0 ]; then ids="65534 65534"; chmod 755 "$work"; else ids="$(id -u) $(id -g)"; fi
# shellcheck disable=SC2086 # two words
run_program own-init 5 "$client" own-init "$root" $ids </dev/null
check "own-init: the root's init ran the workload with krun_set_env's environment" \
	has own-init '^env=yes$'
check "own-init: the VMM wrote as $ids" bash -c \
	"[ \"\$(stat -c '%u %g' '$root/tmp/by-dropped-vmm')\" = '$ids' ]"
rm -f "$root/init.krun" "$root/tmp/by-dropped-vmm"

# crun's sequence: the workload described by the root's /.krun_config.json.
cat >"$root/.krun_config.json" <<'JSON'
{"process": {"args": ["/bin/sh", "-c", "echo \"from the config: $FROM_CONFIG in $(pwd)\"; exit 9"],
             "env": ["FROM_CONFIG=yes", "PATH=/bin"], "cwd": "/etc"}}
JSON
run_program crun 9 "$client" crun "$root" </dev/null
check "crun: /.krun_config.json honoured" has crun '^from the config: yes in /etc$'
printf '{"process": {"args": ' >"$root/.krun_config.json"
run_program crun-bad-config 125 "$client" crun "$root" </dev/null
rm -f "$root/.krun_config.json"

[ $failures = 0 ] && echo PASS || exit 1
