/* PVH boot, for a vmlinux ELF given by the client instead of libkrunfw's flat
 * image. The protocol is Xen's, which Linux also speaks on KVM: the kernel
 * names a 32-bit entry point in an ELF note, and the loader enters it in flat
 * 32-bit protected mode without paging, EBX pointing at a struct
 * hvm_start_info that carries the command line, the modules (our initramfs)
 * and the memory map. */
#ifndef KRUN_ARCH_X86_64_PVH_H
#define KRUN_ARCH_X86_64_PVH_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "arch/x86_64/boot_params.h"
#include "arch/x86_64/layout.h"
#include "base/guest_mem.h"

/* No Xen headers are installed: the ABI of xen/include/public/arch-x86/hvm/start_info.h
 * and xen/include/public/elfnote.h, version 1. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr; /* array of struct hvm_modlist_entry */
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;    /* 0: no ACPI */
	uint64_t memmap_paddr;  /* array of struct hvm_memmap_table_entry */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* the e820 types */
	uint32_t reserved;
};

/* In the free low memory below the zero page, which PVH does not use. */
#define X86_PVH_START_INFO_ADDR 0x6000
#define X86_PVH_MODLIST_ADDR 0x6040
#define X86_PVH_MEMMAP_ADDR 0x6080

struct x86_pvh_kernel {
	uint64_t entry; /* the 32-bit PVH entry point */
	uint64_t end;   /* just above the highest loaded byte, bss included */
};

/* Load an untrusted vmlinux: its PT_LOAD segments, by physical address, and
 * its PVH entry point. Nothing is written unless the whole file is good.
 * -ENOEXEC for a malformed or non-x86_64 ELF, -EOPNOTSUPP for a kernel without
 * a PVH entry note, -EFAULT for a segment outside guest RAM or in the low
 * MiB that the boot structures use. */
int x86_pvh_load_elf(const struct guest_memory *gm, const void *elf, size_t len,
		     struct x86_pvh_kernel *kernel);

/* hvm_start_info, its module list (the initramfs, if any) and the layout's
 * memory map, at the addresses above; info is checked as for the zero page. */
int x86_pvh_write_start_info(const struct guest_memory *gm, const struct x86_layout *layout,
			     const struct x86_boot_info *info);

/* A flat 32-bit GDT at X86_GDT_ADDR matching x86_pvh_sregs()'s segments. */
int x86_pvh_write_gdt(const struct guest_memory *gm);

/* Flat 32-bit code and data segments, a 32-bit TSS, protected mode with
 * paging, PAE and long mode off, as PVH requires. */
void x86_pvh_sregs(struct kvm_sregs *sregs);

/* RIP at the entry, EBX at the start info, interrupts off. */
void x86_pvh_regs(struct kvm_regs *regs, uint64_t entry);

#endif
