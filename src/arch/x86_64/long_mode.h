/* The state a 64-bit Linux entry point (and our speed probe) starts in:
 * long mode, flat segments, the first 4 GiB identity-mapped with 2 MiB pages
 * (a raw kernel is entered at 2 GiB, as in libkrun).
 * The addresses are the ones libkrun uses, all below the 640 KiB low RAM. */
#ifndef KRUN_ARCH_X86_64_LONG_MODE_H
#define KRUN_ARCH_X86_64_LONG_MODE_H

#include <linux/kvm.h>

#include "base/guest_mem.h"

#define X86_GDT_ADDR 0x500
#define X86_IDT_ADDR 0x520
#define X86_ZERO_PAGE_ADDR 0x7000
#define X86_BOOT_STACK_ADDR 0x8ff0
#define X86_PML4_ADDR 0x9000
#define X86_PDPT_ADDR 0xa000
#define X86_PD_ADDR 0xb000 /* one page directory per GiB, up to 0xefff */
#define X86_IDENTITY_MAP_GIB 4
#define X86_CMDLINE_ADDR 0x20000
/* The guest kernel's COMMAND_LINE_SIZE on x86, terminating NUL included. */
#define X86_CMDLINE_SIZE 2048

#define X86_GDT_CODE_SEL 0x08
#define X86_GDT_DATA_SEL 0x10
#define X86_GDT_TSS_SEL 0x18

/* GDT, an empty IDT and the identity page tables, written into guest memory. */
int x86_write_long_mode_tables(const struct guest_memory *gm);

/* Segments, control registers and EFER for 64-bit mode over those tables. */
void x86_long_mode_sregs(struct kvm_sregs *sregs);

#endif
