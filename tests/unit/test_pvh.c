/* PVH: a synthetic vmlinux with an entry note, hostile variants of it, the
 * start info read back by its ABI offsets, and the entry register state. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_64/long_mode.h"
#include "arch/x86_64/pvh.h"
#include "check.h"

#define MiB (1ull << 20)
#define RAM_SIZE (64 * MiB)
#define TEXT_GPA 0x1000000ull
#define DATA_GPA 0x1200000ull
#define ENTRY 0x1000100u

struct fake_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	uint8_t notes[128];
	uint8_t text[0x800];
	uint8_t data[0x100];
};

enum { PH_NOTE, PH_TEXT, PH_DATA };

static size_t entry_note_offset; /* of the PHYS32_ENTRY note in notes[] */

static size_t align_up(size_t v, size_t align)
{
	return (v + align - 1) / align * align;
}

static size_t add_note(uint8_t *notes, size_t pos, size_t align, const char *name,
		       uint32_t type, const void *desc, uint32_t desc_size)
{
	Elf64_Nhdr nh = { .n_namesz = strlen(name) + 1, .n_descsz = desc_size, .n_type = type };

	memcpy(notes + pos, &nh, sizeof(nh));
	memcpy(notes + pos + sizeof(nh), name, nh.n_namesz);
	pos = align_up(pos + sizeof(nh) + nh.n_namesz, align);
	memcpy(notes + pos, desc, desc_size);
	return align_up(pos + desc_size, align);
}

/* A GNU note, an unrelated Xen note, then the entry note; notes_align 4 or 8. */
static void make_elf(struct fake_elf *f, size_t notes_align)
{
	const uint8_t build_id[20] = { 1, 2, 3 };
	const uint32_t loader = 0x1234, entry = ENTRY;
	size_t pos;

	memset(f, 0, sizeof(*f));
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_type = ET_EXEC;
	f->eh.e_entry = 0xffffffff81000000;
	f->eh.e_phoff = offsetof(struct fake_elf, ph);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = 3;

	pos = add_note(f->notes, 0, notes_align, "GNU", NT_GNU_BUILD_ID, build_id, 4);
	pos = add_note(f->notes, pos, notes_align, "Xen", 1, &loader, sizeof(loader));
	entry_note_offset = pos;
	pos = add_note(f->notes, pos, notes_align, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry,
		       sizeof(entry));

	f->ph[PH_NOTE] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = offsetof(struct fake_elf, notes),
				       .p_filesz = pos, .p_align = notes_align };
	f->ph[PH_TEXT] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof(struct fake_elf, text),
				       .p_paddr = TEXT_GPA, .p_filesz = sizeof(f->text),
				       .p_memsz = 0x3000 };
	f->ph[PH_DATA] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof(struct fake_elf, data),
				       .p_paddr = DATA_GPA, .p_filesz = sizeof(f->data),
				       .p_memsz = sizeof(f->data) };
	for (size_t i = 0; i < sizeof(f->text); i++)
		f->text[i] = (uint8_t)(i * 3 + 1);
	memset(f->data, 0x5d, sizeof(f->data));
}

static Elf64_Nhdr *entry_note(struct fake_elf *f)
{
	return (Elf64_Nhdr *)(f->notes + entry_note_offset);
}

static void fill_guest(const struct guest_memory *gm, uint8_t byte)
{
	memset(gm_ptr(gm, TEXT_GPA, 0x3000), byte, 0x3000);
}

static bool guest_untouched(const struct guest_memory *gm)
{
	const uint8_t *p = gm_ptr(gm, TEXT_GPA, 0x3000);
	for (size_t i = 0; i < 0x3000; i++) {
		if (p[i] != 0xaa)
			return false;
	}
	return true;
}

static void test_load(const struct guest_memory *gm, size_t notes_align, uint32_t entry_size)
{
	struct fake_elf f;
	struct x86_pvh_kernel kernel;

	make_elf(&f, notes_align);
	/* the 8-byte form: the next 4 bytes, zero padding so far, are its top half */
	entry_note(&f)->n_descsz = entry_size;
	f.ph[PH_NOTE].p_filesz += align_up(entry_size, notes_align) - align_up(4, notes_align);
	fill_guest(gm, 0xaa);
	CHECK_EQ_INT(x86_pvh_load_elf(gm, &f, sizeof(f), &kernel), 0);
	CHECK_EQ_INT(kernel.entry, ENTRY);
	CHECK_EQ_INT(kernel.end, DATA_GPA + sizeof(f.data));
	const uint8_t *text = gm_ptr(gm, TEXT_GPA, 0x3000);
	CHECK(memcmp(text, f.text, sizeof(f.text)) == 0);
	bool bss_zero = true;
	for (size_t i = sizeof(f.text); i < 0x3000; i++)
		bss_zero &= text[i] == 0;
	CHECK(bss_zero);
	CHECK(memcmp(gm_ptr(gm, DATA_GPA, sizeof(f.data)), f.data, sizeof(f.data)) == 0);
}

/* Load a spoiled copy; expect err and no byte written. */
static int load_hostile(const struct guest_memory *gm, struct fake_elf *f, size_t len)
{
	struct x86_pvh_kernel kernel;
	int ret;

	fill_guest(gm, 0xaa);
	ret = x86_pvh_load_elf(gm, f, len, &kernel);
	CHECK(guest_untouched(gm));
	return ret;
}

static void test_hostile_headers(const struct guest_memory *gm)
{
	struct fake_elf f;

	make_elf(&f, 4);
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(Elf64_Ehdr) - 1), -ENOEXEC);
	CHECK_EQ_INT(load_hostile(gm, &f, offsetof(struct fake_elf, ph[2])), -ENOEXEC);
	f.eh.e_machine = EM_AARCH64;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.eh.e_ident[EI_CLASS] = ELFCLASS32;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.eh.e_phnum = 0xffff;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.eh.e_phoff = UINT64_MAX - 8;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.eh.e_phentsize = sizeof(Elf64_Phdr) + 8;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
}

static void test_hostile_notes(const struct guest_memory *gm)
{
	struct fake_elf f;

	make_elf(&f, 4);
	((Elf64_Nhdr *)f.notes)->n_namesz = 0xfffffff0;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	((Elf64_Nhdr *)f.notes)->n_descsz = 0xffffffff;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	/* the entry's value runs past the segment, though not past the file */
	make_elf(&f, 4);
	f.ph[PH_NOTE].p_filesz -= 2;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	entry_note(&f)->n_descsz = 64;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	/* an 8-byte value, as newer kernels write it, must still be a 32-bit address */
	make_elf(&f, 4);
	entry_note(&f)->n_descsz = 8;
	f.ph[PH_NOTE].p_filesz += 4;
	f.notes[entry_note_offset + sizeof(Elf64_Nhdr) + 4 + 4] = 1;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	entry_note(&f)->n_descsz = 2;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.ph[PH_NOTE].p_offset = sizeof(f);
	f.ph[PH_NOTE].p_filesz = 1;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.ph[PH_NOTE].p_offset = UINT64_MAX;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	/* notes read with the wrong alignment do not line up with the entry note */
	make_elf(&f, 8);
	f.ph[PH_NOTE].p_align = 4;
	CHECK(load_hostile(gm, &f, sizeof(f)) < 0);
	/* no PVH entry: a kernel we cannot boot this way */
	make_elf(&f, 4);
	entry_note(&f)->n_type = 17;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -EOPNOTSUPP);
	make_elf(&f, 4);
	memcpy(f.notes + entry_note_offset + sizeof(Elf64_Nhdr), "Xem", 4);
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -EOPNOTSUPP);
	make_elf(&f, 4);
	f.ph[PH_NOTE].p_type = PT_NULL;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -EOPNOTSUPP);
}

static void test_hostile_segments(const struct guest_memory *gm)
{
	struct fake_elf f;

	make_elf(&f, 4);
	f.ph[PH_DATA].p_paddr = 0xd0000000; /* in the MMIO gap, not RAM */
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -EFAULT);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_memsz = RAM_SIZE; /* bss past the end of RAM */
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -EFAULT);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_paddr = 0x7000; /* over the boot structures */
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -EFAULT);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_paddr = UINT64_MAX - 0x10;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_memsz = UINT64_MAX;
	f.ph[PH_DATA].p_filesz = UINT64_MAX;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_offset = UINT64_MAX - 0x10;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_filesz = 0x200; /* past the end of the file */
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	make_elf(&f, 4);
	f.ph[PH_DATA].p_memsz = f.ph[PH_DATA].p_filesz - 1;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
	/* the entry must be loaded code, not bss */
	make_elf(&f, 4);
	f.ph[PH_TEXT].p_filesz = 0x100;
	CHECK_EQ_INT(load_hostile(gm, &f, sizeof(f)), -ENOEXEC);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void test_start_info(const struct guest_memory *gm)
{
	static const char cmdline[] = "console=hvc0";
	struct x86_layout l;
	struct x86_boot_info info = {
		.cmdline_gpa = X86_CMDLINE_ADDR,
		.cmdline_len = sizeof(cmdline) - 1,
		.initramfs_gpa = 32 * MiB,
		.initramfs_size = 5 * MiB + 3,
	};

	CHECK_EQ_INT(sizeof(struct hvm_start_info), 56);
	CHECK_EQ_INT(sizeof(struct hvm_modlist_entry), 32);
	CHECK_EQ_INT(sizeof(struct hvm_memmap_table_entry), 24);
	CHECK_EQ_INT(x86_layout_init(&l, RAM_SIZE, 0, 0), 0);
	CHECK_EQ_INT(gm_write(gm, X86_CMDLINE_ADDR, cmdline, sizeof(cmdline)), 0);
	CHECK_EQ_INT(x86_pvh_write_start_info(gm, &l, &info), 0);

	const uint8_t *si = gm_ptr(gm, X86_PVH_START_INFO_ADDR, 56);
	CHECK_EQ_INT(le32(si + 0), 0x336ec578);
	CHECK_EQ_INT(le32(si + 4), 1);
	CHECK_EQ_INT(le32(si + 12), 1);
	CHECK_EQ_INT(le64(si + 24), X86_CMDLINE_ADDR);
	CHECK_EQ_INT(le64(si + 32), 0);
	const uint8_t *mod = gm_ptr(gm, le64(si + 16), 32);
	CHECK(mod != NULL);
	if (mod) {
		CHECK_EQ_INT(le64(mod + 0), 32 * MiB);
		CHECK_EQ_INT(le64(mod + 8), 5 * MiB + 3);
	}
	unsigned int nr = le32(si + 48);
	CHECK_EQ_INT(nr, 4);
	const uint8_t *memmap = gm_ptr(gm, le64(si + 40), nr * 24);
	CHECK(memmap != NULL);
	if (memmap) {
		CHECK_EQ_INT(le64(memmap), 0);
		CHECK_EQ_INT(le32(memmap + 16), E820_RAM);
		CHECK_EQ_INT(le64(memmap + 3 * 24), 1 * MiB);
		CHECK_EQ_INT(le64(memmap + 3 * 24 + 8), RAM_SIZE - 1 * MiB);
		CHECK_EQ_INT(le32(memmap + 3 * 24 + 16), E820_RAM);
		CHECK_EQ_INT(le32(memmap + 3 * 24 + 20), 0);
	}

	/* without an initramfs there is no module */
	info.initramfs_size = 0;
	CHECK_EQ_INT(x86_pvh_write_start_info(gm, &l, &info), 0);
	CHECK_EQ_INT(le32(si + 12), 0);
	CHECK_EQ_INT(le64(si + 16), 0);
	info.cmdline_len = 3; /* no NUL there */
	CHECK_EQ_INT(x86_pvh_write_start_info(gm, &l, &info), -EFAULT);
}

/* A segment register must say what its GDT descriptor says. */
static void check_descriptor(const struct guest_memory *gm, const struct kvm_sregs *sregs,
			     const struct kvm_segment *seg)
{
	const uint8_t *d = gm_ptr(gm, sregs->gdt.base + seg->selector, 8);
	CHECK(d != NULL && seg->selector + 7u <= sregs->gdt.limit);
	if (!d)
		return;
	uint32_t limit = d[0] | d[1] << 8 | (d[6] & 0xf) << 16;
	uint32_t base = d[2] | d[3] << 8 | d[4] << 16 | (uint32_t)d[7] << 24;
	bool g = d[6] >> 7;

	CHECK_EQ_INT(base, seg->base);
	CHECK_EQ_INT(g ? (limit << 12 | 0xfff) : limit, seg->limit);
	CHECK_EQ_INT(d[5] & 0xf, seg->type);
	CHECK_EQ_INT((d[5] >> 4) & 1, seg->s);
	CHECK_EQ_INT((d[5] >> 5) & 3, seg->dpl);
	CHECK_EQ_INT(d[5] >> 7, seg->present);
	CHECK_EQ_INT((d[6] >> 5) & 1, seg->l);
	CHECK_EQ_INT((d[6] >> 6) & 1, seg->db);
	CHECK_EQ_INT(g, seg->g);
}

static void test_entry_state(const struct guest_memory *gm)
{
	struct kvm_sregs sregs = { .cr0 = 0x80000011, .cr4 = 0x20, .efer = 0x500 };
	struct kvm_regs regs;

	CHECK_EQ_INT(x86_pvh_write_gdt(gm), 0);
	x86_pvh_sregs(&sregs);
	CHECK_EQ_INT(sregs.cr0 & 1, 1);           /* protected mode */
	CHECK_EQ_INT(sregs.cr0 & 0x80000000, 0);  /* paging off */
	CHECK_EQ_INT(sregs.cr4, 0);
	CHECK_EQ_INT(sregs.efer & 0x500, 0);      /* LME and LMA */
	CHECK_EQ_INT(sregs.cs.l, 0);
	CHECK_EQ_INT(sregs.cs.db, 1);
	CHECK_EQ_INT(sregs.cs.type & 8, 8);       /* code */
	CHECK_EQ_INT(sregs.ds.type & 8, 0);       /* data */
	CHECK_EQ_INT(sregs.ds.limit, 0xffffffff);
	CHECK_EQ_INT(sregs.tr.type, 11);          /* busy 32-bit TSS */
	check_descriptor(gm, &sregs, &sregs.cs);
	check_descriptor(gm, &sregs, &sregs.ds);
	check_descriptor(gm, &sregs, &sregs.ss);
	check_descriptor(gm, &sregs, &sregs.tr);

	memset(&regs, 0xff, sizeof(regs));
	x86_pvh_regs(&regs, ENTRY);
	CHECK_EQ_INT(regs.rip, ENTRY);
	CHECK_EQ_INT(regs.rbx, X86_PVH_START_INFO_ADDR);
	CHECK_EQ_INT(regs.rflags, 2); /* IF, TF and VM clear */
}

int main(void)
{
	struct guest_memory gm = { 0 };

	CHECK_EQ_INT(gm_add_anon(&gm, 0, RAM_SIZE), 0);
	test_load(&gm, 4, 4);
	test_load(&gm, 8, 4);
	test_load(&gm, 4, 8);
	test_load(&gm, 8, 8);
	test_hostile_headers(&gm);
	test_hostile_notes(&gm);
	test_hostile_segments(&gm);
	test_start_info(&gm);
	test_entry_state(&gm);
	gm_destroy(&gm);
	return CHECK_DONE();
}
