#!/usr/bin/env bash
# Boots our guest kernel (its vmlinux, through PVH) with Debian's QEMU microvm
# machine, 2 vCPUs and a busybox initramfs, before any VMM of ours runs, and
# checks from the guest's own output: a 6.12 kernel, both CPUs online, the
# console a virtio-mmio device announced on the command line, and an init
# that ran and rebooted the guest cleanly.
#
#   kernel-smoke.sh PROBE VMLINUX
set -euo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 vmlinux=$2
require_hardware_kvm "$probe"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/bin"
cp /bin/busybox "$work/root/bin/busybox"
cat >"$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
# the initramfs has no /dev/console node, so the kernel gave us no stdio
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "SMOKE kernel=$(uname -r)"
echo "SMOKE cpus=$(cat /sys/devices/system/cpu/online)"
for d in /sys/bus/virtio/devices/*; do
	echo "SMOKE virtio $(basename "$d") driver=$(basename "$(readlink "$d/driver")")"
done
echo "SMOKE cmdline=$(cat /proc/cmdline)"
echo "SMOKE init pid=$$"
echo "SMOKE rebooting"
reboot -f
INIT
chmod 755 "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

set +e
start=$(date +%s.%N)
timeout 120 qemu-system-x86_64 -M microvm,isa-serial=off,acpi=off -enable-kvm -cpu host \
	-smp 2 -m 256 -nodefaults -no-user-config -nographic -no-reboot \
	-kernel "$vmlinux" -initrd "$work/initramfs.cpio" \
	-append "console=hvc0 reboot=t panic=-1" \
	-chardev stdio,id=c0 -device virtio-serial-device -device virtconsole,chardev=c0 \
	</dev/null >"$work/out" 2>&1
status=$?
end=$(date +%s.%N)
set -e
tr -d '\r' <"$work/out" >"$work/log"
cat "$work/log"
echo "qemu exited with $status after $(echo "$end - $start" | bc) s"

[ $status = 0 ] || fail "QEMU exited with status $status (124: the guest did not stop within 120 s)"
grep -q '^SMOKE kernel=6\.12\.' "$work/log" || fail "the guest did not report a 6.12 kernel"
grep -q '^SMOKE cpus=0-1$' "$work/log" || fail "the guest did not bring both CPUs online"
grep -q '^SMOKE virtio virtio0 driver=virtio_console$' "$work/log" ||
	fail "the virtio-mmio console was not probed"
grep -q '^SMOKE cmdline=.*virtio_mmio\.device=' "$work/log" ||
	fail "the virtio-mmio device did not come from the command line"
grep -q '^SMOKE init pid=1$' "$work/log" || fail "the initramfs init did not run as PID 1"
# With -no-reboot QEMU ends, status 0, at the guest's reset; a panic would
# reset it too (panic=-1), so the log must show none.
grep -q '^SMOKE rebooting$' "$work/log" || fail "the init did not get to reboot the guest"
! grep -q 'Kernel panic' "$work/log" || fail "the guest panicked"
echo "PASS: kernel smoke test"
