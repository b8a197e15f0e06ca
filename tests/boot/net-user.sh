#!/usr/bin/env bash
# The user-mode interface end to end (krun_add_net_user), three times: the
# guest, a busybox shell, gets 10.0.2.15/24 on eth0 (first set by itself,
# then from the stack's DHCP through the init, NET_FLAG_DHCP_CLIENT; the
# third time through the krun tool's --net user -p, with busybox's httpd
# and a bash prober as the host's side), fetches a
# file over HTTP from a server of user_client.c's on the host's 127.0.0.1
# through 10.0.2.2, then answers one connection on its port 8080, which the
# host reaches through a published port (krun_set_port_map "H:8080").
# Checks the file's digest on both sides, the line the host read, the
# lease and resolv.conf, the guest's exit status and the VMM's counters.
# No privileges, no helper process.
#
#   net-user.sh PROBE USER_CLIENT KRUN
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2 krun=$3
require_hardware_kvm "$probe"

# The test host's loopback may be down: the host side lives on 127.0.0.1.
if ! ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
	ip link set lo up 2>/dev/null || /bin/busybox ip link set lo up ||
		fail "the loopback interface is down and cannot be brought up"
fi

# On tmpfs in the test host ($TESTHOST_SCRATCH): 9p lacks what a root needs.
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/net-user.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin" "$work/root/tmp" "$work/root/etc" &&
	cp /bin/busybox "$work/root/bin/busybox" &&
	head -c 4194304 /dev/urandom >"$work/payload" || fail "cannot make the root in $work"
want=$(sha256sum <"$work/payload" | cut -d' ' -f1)

has() { grep -q -- "$1" "$work/log"; }

bb=/bin/busybox
static_setup="$bb ip link set eth0 up && $bb ip addr add 10.0.2.15/24 dev eth0 &&"
dhcp_check="$bb ip addr show eth0 | $bb grep -q 'inet 10.0.2.15/24' &&
echo 'guest: eth0 is 10.0.2.15/24' && $bb grep -q '^nameserver 10.0.2.3' /etc/resolv.conf &&
echo 'guest: resolv.conf names 10.0.2.3' &&"
fetch_and_serve="$bb wget -q -O /tmp/payload http://10.0.2.2:\$HOST_PORT/payload &&
echo \"guest: fetched sha256 \$($bb sha256sum /tmp/payload | $bb cut -d' ' -f1)\" &&
echo 'hello from the guest' | $bb nc -l -p 8080 && echo 'guest: served the host' &&
$bb sleep 1"

# PORT: the first line the guest sends through the published port; a
# connection the stack took before the guest listened ends empty: again.
probe_published() {
	local line
	for _ in $(seq 120); do
		if exec 3<>"/dev/tcp/127.0.0.1/$1"; then
			if IFS= read -r -t 30 line <&3 && [ -n "$line" ]; then
				exec 3<&-
				echo "host: through 127.0.0.1:$1 the guest said \"$line\""
				return
			fi
			exec 3<&-
		fi
		sleep 1
	done 2>/dev/null
	echo "host: nothing came through 127.0.0.1:$1"
}

# The krun tool: its HTTP server busybox's, its prober probe_published.
run_cli() {
	local http_port=$((20000 + RANDOM % 10000)) published=$((30000 + RANDOM % 10000)) httpd prober
	mkdir -p "$work/www" && ln -f "$work/payload" "$work/www/payload"
	$bb httpd -f -p "127.0.0.1:$http_port" -h "$work/www" &
	httpd=$!
	probe_published "$published" >"$work/probe.log" &
	prober=$!
	vmm_timeout 200 "$krun" --log-level info --net user -p "127.0.0.1:$published:8080" \
		--env HOST_PORT="$http_port" "$work/root" $bb sh -c "$dhcp_check $fetch_and_serve"
	local status=$?
	wait "$prober"
	kill "$httpd"
	cat "$work/probe.log"
	return $status
}

for mode in static dhcp cli; do
	if [ $mode = static ]; then
		setup=$static_setup dhcp=0
	else
		setup=$dhcp_check dhcp=1
	fi
	if [ $mode = cli ]; then
		run_cli >"$work/out" 2>&1
	else
		USER_CLIENT_DHCP=$dhcp vmm_timeout 200 "$client" "$work/root" "$work/payload" \
			$bb sh -c "$setup $fetch_and_serve" >"$work/out" 2>&1
	fi
	status=$?
	tr -d '\r' <"$work/out" >"$work/log"
	sed "s/^/[net-user $mode] /" "$work/log"
	check "$mode: the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
	[ $mode != static ] && check "$mode: the stack leased 10.0.2.15/24 and DNS 10.0.2.3" \
		has 'guest: resolv.conf names 10.0.2.3'
	[ $mode != cli ] && check "$mode: the host's server on 127.0.0.1 served the guest through 10.0.2.2" \
		has 'host: served 4194304 bytes to GET /payload'
	check "$mode: the guest fetched the file whole (sha256 $want)" \
		has "guest: fetched sha256 $want"
	check "$mode: the host reached the guest through the published port" \
		has 'host: through 127.0.0.1:[0-9]* the guest said "hello from the guest"'
	check "$mode: the VMM counted the stack's frames" \
		has 'net eth0 (user): [1-9][0-9]* frames from the guest'
done
[ $failures = 0 ] || fail "$failures checks failed"
echo "net-user: all checks passed"
