/* The guest physical memory map of an x86_64 microVM, as libkrun lays it out:
 * RAM from 0 up to the MMIO gap at 0xD000_0000, the rest of RAM from 4 GiB,
 * virtio-mmio slots at the start of the gap, and no PCI or ACPI anywhere.
 * A flat kernel image (libkrunfw's) sits inside low RAM as its own region so
 * that the bundle's pages are mapped into the guest without a copy. */
#ifndef KRUN_ARCH_X86_64_LAYOUT_H
#define KRUN_ARCH_X86_64_LAYOUT_H

#include <stdint.h>

#define X86_PAGE_SIZE 0x1000ull

/* Base memory ends where the EBDA begins; the BIOS area sits below 1 MiB. */
#define X86_EBDA_START 0x9fc00ull
#define X86_EBDA_END 0xa0000ull
#define X86_BIOS_START 0xf0000ull
#define X86_HIMEM_START 0x100000ull

#define X86_MMIO_GAP_START 0xd0000000ull
#define X86_MMIO_GAP_END 0x100000000ull

/* One 4 KiB virtio-mmio slot per device from the gap start, each with its own
 * ISA IRQ in 5..15: at most 11 devices. */
#define X86_MMIO_SLOT_SIZE 0x1000ull
#define X86_MMIO_FIRST_IRQ 5
#define X86_MMIO_LAST_IRQ 15
#define X86_MAX_MMIO_DEVICES (X86_MMIO_LAST_IRQ - X86_MMIO_FIRST_IRQ + 1)

/* Guest physical addresses stop at 52 bits on any x86_64. */
#define X86_MAX_PHYS_ADDR (1ull << 52)

enum x86_region_type {
	X86_REGION_RAM,          /* anonymous memory */
	X86_REGION_KERNEL_IMAGE, /* the flat kernel image, mapped in place */
};

struct x86_region {
	uint64_t gpa;
	uint64_t size;
	enum x86_region_type type;
};

/* Low RAM split around the kernel image in three, and RAM above 4 GiB. */
#define X86_MAX_REGIONS 4

struct x86_layout {
	uint64_t ram_size;      /* all RAM, the kernel image included */
	uint64_t low_ram_end;   /* RAM below the gap is [0, low_ram_end) */
	uint64_t high_ram_size; /* RAM from 4 GiB; 0 when all RAM fits below the gap */
	unsigned int nr_regions;
	struct x86_region regions[X86_MAX_REGIONS]; /* by address, none empty */
};

/* The least RAM x86_layout_init lays out with this kernel image (kernel_size
 * 0: none): more than the 1 MiB below the boot structures, and the image
 * whole in RAM. A guest's kernel wants more to boot, but no fixed amount. */
uint64_t x86_layout_min_ram(uint64_t kernel_load, uint64_t kernel_size);

/* Lay out ram_size bytes of RAM (page-aligned, more than 1 MiB). kernel_size 0
 * means no kernel image; otherwise [kernel_load, kernel_load + kernel_size)
 * must be page-aligned, start at or above 1 MiB (the boot structures live
 * below) and end inside low RAM: -EINVAL for a bad range, -ENOMEM when the RAM
 * is too small to hold the image (below x86_layout_min_ram). */
int x86_layout_init(struct x86_layout *layout, uint64_t ram_size, uint64_t kernel_load,
		    uint64_t kernel_size);

/* The MMIO slot and IRQ of the index'th device; -ENOSPC past the last one. */
int x86_mmio_slot(unsigned int index, uint64_t *gpa, uint32_t *irq);

#endif
