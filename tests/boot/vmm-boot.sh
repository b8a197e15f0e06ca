#!/usr/bin/env bash
# Our VMM boots real guests through the public API (boot-client, a plain
# libkrun.h client): the ELF kernel with a test initramfs on 1 and 4 vCPUs,
# checking what the guest saw and that the process ends with the status the
# guest chose; its console sent to a file with krun_set_console_output; on 2
# vCPUs with a split irqchip (our I/O APIC, KVM's local APICs); then
# the bundled kernel with no root, whose panic must end the process cleanly
# by itself; last a RAW kernel (a flat image entered where libkrun enters
# one) that reports whether it found the zero page.
#
#   vmm-boot.sh PROBE BOOT_CLIENT TEST_INIT VMLINUX KRUNFW_DIR RAW_GUEST
set -uo pipefail
. "$(dirname "$0")/lib.sh"
probe=$1 client=$2 init=$3 vmlinux=$4 krunfw_dir=$5 raw_guest=$6
require_hardware_kvm "$probe"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
cp "$init" "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

boot() { # name, expected status, client args...
	local name=$1 want=$2
	shift 2
	local start end
	start=$(date +%s.%N)
	# (a hang describes where each vCPU is first: see vmm_timeout)
	vmm_timeout 120 "$client" "$@" </dev/null >"$work/$name.out" 2>&1
	status=$?
	end=$(date +%s.%N)
	tr -d '\r' <"$work/$name.out" >"$work/$name.log"
	sed "s/^/[$name] /" "$work/$name.log"
	echo "[$name] exit status $status after $(echo "$end - $start" | bc) s"
	check "$name: exit status $want" [ "$status" = "$want" ]
}
has() { grep -q -- "$2" "$work/$1.log"; }
lacks() { ! grep -q -- "$2" "$work/$1.log"; }
mem_kib_between() { # log, low, high: MemTotal the guest saw
	local mem
	mem=$(sed -n 's/^INIT mem_kib=//p' "$work/$1.log")
	echo "$1: MemTotal ${mem:-?} KiB"
	[ "${mem:-0}" -gt "$2" ] && [ "${mem:-0}" -le "$3" ]
}

boot one-cpu 7 1 512 "$vmlinux" "$work/initramfs.cpio" 7
check "one-cpu: kernel 6.12" has one-cpu '^INIT kernel=6\.12\.'
check "one-cpu: 1 CPU online" has one-cpu '^INIT cpus=1$'
check "one-cpu: about 512 MiB of RAM" mem_kib_between one-cpu 450000 524288
check "one-cpu: init is PID 1" has one-cpu '^INIT pid=1$'
check "one-cpu: argv[1]" has one-cpu '^INIT argv\[1\]=first$'
check "one-cpu: argv[2] with a space" has one-cpu '^INIT argv\[2\]=second arg$'
check "one-cpu: KRUN_INIT" has one-cpu '^INIT env KRUN_INIT=/init$'
check "one-cpu: environment" has one-cpu '^INIT env TEST_GREETING=hello$'

boot four-cpus 0 4 1024 "$vmlinux" "$work/initramfs.cpio" 0
check "four-cpus: 4 CPUs online" has four-cpus '^INIT cpus=4$'
check "four-cpus: about 1 GiB of RAM" mem_kib_between four-cpus 950000 1048576

boot console-file 5 2 256 "$vmlinux" "$work/initramfs.cpio" 5 "$work/console.txt"
check "console-file: no guest output on stdout" lacks console-file '^INIT'
tr -d '\r' <"$work/console.txt" >"$work/console-txt.log" 2>/dev/null
check "console-file: the guest's output is in the file" has console-txt '^INIT cpus=2$'
check "console-file: up to its last line" has console-txt '^INIT exiting with 5$'

# The console's interrupts reach the guest only through the routes our I/O
# APIC programs; the init counts them.
BOOT_CLIENT_SPLIT_IRQCHIP=1 boot split-irqchip 3 2 512 "$vmlinux" "$work/initramfs.cpio" 3
check "split-irqchip: 2 CPUs online" has split-irqchip '^INIT cpus=2$'
check "split-irqchip: up to the init's last line" has split-irqchip '^INIT exiting with 3$'
check "split-irqchip: the console's interrupts arrived" has split-irqchip '^INIT virtio_interrupts=[1-9]'

# Status 125, not the 124 of boot's timeout: the panic itself ended the VM
# (how fast is bench/'s business; here a loaded test host took 40 s).
LD_LIBRARY_PATH=$krunfw_dir boot no-root 125 1 256 -
check "no-root: the kernel panicked" has no-root 'Kernel panic'

# 7: entered at 0x80000000 in long mode with RSI at the zero page (8: not).
# The image lies in RAM there, as with libkrun: 2 GiB and a little more.
BOOT_CLIENT_RAW_KERNEL=1 boot raw-kernel 7 1 2100 "$raw_guest"

[ $failures = 0 ] && echo PASS || exit 1
