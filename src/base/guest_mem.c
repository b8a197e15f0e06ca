#include "base/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

void *gm_ptr(const struct guest_memory *gm, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return NULL;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];
		/* Written so that nothing overflows: gpa - r->gpa only after
		 * gpa >= r->gpa, and the length compared against what is left. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

static bool overlaps(const struct guest_memory *gm, uint64_t gpa, uint64_t size)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return true;
	}
	return false;
}

static int add_region(struct guest_memory *gm, uint64_t gpa, uint64_t size, void *host, bool owned)
{
	if (gm->nr_regions == GM_MAX_REGIONS)
		return -ENOSPC;
	if (size == 0 || gpa + size < gpa || overlaps(gm, gpa, size))
		return -EINVAL;
	gm->regions[gm->nr_regions++] = (struct guest_region){
		.gpa = gpa, .size = size, .host = host, .owned = owned,
	};
	return 0;
}

int gm_add_anon(struct guest_memory *gm, uint64_t gpa, uint64_t size)
{
	void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return -errno;
	int ret = add_region(gm, gpa, size, host, true);
	if (ret < 0)
		munmap(host, size);
	return ret;
}

int gm_add_host(struct guest_memory *gm, uint64_t gpa, uint64_t size, void *host)
{
	return add_region(gm, gpa, size, host, false);
}

int gm_write(const struct guest_memory *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_register(const struct guest_memory *gm, int vm_fd)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

void gm_destroy(struct guest_memory *gm)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		if (gm->regions[i].owned)
			munmap(gm->regions[i].host, gm->regions[i].size);
	}
	gm->nr_regions = 0;
}

uint64_t gm_resident_bytes(const struct guest_memory *gm)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t resident = 0;
	unsigned char vec[4096];

	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];
		/* mincore tells of a file mapping's page cache, not of our own
		 * pages: only anonymous RAM counts here */
		if (!r->owned)
			continue;
		/* mincore a chunk at a time: one byte per page */
		for (uint64_t off = 0; off < r->size; off += sizeof(vec) * page) {
			uint64_t len = r->size - off < sizeof(vec) * page ? r->size - off
									 : sizeof(vec) * page;
			if (mincore(r->host + off, len, vec) < 0)
				break;
			for (uint64_t p = 0; p < (len + page - 1) / page; p++)
				resident += (vec[p] & 1) * (uint64_t)page;
		}
	}
	return resident;
}
