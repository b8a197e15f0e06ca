/* Guest physical memory: a few host mappings, each registered as a KVM slot.
 *
 * Every access to guest memory from the VMM goes through gm_ptr(), the one
 * overflow-checked "guest range to host pointer" translation. Guest addresses
 * and lengths are untrusted; a NULL return is the only answer to a range that
 * is not wholly inside one region. */
#ifndef KRUN_BASE_GUEST_MEM_H
#define KRUN_BASE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 8

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	bool owned; /* mapped by gm_add_anon(), unmapped by gm_destroy() */
};

struct guest_memory {
	struct guest_region regions[GM_MAX_REGIONS];
	unsigned int nr_regions;
};

/* Host pointer for guest range [gpa, gpa + len), or NULL unless that range lies
 * entirely inside one region. len == 0 is refused: callers always mean bytes. */
void *gm_ptr(const struct guest_memory *gm, uint64_t gpa, uint64_t len);

/* Map size bytes of fresh anonymous memory at gpa: reserved, not touched, so
 * the guest's untouched RAM costs the host nothing. */
int gm_add_anon(struct guest_memory *gm, uint64_t gpa, uint64_t size);

/* Use existing host memory (the kernel bundle's image) as a region, no copy. */
int gm_add_host(struct guest_memory *gm, uint64_t gpa, uint64_t size, void *host);

/* Copy bytes into guest memory; -EFAULT if the range is not guest memory. */
int gm_write(const struct guest_memory *gm, uint64_t gpa, const void *src, uint64_t len);

/* Register every region with the VM as a KVM memory slot. */
int gm_register(const struct guest_memory *gm, int vm_fd);

/* Bytes of the guest's anonymous RAM resident now (pages the guest or the
 * VMM touched). Host memory lent as a region (the kernel bundle's image) is
 * not counted. */
uint64_t gm_resident_bytes(const struct guest_memory *gm);

void gm_destroy(struct guest_memory *gm);

#endif
