#!/usr/bin/env bash
# Side by side, in the same test host and the same run: our guest kernel
# booted by QEMU's microvm machine and by our VMM (through libkrun.h), with
# the same test initramfs, 1 vCPU, 512 MiB. Prints the time from start to
# the init's first line and to process exit, and the peak RSS of each.
# Run it where /dev/kvm is at hardware speed:
#   testhost/run bench/boot.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
runs=${2:-3}
vmlinux=$(kernel/build.sh guest kernel/guest.config 2>/dev/null | tail -n 1)/vmlinux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
cp "$build/tests/test-init" "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

measure() { # label, command...
	local label=$1
	shift
	local start first
	start=$(date +%s.%N)
	first=
	while IFS= read -r line; do
		if [ -z "$first" ] && [[ $line == INIT* ]]; then
			first=$(echo "$(date +%s.%N) - $start" | bc)
		fi
	done < <(/usr/bin/time -f 'RSS %M' -o "$work/rss" "$@" </dev/null 2>&1)
	printf '%-14s init after %6.3f s, exit after %6.3f s, peak RSS %6d KiB\n' "$label" \
		"${first:-0}" "$(echo "$(date +%s.%N) - $start" | bc)" "$(sed -n 's/^RSS //p' "$work/rss")"
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
