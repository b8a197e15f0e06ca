#!/usr/bin/env bash
# Side by side, in the same test host and the same run: TCP between a guest
# and its host through each of our network backends and through QEMU
# microvm's, on the same guest kernel, 1 vCPU, 512 MiB, the same guest
# program (bench/netbench.c: the krun tool's workload in ours, the init of
# an initramfs in QEMU's) against the same host server
# (bench/netbench_host.c). Rows, each peer before ours:
#   QEMU -netdev user (libslirp)  | ours --net user (libslirp in the VMM)
#   QEMU -netdev stream to passt  | ours --net passt (unixstream to passt)
#   QEMU -netdev tap, vhost=off   | ours --net tap (no vhost either)
# For each: MiB/s guest to host and host to guest (MIB MiB one way on one
# connection, timed by the host from the request to the last byte or the
# guest's answer), 1-byte request/response round trips on one connection
# and connect+close (timed by the guest), and the host CPU time (user +
# system) of the VMM's process tree per GiB moved: the VMM, and passt in
# the passt rows (started by krun, and by a shell before QEMU).
# Addressing: static, with the MTU (1500; 65520 for passt, as its DHCP
# gives), set by the guest program itself in both VMMs (ours'
# init also asks DHCP for user and passt first, which leases the same
# address). All of it in a network namespace of the bench's own, whose
# default route goes through a tap nobody reads (what passt takes the
# guest's address and gateway from), with a second tap, 10.0.3.1/24, for
# the tap rows. Figures, not asserted.
# RUNS rounds of the six rows (about 3 minutes a round in the test host at
# 64 MiB, 2026-12-07):
#   testhost/run --probe build/tools/kvm-speed-probe bench/net.sh [BUILD_DIR] [MIB] [RUNS]
# (default MIB 64, RUNS 2)
set -uo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.." || exit 1
. tests/boot/lib.sh
unchroot_for_passt "$self" "$@"
build=$(realpath "${1:-build}")
mib=${2:-64} runs=${3:-2} rounds=200 connects=50
mac=5a:94:ef:e4:0c:ee # the krun tool's eth0, given to QEMU's too
require_hardware_kvm "$build/tools/kvm-speed-probe"
command -v passt >/dev/null || fail "passt is not installed (Debian's passt package)"
vmlinux=$(kernel/build.sh guest kernel/guest.config kernel/patches 2>/dev/null | tail -n 1)/vmlinux
scratch_netns bench-net
passt_netns "$ns" && add_tap "$ns" nbtap0 10.0.3.1/24 ||
	fail "cannot make the network namespace $ns"
mkdir -p "$work/root/etc" "$work/initramfs" && cp "$build/bench/netbench" "$work/root/netbench" &&
	cp "$build/bench/netbench" "$work/initramfs/init" &&
	(cd "$work/initramfs" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio" ||
	fail "cannot make the guest's root and initramfs in $work"

# Each sets cmd to a VMM's command line, for PROFILE (netbench.c).
# shellcheck disable=SC2054 # commas inside QEMU's options
qemu() { # PROFILE NETDEV_OPTIONS
	cmd=(timeout 300 qemu-system-x86_64 -M microvm,isa-serial=off,acpi=off -enable-kvm -cpu host
		-smp 1 -m 512 -nodefaults -no-user-config -nographic -no-reboot
		-global virtio-mmio.force-legacy=false -kernel "$vmlinux" -initrd "$work/initramfs.cpio"
		-append "console=hvc0 reboot=t panic=-1 quiet $1 $mib $rounds $connects"
		-chardev stdio,id=c0 -device virtio-serial-device -device virtconsole,chardev=c0
		-netdev "$2" -device "virtio-net-device,netdev=n0,mac=$mac")
}
krun() { # --net MODE, PROFILE
	cmd=(timeout 300 "$build/cli/krun" --cpus 1 --mem 512 --net "$1" "$work/root"
		/netbench "$2" "$mib" "$rounds" "$connects")
}
# passt as QEMU's peer, listening on a socket in a directory that passt,
# which drops root for nobody, may write (it says "bound" even when it was
# refused); started by a shell that then becomes QEMU.
qemu_passt() {
	local sock=$work/passt/sock
	rm -rf "$work/passt" && mkdir -m 1777 "$work/passt" && chmod 711 "$work" || return
	qemu passt "stream,id=n0,server=off,addr.type=unix,addr.path=$sock"
	cmd=(sh -c 'passt --foreground --quiet --one-off --socket "$1" 2>/dev/null &
		for _ in $(seq 100); do [ -S "$1" ] && break; sleep 0.05; done
		[ -S "$1" ] || { echo "passt made no socket $1"; exit 1; }
		shift; exec "$@"' sh "$sock" "${cmd[@]}")
}

table=()
figure() { # sed expression: the figure it prints from the row's log, or -
	local v
	v=$(sed -n "$1" "$work/log" | head -n 1)
	echo "${v:--}"
}
row() { # SLOT (its place in the table), LABEL, then a function that sets cmd and its arguments
	local slot=$1 label=$2 start status
	shift 2
	"$@"
	start=$(date +%s.%N)
	in_ns "$build/bench/netbench-host" "${cmd[@]}" </dev/null >"$work/out" 2>&1
	status=$?
	tr -d '\r' <"$work/out" >"$work/log"
	echo "== $label: exit status $status after $(echo "$(date +%s.%N) - $start" | bc) s"
	if grep -q '^netbench: done' "$work/log"; then
		grep -E '^netbench(-host)?: ' "$work/log"
	else
		tail -n 30 "$work/log"
	fi
	local mibs='\([0-9.]*\) MiB/s, VMM CPU [0-9.]* s: \([0-9.]*\) s per GiB$'
	table+=("$slot $(printf '%-24s %11s %11s %9s %9s %9s %9s' "$label" \
		"$(figure "s|^netbench-host: guest to host .*: $mibs|\1|p")" \
		"$(figure "s|^netbench-host: host to guest .*: $mibs|\1|p")" \
		"$(figure 's|^netbench: request/response .*: \([0-9]*\) us each$|\1|p')" \
		"$(figure 's|^netbench: connect, .*: \([0-9]*\) us each$|\1|p')" \
		"$(figure "s|^netbench-host: guest to host .*: $mibs|\2|p")" \
		"$(figure "s|^netbench-host: host to guest .*: $mibs|\2|p")")")
}

echo "guest kernel $vmlinux; $mib MiB each way, $rounds round trips, $connects connections;" \
	"static addresses set by the guest program"
for _ in $(seq "$runs"); do
	row 1 "qemu -netdev user" qemu user user,id=n0
	row 2 "ours --net user" krun user user
	row 3 "qemu -netdev stream+passt" qemu_passt
	row 4 "ours --net passt" krun passt passt
	row 5 "qemu -netdev tap,vhost=off" qemu tap tap,id=n0,ifname=nbtap0,script=no,downscript=no,vhost=off
	row 6 "ours --net tap" krun tap:nbtap0 tap
done

echo
echo "nested (the test host's KVM under QEMU TCG): compare within this run only"
printf '%-24s %11s %11s %9s %9s %9s %9s\n' "" "guest>host" "host>guest" "req/resp" "connect" \
	"CPU g>h" "CPU h>g"
printf '%-24s %11s %11s %9s %9s %9s %9s\n' "" "MiB/s" "MiB/s" "us" "us" "s/GiB" "s/GiB"
# each row's rounds together
printf '%s\n' "${table[@]}" | sort -s -n -k1,1 | cut -d' ' -f2-
