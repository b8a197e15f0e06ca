#!/usr/bin/env bash
# Side by side, in the same test host and the same run: the krun tool
# (libkrun-c, its embedded virtio-fs server) and QEMU's microvm machine with
# Debian's virtiofsd, on the same guest kernel, each sharing its own copy of
# the same busybox root (tools/mkroot.sh), 1 vCPU, 512 MiB. For
# `/bin/true` and `echo hello`: wall time from start to exit, time to the
# first line of output, peak RSS of the whole (QEMU and virtiofsd added up);
# for krun also when the init started (its boot marker, from the VMM's log).
# Then bench/fsbench in the guest on each: per-file create+write+close, stat
# and unlink; sequential write and cold read MiB/s in 128 KiB requests.
# Run it where /dev/kvm is at hardware speed:
#   testhost/run bench/fs.sh [BUILD_DIR] [RUNS]

set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
runs=${2:-3}
vmlinux=$(kernel/build.sh guest kernel/guest.config kernel/patches 2>/dev/null | tail -n 1)/vmlinux
virtiofsd=$(command -v virtiofsd || echo /usr/lib/qemu/virtiofsd)
[ -x "$virtiofsd" ] || { echo "bench/fs.sh: no virtiofsd (Debian 12: qemu-system-x86 has /usr/lib/qemu/virtiofsd)" >&2; exit 1; }
work=$(mktemp -d "${TESTHOST_SCRATCH:-${TMPDIR:-/tmp}}/bench-fs.XXXXXX")
trap 'rm -rf "$work"' EXIT

for side in krun qemu; do
	tools/mkroot.sh "$work/root-$side" 2>/dev/null
	cp "$build/bench/fsbench" "$work/root-$side/fsbench"
done
# QEMU's guest has no init of ours: PID 1 mounts /proc, runs the command and
# resets the machine (reboot=t, and QEMU runs with -no-reboot). The command's
# words are bare words on the kernel command line, which the kernel hands to
# init: not after "--", since QEMU appends its virtio_mmio.device= options.
# Its virtio-mmio transports are modern ones here: vhost-user needs that.
cat >"$work/root-qemu/bench-init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
"$@"
reboot -f
EOF
chmod 755 "$work/root-qemu/bench-init"

# wall time to exit, and to the first line of output, into $work/figures
timed() { # command...
	local start
	rm -f "$work/first"
	start=$(date +%s.%N)
	"$@" </dev/null 2>"$work/err" | while IFS= read -r line; do
		[ -e "$work/first" ] || date +%s.%N >"$work/first"
		printf '%s\n' "$line"
	done >"$work/out"
	local end first=
	end=$(date +%s.%N)
	[ -e "$work/first" ] && first=$(echo "$(cat "$work/first") - $start" | bc)
	printf 'exit after %6.3f s, first output after %s s' "$(echo "$end - $start" | bc)" "${first:-  -  }"
}

run_krun() { # command...
	/usr/bin/time -f %M -o "$work/rss-krun" timeout 120 "$build/cli/krun" --mem 512 \
		--log-level info "$work/root-krun" "$@"
}

run_qemu() { # command...
	rm -f "$work/vfs.sock"
	/usr/bin/time -f %M -o "$work/rss-vfs" "$virtiofsd" --socket-path="$work/vfs.sock" \
		-o source="$work/root-qemu" -o cache=auto -o sandbox=chroot >"$work/vfs.log" 2>&1 &
	for _ in $(seq 100); do [ -S "$work/vfs.sock" ] && break; sleep 0.05; done
	/usr/bin/time -f %M -o "$work/rss-qemu" timeout 120 qemu-system-x86_64 \
		-M microvm,isa-serial=off,acpi=off,memory-backend=mem -enable-kvm -cpu host \
		-smp 1 -m 512 -object memory-backend-memfd,id=mem,size=512M,share=on \
		-global virtio-mmio.force-legacy=false \
		-nodefaults -no-user-config -nographic -no-reboot -kernel "$vmlinux" \
		-append "console=hvc0 reboot=t panic=-1 ${BENCH_KERNEL_ARGS-quiet} rootfstype=virtiofs root=root rw init=/bench-init $*" \
		-chardev socket,id=vfs,path="$work/vfs.sock" -device vhost-user-fs-device,chardev=vfs,tag=root \
		-chardev stdio,id=c0 -device virtio-serial-device -device virtconsole,chardev=c0
	wait
}

rss() { # side
	if [ "$1" = krun ]; then
		cat "$work/rss-krun"
	else
		echo $(($(cat "$work/rss-qemu") + $(cat "$work/rss-vfs")))
	fi
}

"$build/tools/kvm-speed-probe"
for _ in $(seq "$runs"); do
	for side in qemu krun; do
		for cmd in /bin/true "echo hello"; do
			# shellcheck disable=SC2086 # the command's words
			figures=$(timed "run_$side" $cmd)
			printf '%-5s %-12s %s, peak RSS %6d KiB%s\n' "$side" "$cmd" "$figures" "$(rss "$side")" \
				"$(sed -n 's/.*workload started after \([0-9.]*\) s.*/, init started after \1 s/p' "$work/err")"
		done
		timed "run_$side" /fsbench >/dev/null
		printf '%-5s %s\n' "$side" "$(grep -o 'fsbench .*' "$work/out" ||
			echo "fsbench: no figures; output: $(tail -n 5 "$work/out" "$work/err")")"
	done
done
