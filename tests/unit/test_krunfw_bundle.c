/* The built libkrunfw.so.5 against the vmlinux it was made from: ABI version,
 * page alignment, and the image equal to the ELF's loadable segments byte for
 * byte, with zeros everywhere no segment's file data lands.
 *
 *   test-krunfw-bundle LIBKRUNFW VMLINUX */
#include <dlfcn.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

typedef char *(*get_kernel_fn)(size_t *, size_t *, size_t *);
typedef int (*get_version_fn)(void);

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	uint8_t *buf = malloc(*len);
	if (buf && fread(buf, 1, *len, f) != *len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s LIBKRUNFW VMLINUX\n", argv[0]);
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	get_kernel_fn get_kernel = (get_kernel_fn)dlsym(lib, "krunfw_get_kernel");
	get_version_fn get_version = (get_version_fn)dlsym(lib, "krunfw_get_version");
	CHECK(get_kernel && get_version);
	if (!get_kernel || !get_version)
		return CHECK_DONE();
	CHECK_EQ_INT(get_version(), 5);

	size_t load, entry, size;
	const uint8_t *image = (const uint8_t *)get_kernel(&load, &entry, &size);
	printf("image %p, load 0x%zx, entry 0x%zx, size %zu\n", (void *)image, load, entry, size);
	CHECK((uintptr_t)image % 4096 == 0);
	CHECK(load % 4096 == 0);
	CHECK(size % 4096 == 0 && size > 0);

	size_t elf_len;
	uint8_t *elf = read_file(argv[2], &elf_len);
	CHECK(elf != NULL);
	if (!elf)
		return CHECK_DONE();
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff);
	CHECK_EQ_INT(entry, eh->e_entry);

	/* Mark which image bytes some segment's file data covers. */
	uint8_t *covered = calloc(1, size);
	uint64_t first_paddr = UINT64_MAX;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_paddr < first_paddr)
			first_paddr = ph[i].p_paddr;
		uint64_t off = ph[i].p_paddr - load;
		CHECK(off + ph[i].p_filesz <= size);
		if (off + ph[i].p_filesz > size)
			continue;
		CHECK(memcmp(image + off, elf + ph[i].p_offset, ph[i].p_filesz) == 0);
		memset(covered + off, 1, ph[i].p_filesz);
	}
	CHECK_EQ_INT(load, first_paddr);
	size_t nonzero_padding = 0;
	for (size_t i = 0; i < size; i++)
		nonzero_padding += !covered[i] && image[i] != 0;
	CHECK_EQ_INT(nonzero_padding, 0);
	free(covered);
	free(elf);
	return CHECK_DONE();
}
