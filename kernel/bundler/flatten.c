#include "flatten.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A kernel image bigger than this is not a kernel we built. */
#define MAX_IMAGE_SIZE (512ull << 20)

#define REFUSE(...) \
	do { \
		snprintf(err, err_len, __VA_ARGS__); \
		return -1; \
	} while (0)

static int by_paddr(const void *a, const void *b)
{
	const Elf64_Phdr *x = a, *y = b;
	return (x->p_paddr > y->p_paddr) - (x->p_paddr < y->p_paddr);
}

int flatten_vmlinux(const uint8_t *elf, size_t len, struct flat_image *out, char *err,
		    size_t err_len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr loads[64];
	unsigned int nloads = 0;

	if (len < sizeof(eh))
		REFUSE("file too short for an ELF header");
	memcpy(&eh, elf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		REFUSE("not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		REFUSE("not a little-endian x86_64 ELF64 file");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		REFUSE("program headers outside the file");

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, elf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (nloads == sizeof(loads) / sizeof(loads[0]))
			REFUSE("more than %zu PT_LOAD segments", sizeof(loads) / sizeof(loads[0]));
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			REFUSE("segment %u's data lies outside the file", i);
		if (ph.p_filesz > ph.p_memsz || ph.p_memsz > MAX_IMAGE_SIZE ||
		    ph.p_paddr > UINT64_MAX - ph.p_memsz)
			REFUSE("segment %u has impossible sizes", i);
		loads[nloads++] = ph;
	}
	if (nloads == 0)
		REFUSE("no PT_LOAD segments");

	qsort(loads, nloads, sizeof(loads[0]), by_paddr);
	for (unsigned int i = 1; i < nloads; i++) {
		if (loads[i].p_paddr < loads[i - 1].p_paddr + loads[i - 1].p_memsz)
			REFUSE("PT_LOAD segments overlap at physical address 0x%llx",
			       (unsigned long long)loads[i].p_paddr);
	}

	uint64_t load = loads[0].p_paddr;
	const Elf64_Phdr *last = &loads[nloads - 1];
	/* The last segment's bss is left out: guest RAM after the image is zero. */
	uint64_t end = last->p_paddr + last->p_filesz;
	if (load % FLAT_IMAGE_ALIGN)
		REFUSE("load address 0x%llx is not page-aligned", (unsigned long long)load);
	if (end == load)
		REFUSE("the segments hold no data");
	if (end - load > MAX_IMAGE_SIZE)
		REFUSE("image spans %llu bytes, more than a kernel needs",
		       (unsigned long long)(end - load));
	uint64_t size = (end - load + FLAT_IMAGE_ALIGN - 1) / FLAT_IMAGE_ALIGN * FLAT_IMAGE_ALIGN;
	if (eh.e_entry < load || eh.e_entry - load >= size)
		REFUSE("entry point 0x%llx lies outside the image", (unsigned long long)eh.e_entry);
	uint8_t *data = calloc(1, size);
	if (!data)
		REFUSE("out of memory for a %llu-byte image", (unsigned long long)size);
	for (unsigned int i = 0; i < nloads; i++)
		memcpy(data + (loads[i].p_paddr - load), elf + loads[i].p_offset, loads[i].p_filesz);

	*out = (struct flat_image){
		.data = data,
		.size = size,
		.load_addr = load,
		.entry = eh.e_entry,
	};
	return 0;
}
