#include "arch/x86_64/pvh.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_64/long_mode.h"

_Static_assert(X86_PVH_START_INFO_ADDR + sizeof(struct hvm_start_info) <= X86_PVH_MODLIST_ADDR,
	       "start info overlaps the module list");
_Static_assert(X86_PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry) <= X86_PVH_MEMMAP_ADDR,
	       "module list overlaps the memory map");
_Static_assert(X86_PVH_MEMMAP_ADDR + X86_E820_MAX_ENTRIES * sizeof(struct hvm_memmap_table_entry) <=
		       X86_ZERO_PAGE_ADDR,
	       "memory map runs into the zero page");

#define XEN_NOTE_NAME "Xen"

static uint64_t align_up(uint64_t value, uint64_t align)
{
	return (value + align - 1) & ~(align - 1);
}

static int read_elf_header(const uint8_t *elf, size_t len, Elf64_Ehdr *eh)
{
	if (len < sizeof(*eh))
		return -ENOEXEC;
	memcpy(eh, elf, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return -ENOEXEC;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return -ENOEXEC;
	return 0;
}

static Elf64_Phdr read_phdr(const uint8_t *elf, const Elf64_Ehdr *eh, unsigned int i)
{
	Elf64_Phdr ph;

	memcpy(&ph, elf + eh->e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

/* The PHYS32_ENTRY note among the notes of one PT_NOTE segment: -ENOENT when
 * it is not there, -ENOEXEC when a note runs past the segment. Offsets are
 * relative to the segment, which starts aligned. */
static int find_entry_note(const uint8_t *notes, uint64_t size, uint64_t align, uint64_t *entry)
{
	uint64_t pos = 0;

	while (size - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name, desc;

		memcpy(&nh, notes + pos, sizeof(nh));
		name = pos + sizeof(nh);
		desc = align_up(name + nh.n_namesz, align);
		if (desc > size || nh.n_descsz > size - desc)
			return -ENOEXEC;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == sizeof(XEN_NOTE_NAME) &&
		    memcmp(notes + name, XEN_NOTE_NAME, sizeof(XEN_NOTE_NAME)) == 0) {
			uint64_t value = 0;

			/* Older kernels write a .long, newer ones a pointer-sized
			 * value; either way the entry is a 32-bit address. */
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return -ENOEXEC;
			memcpy(&value, notes + desc, nh.n_descsz);
			if (value > UINT32_MAX)
				return -ENOEXEC;
			*entry = value;
			return 0;
		}
		pos = align_up(desc + nh.n_descsz, align);
		if (pos > size)
			break;
	}
	return -ENOENT;
}

static int find_pvh_entry(const uint8_t *elf, size_t len, const Elf64_Ehdr *eh, uint64_t *entry)
{
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph = read_phdr(elf, eh, i);
		int ret;

		if (ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return -ENOEXEC;
		ret = find_entry_note(elf + ph.p_offset, ph.p_filesz, ph.p_align == 8 ? 8 : 4,
				      entry);
		if (ret != -ENOENT)
			return ret;
	}
	return -EOPNOTSUPP;
}

/* Where a PT_LOAD segment goes in the host, after checking it against the
 * file and guest memory. */
static int segment_host(const struct guest_memory *gm, size_t len, const Elf64_Phdr *ph,
			uint8_t **host)
{
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset ||
	    ph->p_filesz > ph->p_memsz || ph->p_memsz > UINT64_MAX - ph->p_paddr)
		return -ENOEXEC;
	if (ph->p_paddr < X86_HIMEM_START)
		return -EFAULT;
	*host = gm_ptr(gm, ph->p_paddr, ph->p_memsz);
	return *host ? 0 : -EFAULT;
}

int x86_pvh_load_elf(const struct guest_memory *gm, const void *elf_file, size_t len,
		     struct x86_pvh_kernel *kernel)
{
	const uint8_t *elf = elf_file;
	bool entry_loaded = false;
	uint64_t entry, end = 0;
	uint8_t *host;
	Elf64_Ehdr eh;
	int ret;

	if ((ret = read_elf_header(elf, len, &eh)) < 0 ||
	    (ret = find_pvh_entry(elf, len, &eh, &entry)) < 0)
		return ret;
	/* Check every segment before the first byte is written. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = read_phdr(elf, &eh, i);

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if ((ret = segment_host(gm, len, &ph, &host)) < 0)
			return ret;
		if (entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_filesz)
			entry_loaded = true;
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	if (!entry_loaded)
		return -ENOEXEC;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph = read_phdr(elf, &eh, i);

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		host = gm_ptr(gm, ph.p_paddr, ph.p_memsz); /* checked above */
		memcpy(host, elf + ph.p_offset, ph.p_filesz);
		memset(host + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	*kernel = (struct x86_pvh_kernel){ .entry = entry, .end = end };
	return 0;
}

int x86_pvh_write_start_info(const struct guest_memory *gm, const struct x86_layout *layout,
			     const struct x86_boot_info *info)
{
	struct hvm_memmap_table_entry memmap[X86_E820_MAX_ENTRIES] = { 0 };
	struct hvm_modlist_entry initramfs = {
		.paddr = info->initramfs_gpa,
		.size = info->initramfs_size,
	};
	struct hvm_start_info start_info = {
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1,
		.cmdline_paddr = info->cmdline_gpa,
		.memmap_paddr = X86_PVH_MEMMAP_ADDR,
	};
	struct x86_e820 map;
	int ret = x86_check_boot_info(gm, info);

	if (ret < 0)
		return ret;
	x86_e820_build(layout, &map);
	for (unsigned int i = 0; i < map.nr_entries; i++) {
		memmap[i].addr = map.entries[i].addr;
		memmap[i].size = map.entries[i].size;
		memmap[i].type = map.entries[i].type;
	}
	start_info.memmap_entries = map.nr_entries;
	if (info->initramfs_size) {
		/* Linux takes the first module for its initramfs. */
		start_info.nr_modules = 1;
		start_info.modlist_paddr = X86_PVH_MODLIST_ADDR;
		ret = gm_write(gm, X86_PVH_MODLIST_ADDR, &initramfs, sizeof(initramfs));
	}
	if (ret < 0 ||
	    (ret = gm_write(gm, X86_PVH_MEMMAP_ADDR, memmap, map.nr_entries * sizeof(memmap[0]))) < 0)
		return ret;
	return gm_write(gm, X86_PVH_START_INFO_ADDR, &start_info, sizeof(start_info));
}

/* Flat 4 GiB descriptors: G and D/B with present ring-0 code (execute/read)
 * and data (read/write), both accessed; a busy 32-bit TSS of 0x68 bytes. */
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA32 0x00cf93000000ffffull
#define GDT_TSS32 0x00008b0000000067ull
#define TSS32_LIMIT 0x67

int x86_pvh_write_gdt(const struct guest_memory *gm)
{
	const uint64_t gdt[4] = { 0, GDT_CODE32, GDT_DATA32, GDT_TSS32 };

	return gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt));
}

#define SEG_TYPE_CODE_XR_ACCESSED 0xb
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define SEG_TYPE_TSS32_BUSY 0xb
#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define RFLAGS_RESERVED (1ull << 1)

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.db = 1,
		.s = 1,
		.g = 1,
	};
}

void x86_pvh_sregs(struct kvm_sregs *sregs)
{
	struct kvm_segment data = flat_segment(X86_GDT_DATA_SEL, SEG_TYPE_DATA_RW_ACCESSED);

	sregs->cs = flat_segment(X86_GDT_CODE_SEL, SEG_TYPE_CODE_XR_ACCESSED);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = (struct kvm_segment){
		.limit = TSS32_LIMIT,
		.selector = X86_GDT_TSS_SEL,
		.type = SEG_TYPE_TSS32_BUSY,
		.present = 1,
	};
	sregs->gdt.base = X86_GDT_ADDR;
	sregs->gdt.limit = 4 * sizeof(uint64_t) - 1;
	/* PVH: PE set, every other writable CR0 bit and all of CR4 clear, no long mode. */
	sregs->cr0 = CR0_PE | CR0_ET;
	sregs->cr4 = 0;
	sregs->efer = 0;
}

void x86_pvh_regs(struct kvm_regs *regs, uint64_t entry)
{
	*regs = (struct kvm_regs){
		.rip = entry,
		.rbx = X86_PVH_START_INFO_ADDR,
		.rflags = RFLAGS_RESERVED,
	};
}
