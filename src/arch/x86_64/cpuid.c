#include "arch/x86_64/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define LEAF1_ECX_VMX (1u << 5)
#define LEAF1_ECX_HYPERVISOR (1u << 31)
#define LEAF1_EDX_HTT (1u << 28)
#define EXT1_ECX_SVM (1u << 2)

int x86_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	for (unsigned int nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		int err = errno;
		free(c);
		if (err != E2BIG)
			return -err;
	}
	return -E2BIG;
}

/* Bits needed to number n things: the shift of the next topology level. */
static unsigned int order_of(unsigned int n)
{
	unsigned int bits = 0;
	while ((1u << bits) < n)
		bits++;
	return bits;
}

void x86_filter_cpuid(struct kvm_cpuid2 *cpuid, unsigned int cpu_index, unsigned int nr_cpus,
		      bool nested)
{
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* APIC ID and logical processor count of the package */
			e->ebx = (e->ebx & 0x0000ffffu) | (cpu_index << 24) | ((nr_cpus & 0xff) << 16);
			e->ecx |= LEAF1_ECX_HYPERVISOR;
			if (!nested)
				e->ecx &= ~LEAF1_ECX_VMX;
			if (nr_cpus > 1)
				e->edx |= LEAF1_EDX_HTT;
			else
				e->edx &= ~LEAF1_EDX_HTT;
			break;
		case 4:
			/* cores per package - 1; each cache private to one core */
			e->eax = (e->eax & 0x3fffu) | (((nr_cpus - 1) & 0x3f) << 26);
			break;
		case 0xb:
		case 0x1f:
			/* level 0: one thread per core; level 1: nr_cpus cores */
			e->edx = cpu_index;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = order_of(nr_cpus);
				e->ebx = nr_cpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			if (!nested)
				e->ecx &= ~EXT1_ECX_SVM;
			break;
		case 0x80000008:
			/* AMD: number of cores - 1, and the APIC ID bits they use */
			e->ecx = (e->ecx & ~0xf0ffu) | ((nr_cpus - 1) & 0xff) | (order_of(nr_cpus) << 12);
			break;
		default:
			break;
		}
	}
}

int x86_set_vcpu_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int cpu_index,
		       unsigned int nr_cpus, bool nested)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, size);
	x86_filter_cpuid(c, cpu_index, nr_cpus, nested);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}
