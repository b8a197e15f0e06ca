/* The bundler's flattening against synthetic ELF files, good and hostile. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flatten.h"

struct fake_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4];
	uint8_t data[3 * 4096];
};

/* Two loadable segments with a gap and bss between them, plus a note. */
static void make_elf(struct fake_elf *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_type = ET_EXEC;
	f->eh.e_entry = 0x1000010;
	f->eh.e_phoff = offsetof(struct fake_elf, ph);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = 3;
	size_t data = offsetof(struct fake_elf, data);
	/* listed out of physical order on purpose */
	f->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = data + 4096, .p_paddr = 0x1003000,
				 .p_vaddr = 0, .p_filesz = 100, .p_memsz = 5000 };
	f->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = data, .p_paddr = 0x1000000,
				 .p_filesz = 16, .p_memsz = 16 };
	f->ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = data, .p_paddr = 0x1000000,
				 .p_vaddr = 0xffffffff81000000, .p_filesz = 4000, .p_memsz = 8192 };
	for (size_t i = 0; i < sizeof(f->data); i++)
		f->data[i] = (uint8_t)(i * 7 + 1);
}

static int flatten(struct fake_elf *f, size_t len, struct flat_image *img)
{
	char err[256];
	int ret = flatten_vmlinux((const uint8_t *)f, len, img, err, sizeof(err));
	if (ret < 0)
		printf("refused: %s\n", err);
	return ret;
}

static void test_valid(void)
{
	struct fake_elf f;
	struct flat_image img;
	make_elf(&f);
	CHECK_EQ_INT(flatten(&f, sizeof(f), &img), 0);
	CHECK_EQ_INT(img.load_addr, 0x1000000);
	CHECK_EQ_INT(img.entry, 0x1000010);
	/* 0x3000 to the second segment + 100 bytes, rounded to a page */
	CHECK_EQ_INT(img.size, 0x4000);
	CHECK(memcmp(img.data, f.data, 4000) == 0);
	for (size_t i = 4000; i < 0x3000; i++)
		CHECK(img.data[i] == 0 || (printf("byte %zu not zero\n", i), 0));
	CHECK(memcmp(img.data + 0x3000, f.data + 4096, 100) == 0);
	for (size_t i = 0x3000 + 100; i < img.size; i++)
		CHECK(img.data[i] == 0);
	free(img.data);
}

static void test_hostile(void)
{
	struct fake_elf f;
	struct flat_image img;

	make_elf(&f);
	CHECK(flatten(&f, 10, &img) < 0); /* truncated header */

	make_elf(&f);
	f.eh.e_ident[EI_CLASS] = ELFCLASS32;
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.eh.e_phnum = 1000; /* headers run past the file */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[0].p_offset = sizeof(f) - 10; /* data past the end */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[0].p_offset = UINT64_MAX - 5; /* offset + size wraps */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[0].p_paddr = 0x1001000; /* inside the first segment's memory */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[0].p_filesz = 6000; /* more file than memory */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[2].p_paddr = 0x1000100; /* unaligned load address */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.eh.e_entry = 0x2000000; /* entry outside the image */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[0].p_paddr = 0x40000000; /* a gigabyte of padding */
	CHECK(flatten(&f, sizeof(f), &img) < 0);

	make_elf(&f);
	f.ph[0].p_type = f.ph[2].p_type = PT_NOTE;
	CHECK(flatten(&f, sizeof(f), &img) < 0);
}

int main(void)
{
	test_valid();
	test_hostile();
	return CHECK_DONE();
}
