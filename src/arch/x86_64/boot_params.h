/* What the guest kernel learns from its loader: the e820 memory map, the zero
 * page of Linux's 64-bit boot protocol, and where the initramfs goes. */
#ifndef KRUN_ARCH_X86_64_BOOT_PARAMS_H
#define KRUN_ARCH_X86_64_BOOT_PARAMS_H

#include <stdint.h>
#include <asm/bootparam.h>
#include <asm/e820.h>

#include "arch/x86_64/layout.h"
#include "base/guest_mem.h"

/* Low RAM, the EBDA and BIOS areas (reserved), RAM from 1 MiB, RAM from 4 GiB. */
#define X86_E820_MAX_ENTRIES 5

struct x86_e820 {
	unsigned int nr_entries;
	struct boot_e820_entry entries[X86_E820_MAX_ENTRIES];
};

/* The e820 map of a layout. The kernel image is RAM like the rest: the kernel
 * reserves its own pages. */
void x86_e820_build(const struct x86_layout *layout, struct x86_e820 *map);

/* Where the loader put the command line and the initramfs. */
struct x86_boot_info {
	uint64_t cmdline_gpa;    /* NUL-terminated in guest memory */
	uint32_t cmdline_len;    /* without the NUL */
	uint64_t initramfs_gpa;
	uint64_t initramfs_size; /* 0: no initramfs */
};

/* 0, or -EFAULT when the command line (with its NUL) or the initramfs is not
 * in guest memory, -E2BIG when the command line exceeds the guest's
 * X86_CMDLINE_SIZE: the checks of every boot protocol. */
int x86_check_boot_info(const struct guest_memory *gm, const struct x86_boot_info *info);

/* Check info with x86_check_boot_info(), then write the zero page at
 * X86_ZERO_PAGE_ADDR. Addresses above 4 GiB go into the ext_ fields, which
 * the 64-bit entry honours. */
int x86_write_zero_page(const struct guest_memory *gm, const struct x86_layout *layout,
			const struct x86_boot_info *info);

/* The initramfs's address: as high as possible in RAM below the gap, page
 * aligned, at or above min_gpa (the end of what the kernel occupies) and,
 * when initrd_addr_max (the kernel header's "last byte it may use") is not 0,
 * below it. It never overlaps the kernel image region. -ENOMEM if no RAM
 * region takes it, -EINVAL for an empty initramfs. */
int x86_initramfs_addr(const struct x86_layout *layout, uint64_t size, uint64_t min_gpa,
		       uint32_t initrd_addr_max, uint64_t *gpa);

#endif
