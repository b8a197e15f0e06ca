/* The CPUID a vCPU sees: KVM's supported list, with the topology made
 * consistent for nr_cpus single-threaded cores in one package, the hypervisor
 * bit set, and hardware virtualization hidden unless nested is wanted. */
#ifndef KRUN_ARCH_X86_64_CPUID_H
#define KRUN_ARCH_X86_64_CPUID_H

#include <stdbool.h>
#include <linux/kvm.h>

/* KVM_GET_SUPPORTED_CPUID, grown until it fits; free() the result. */
int x86_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);

/* Rewrite a copy of the supported list for the vCPU with APIC ID cpu_index. */
void x86_filter_cpuid(struct kvm_cpuid2 *cpuid, unsigned int cpu_index, unsigned int nr_cpus,
		      bool nested);

/* Filter a copy of supported and give it to the vCPU (KVM_SET_CPUID2). Must come
 * before KVM_SET_SREGS: KVM checks CR4 and EFER against the vCPU's CPUID. */
int x86_set_vcpu_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int cpu_index,
		       unsigned int nr_cpus, bool nested);

#endif
