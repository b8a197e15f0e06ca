/* An Intel MultiProcessor Specification 1.4 table: how the guest finds its
 * CPUs and the I/O APIC without ACPI. It lives at the start of the EBDA, the
 * last KiB of base memory, where Linux looks for it and e820 reserves it. */
#ifndef KRUN_ARCH_X86_64_MPTABLE_H
#define KRUN_ARCH_X86_64_MPTABLE_H

#include "arch/x86_64/layout.h"
#include "base/guest_mem.h"

#define X86_MPTABLE_ADDR X86_EBDA_START
#define X86_IOAPIC_ADDR 0xfec00000u
#define X86_LAPIC_ADDR 0xfee00000u
/* The most CPUs the table lists: what the EBDA holds, with room to spare. */
#define X86_MPTABLE_MAX_CPUS 32

/* nr_cpus processors with APIC IDs 0..nr_cpus-1 (CPU 0 boots the others),
 * the ISA bus, the I/O APIC (ID nr_cpus) with ISA IRQs 0..15, the virtio
 * IRQs among them, on the same-numbered pins, and ExtINT/NMI on every local
 * APIC's LINT0/LINT1. -EINVAL for 0 or more than X86_MPTABLE_MAX_CPUS
 * CPUs. */
int x86_write_mptable(const struct guest_memory *gm, unsigned int nr_cpus);

#endif
