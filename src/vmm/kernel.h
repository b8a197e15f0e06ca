/* Where the guest kernel comes from: libkrunfw.so.5 (dlopen'ed, so any bundle
 * with that ABI works) or krun_set_kernel's file, and the optional initramfs.
 * A flat image (the bundle, or a RAW file) is mapped into guest memory
 * without a copy; an ELF vmlinux is loaded by its segments and entered
 * through PVH. */
#ifndef KRUN_VMM_KERNEL_H
#define KRUN_VMM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/vm_config.h"

#define KRUNFW_SONAME "libkrunfw.so.5"
#define KRUNFW_ABI_VERSION 5
/* libkrun maps a RAW kernel file as a bundle at 2 GiB and enters it there. */
#define RAW_KERNEL_LOAD_ADDR 0x80000000ull

struct kernel_image {
	bool is_elf;
	/* flat image: host memory, page-aligned, mapped at load_addr */
	void *flat;
	uint64_t load_addr, entry, size;
	/* ELF: the whole file */
	void *elf;
	size_t elf_len;

	void *initramfs;
	size_t initramfs_len;

	void *krunfw_handle;
	void *file_map; /* what kernel_close unmaps */
	size_t file_map_len;
};

/* Load libkrunfw.so.5 for the process's life, if it can be found: called
 * when a context is made, as libkrun does, so that a client that makes its
 * context and then enters a container's root (crun) still starts a VM
 * whose root has no bundle. Any thread; once per process. */
void kernel_bundle_preload(void);

/* 0, or -errno with a log line saying what was wrong. */
int kernel_open(struct kernel_image *k, const struct vm_config *cfg);
void kernel_close(struct kernel_image *k);

#endif
