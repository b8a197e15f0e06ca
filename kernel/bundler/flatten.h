/* Flatten a vmlinux's PT_LOAD segments into one zero-padded image that a VMM
 * maps at the first segment's physical address: what libkrunfw's ABI hands
 * out through krunfw_get_kernel(). */
#ifndef KRUNFW_FLATTEN_H
#define KRUNFW_FLATTEN_H

#include <stddef.h>
#include <stdint.h>

#define FLAT_IMAGE_ALIGN 4096u

struct flat_image {
	uint8_t *data;     /* malloc'd, size bytes */
	uint64_t size;     /* multiple of FLAT_IMAGE_ALIGN */
	uint64_t load_addr; /* physical address of data[0] */
	uint64_t entry;    /* ELF entry point (physical for x86_64 vmlinux) */
};

/* 0, or -1 with a reason in err. The input is untrusted: every header and
 * segment is bounds-checked against len. */
int flatten_vmlinux(const uint8_t *elf, size_t len, struct flat_image *out, char *err,
		    size_t err_len);

#endif
