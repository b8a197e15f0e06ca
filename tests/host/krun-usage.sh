#!/usr/bin/env bash
# The krun tool's own errors, none of which needs a guest: each bad command
# line gets status 125 and a message that says what to fix, --help says what
# krun does, and a machine whose KVM cannot run a standard guest (none at
# all, or PVM's emulating one) is named as such with the way out.
#
#   krun-usage.sh KRUN WORK_DIR
set -uo pipefail
krun=$1
work=$2
rm -rf "$work" && mkdir -p "$work/root" || exit 1
failures=0
expect() { # description, expected status, expected output pattern, krun args...
	local what=$1 want=$2 pattern=$3 out status
	shift 3
	out=$("$krun" "$@" 2>&1 </dev/null)
	status=$?
	if [ "$status" != "$want" ] || ! grep -q -- "$pattern" <<<"$out"; then
		echo "FAIL: $what: status $status (wanted $want), output:" >&2
		echo "$out" >&2
		failures=$((failures + 1))
	else
		echo "ok: $what"
	fi
}

root=$work/root
expect "--help" 0 "^Exit status: CMD's; 128+N" --help
expect "--help names 126 and 127" 0 "126 when CMD is not executable; 127" --help
expect "no arguments" 125 "no ROOTDIR given" 
expect "root missing" 125 "$work/none is not a directory" "$work/none" true
expect "no command" 125 "no command given" "$root"
expect "no command after --" 125 "no command given" "$root" --
expect "--cpus 0" 125 "want a number of vCPUs" --cpus 0 "$root" true
expect "--cpus not a number" 125 "want a number of vCPUs" --cpus two "$root" true
expect "--mem too small" 125 "want MiB of RAM, 64 or more" --mem 10 "$root" true
expect "--env without =" 125 "want KEY=VALUE" --env NOVALUE "$root" true
expect "--log-level unknown" 125 "want off, error, warn" --log-level loud "$root" true
expect "unknown option" 125 "^usage: krun" --frobnicate "$root" true
expect "--help explains --net" 0 "user          the built-in network" --help
expect "--net unknown" 125 "want user, passt, tap:IFNAME" --net bogus "$root" true
expect "--net tap: without a name" 125 "name the tap device" --net tap: "$root" true
expect "--net none with another" 125 "not with other --net options" --net none --net user "$root" true
expect "-p without a guest port" 125 "want \[IP:\]HOST_PORT:GUEST_PORT" -p 80 "$root" true
expect "-p with --net none" 125 "published ports need TSI (no --net option) or --net user" \
	--net none -p 8080:80 "$root" true
expect "-p port out of range" 125 "99999:80.*ports 1 to 65535" --net user -p 99999:80 "$root" true
expect "-p a host port twice" 125 "publishes a host port an earlier entry does" \
	--net user -p 8080:80 -p 8080:81 "$root" true
expect "--net unixstream: not a socket" 125 "/nonexistent is not a socket" \
	--net unixstream:/nonexistent "$root" true
expect "--help explains --vsock-port" 0 "vsock-port PORT:PATH\[:listen\]" --help
expect "--vsock-port without a path" 125 "want PORT:PATH or PORT:PATH:listen" --vsock-port 1024 "$root" true
expect "--vsock-port with an empty path" 125 "name the unix socket after the colon" \
	--vsock-port 1024: "$root" true
expect "--vsock-port listen without a path" 125 "name the unix socket after the colon" \
	--vsock-port 1024::listen "$root" true
expect "--vsock-port not a number" 125 "PORT is a number from 0 to 4294967294" \
	--vsock-port ten:/tmp/x.sock "$root" true
expect "--vsock-port past VMADDR_PORT_ANY" 125 "PORT is a number from 0 to 4294967294" \
	--vsock-port 4294967295:/tmp/x.sock "$root" true
expect "--vsock-port a path too long" 125 "vsock-port 1:/$(printf 'x%.0s' {1..120}).*Invalid argument" \
	--vsock-port "1:/$(printf 'x%.0s' {1..120})" "$root" true
real_krun=$krun
krun_without_passt() { PATH=/nonexistent "$real_krun" "$@"; }
krun=krun_without_passt expect "--net passt without passt" 125 "passt is not installed (apt-get install passt)" \
	--net passt "$root" true

if [ ! -e /dev/kvm ]; then
	expect "no /dev/kvm" 125 "this machine has no /dev/kvm: .*testhost/run" "$root" true
elif [ -d /sys/module/kvm_pvm ]; then
	expect "emulating /dev/kvm" 125 "emulates guest code.*testhost/run" "$root" true
else
	# hardware KVM: the guest boots, and the root lacks the command
	expect "command not found in the root" 127 "" "$root" /no/such/command
fi

[ $failures = 0 ] && echo PASS || exit 1
