#!/usr/bin/env bash
# Side by side, in the same test host and the same run: our guest kernel
# booted by QEMU's microvm machine and by our VMM (through libkrun.h), with
# the same test initramfs, 1 vCPU, 512 MiB. Prints the wall time from start
# to process exit and the peak RSS of each, and for ours the time to the
# init's first instruction (its boot-marker write) and the VMM's resident
# memory beyond the guest's RAM (kernel image pages included). For both, the
# VMM's start cost: the CPU time (user + system) the process used before its
# first KVM_RUN, read by the LD_PRELOAD probe bench/first_kvm_run.c, since exec
# and, for ours, since krun_start_enter (Firecracker's specification allows
# its whole VMM start 8 CPU-ms).
# Run it where /dev/kvm is at hardware speed:
#   testhost/run bench/boot.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
runs=${2:-3}
vmlinux=$(kernel/build.sh guest kernel/guest.config kernel/patches 2>/dev/null | tail -n 1)/vmlinux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
cp "$build/tests/test-init" "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

measure() { # label, command...: wall time to exit and peak RSS
	local label=$1 start
	shift
	start=$(date +%s.%N)
	timeout 60 /usr/bin/time -f 'RSS %M' -o "$work/rss" \
		env LD_PRELOAD="$build/bench/libfirst-kvm-run.so" "$@" </dev/null >"$work/out" 2>&1
	printf '%-14s exit after %6.3f s, peak RSS %6d KiB%s%s\n' "$label" \
		"$(echo "$(date +%s.%N) - $start" | bc)" "$(sed -n 's/^RSS //p' "$work/rss")" \
		"$(sed -n 's/^first KVM_RUN: \(.*\)/, first KVM_RUN after \1/p' "$work/out")" \
		"$(sed -n 's/.*workload started after \([0-9.]*\) s.*/, workload started after \1 s/p' "$work/out")$(
		sed -n 's/.*VMM beyond guest RAM \([0-9]*\) KiB.*/, VMM beyond guest RAM \1 KiB/p' "$work/out")"
}

"$build/tools/kvm-speed-probe"
for _ in $(seq "$runs"); do
	measure "qemu microvm" qemu-system-x86_64 -M microvm,isa-serial=off,acpi=off -enable-kvm \
		-cpu host -smp 1 -m 512 -nodefaults -no-user-config -nographic -no-reboot \
		-kernel "$vmlinux" -initrd "$work/initramfs.cpio" \
		-append "console=hvc0 reboot=t panic=-1 quiet -- first" \
		-chardev stdio,id=c0 -device virtio-serial-device -device virtconsole,chardev=c0
	measure "libkrun-c" "$build/tests/boot-client" 1 512 "$vmlinux" "$work/initramfs.cpio" 0
done
