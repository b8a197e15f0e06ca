#include "arch/x86_64/long_mode.h"

#include <errno.h>
#include <stdint.h>

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITE (1ull << 1)
#define PTE_HUGE (1ull << 7)

/* Descriptor = base, limit and the access/flags word in the x86 layout. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (limit & 0x0000ffffu);
}

#define GDT_CODE64 0xa09b /* present, ring 0, code, exec/read, accessed; L, G */
#define GDT_DATA 0xc093   /* present, ring 0, data, read/write, accessed; DB, G */
#define GDT_TSS 0x808b    /* present, busy 64-bit TSS; G */

int x86_write_long_mode_tables(const struct guest_memory *gm)
{
	const uint64_t gdt[4] = {
		0,
		gdt_entry(GDT_CODE64, 0, 0xfffff),
		gdt_entry(GDT_DATA, 0, 0xfffff),
		gdt_entry(GDT_TSS, 0, 0xfffff),
	};
	const uint64_t idt = 0;
	uint64_t pml4 = X86_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	uint64_t pdpt[X86_IDENTITY_MAP_GIB];
	uint64_t *pd = gm_ptr(gm, X86_PD_ADDR, X86_IDENTITY_MAP_GIB * 512 * sizeof(uint64_t));
	int ret;

	if (!pd)
		return -EFAULT; /* low memory missing from the layout */
	for (uint64_t i = 0; i < X86_IDENTITY_MAP_GIB * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	for (uint64_t i = 0; i < X86_IDENTITY_MAP_GIB; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_WRITE;
	if ((ret = gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt))) < 0 ||
	    (ret = gm_write(gm, X86_IDT_ADDR, &idt, sizeof(idt))) < 0 ||
	    (ret = gm_write(gm, X86_PML4_ADDR, &pml4, sizeof(pml4))) < 0 ||
	    (ret = gm_write(gm, X86_PDPT_ADDR, pdpt, sizeof(pdpt))) < 0)
		return ret;
	return 0;
}

static struct kvm_segment segment(uint16_t selector, uint16_t flags)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = flags & 0xf,
		.present = (flags >> 7) & 1,
		.dpl = (flags >> 5) & 3,
		.db = (flags >> 14) & 1,
		.s = (flags >> 4) & 1,
		.l = (flags >> 13) & 1,
		.g = (flags >> 15) & 1,
	};
}

void x86_long_mode_sregs(struct kvm_sregs *sregs)
{
	struct kvm_segment data = segment(X86_GDT_DATA_SEL, GDT_DATA);

	sregs->cs = segment(X86_GDT_CODE_SEL, GDT_CODE64);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = segment(X86_GDT_TSS_SEL, GDT_TSS);
	sregs->gdt.base = X86_GDT_ADDR;
	sregs->gdt.limit = 4 * sizeof(uint64_t) - 1;
	sregs->idt.base = X86_IDT_ADDR;
	sregs->idt.limit = sizeof(uint64_t) - 1;
	sregs->cr3 = X86_PML4_ADDR;
	sregs->cr4 |= CR4_PAE;
	sregs->cr0 |= CR0_PE | CR0_ET | CR0_PG;
	sregs->efer |= EFER_LME | EFER_LMA;
}
