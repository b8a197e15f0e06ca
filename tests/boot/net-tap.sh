#!/usr/bin/env bash
# A tap interface end to end, twice: with libkrun's COMPAT_NET_FEATURES
# (checksums and TCP segmentation left to the other side both ways) and
# with no offload at all. The guest (netbulk.c, under a busybox shell that
# gives eth0 10.0.3.15/24) fetches 100 MiB over HTTP from busybox's httpd on
# the host's side of the tap, then sends 100 MiB of its own to a receiver
# there; each end digests what it moved (POSIX cksum) and the digests must
# agree. Then the host reaches a server in the guest (busybox nc). The
# VMM's counters tell whether segmentation was in effect: with TSO the
# frames average more than a full-size Ethernet frame both ways, without it
# none can. In a network namespace of the test's own, as root (the test
# host's command is).
#
#   net-tap.sh PROBE NET_CLIENT NETBULK
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2 netbulk=$3
require_hardware_kvm "$probe"

scratch_netns net-tap
make_netns "$ns" && add_tap "$ns" ktap0 10.0.3.1/24 ||
	fail "cannot make the network namespace $ns with a tap"
size=$((100 << 20))
mkdir -p "$work/root/bin" "$work/www" && cp /bin/busybox "$work/root/bin/busybox" &&
	cp "$netbulk" "$work/root/netbulk" && head -c $size /dev/urandom >"$work/www/blob" ||
	fail "cannot make the root in $work"
down=$(cksum <"$work/www/blob" | awk '{ print $2 " bytes, cksum " $1 }')
# (not through in_ns: $! must be the server itself, and it must not hold
# the test's output open)
ip netns exec "$ns" busybox httpd -f -p 10.0.3.1:8000 -h "$work/www" </dev/null >/dev/null 2>&1 &
httpd=$!

has() { grep -q -- "$2" "$work/$1.log"; }
# NAME, received|sent|merged: the average frame size the VMM logged that
# way, or how many frames to the guest took several of its buffers
frame_stat() {
	sed -n "s/.*net eth0 (tap): received \([0-9]*\) frames (\([0-9]*\) bytes, \([0-9]*\) over several buffers), sent \([0-9]*\) (\([0-9]*\) bytes).*/\1 \2 \4 \5 \3/p" \
		"$work/$1.log" | awk -v way="$2" '{ if (way == "merged") { print $5; exit }
		f = way == "received" ? $1 : $3; b = way == "received" ? $2 : $4;
		print f ? int(b / f) : 0 }'
}

boot() { # NAME FEATURES
	local name=$1 status up
	# the receiver: whatever the guest sends (ip netns exec execs busybox)
	ip netns exec "$ns" busybox nc -l -p 9000 </dev/null >"$work/$name.up" 2>/dev/null &
	local receiver=$!
	vmm_timeout 600 ip netns exec "$ns" "$client" --tap ktap0 "$2" "$work/root" /bin/busybox sh -c \
		"busybox ip link set eth0 up && busybox ip addr add 10.0.3.15/24 dev eth0 &&
		 /netbulk get 10.0.3.1 8000 /blob && /netbulk put 10.0.3.1 9000 $size &&
		 echo 'guest: listening on 8080' &&
		 echo 'hello from the guest' | busybox nc -l -p 8080 && busybox sleep 1" \
		>"$work/$name.out" 2>&1 &
	local vmm=$!
	# the guest says when it listens; then the host connects to it
	await_line "$work/$name.out" 'guest: listening on 8080' $vmm 600
	in_ns timeout 30 busybox nc 10.0.3.15 8080 </dev/null >"$work/$name.from-guest" 2>&1
	wait $vmm
	status=$?
	# a guest that failed before it sent leaves the receiver waiting
	for _ in $(seq 50); do kill -0 $receiver 2>/dev/null && sleep 0.2; done
	kill $receiver 2>/dev/null
	wait $receiver
	tr -d '\r' <"$work/$name.out" >"$work/$name.log"
	sed "s/^/[$name] /" "$work/$name.log"
	up=$(cksum <"$work/$name.up" | awk '{ print $2 " bytes, cksum " $1 }')
	rm -f "$work/$name.up"
	check "$name: the guest's exit status is 0 (got $status)" [ "$status" = 0 ]
	check "$name: the guest fetched the host's 100 MiB whole ($down)" \
		has "$name" "netbulk: fetched $down$"
	check "$name: the host received the guest's 100 MiB whole ($up)" \
		has "$name" "netbulk: sent $up$"
	check "$name: the host reached a server in the guest" \
		grep -qx 'hello from the guest' "$work/$name.from-guest"
	echo "$name: frames average $(frame_stat "$name" received) bytes to the guest" \
		"($(frame_stat "$name" merged) over several buffers), $(frame_stat "$name" sent) from it"
}

# COMPAT_NET_FEATURES: CSUM, GUEST_CSUM, GUEST_TSO4, GUEST_UFO, HOST_TSO4, HOST_UFO
boot tso $((1 | 2 | 128 | 1024 | 2048 | 16384))
check "tso: segments larger than a frame reached the guest" [ "$(frame_stat tso received)" -gt 1514 ]
check "tso: the guest sent segments larger than a frame" [ "$(frame_stat tso sent)" -gt 1514 ]
check "tso: segments spread over several of the guest's buffers (MRG_RXBUF)" \
	[ "$(frame_stat tso merged)" -gt 0 ]
boot plain 0
check "plain: no frame to the guest larger than Ethernet's" [ "$(frame_stat plain received)" -le 1514 ]
check "plain: no frame from the guest larger than Ethernet's" [ "$(frame_stat plain sent)" -le 1514 ]

[ $failures = 0 ] || fail "$failures checks failed"
echo "net-tap: all checks passed"
