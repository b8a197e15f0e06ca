/* What KVM needs of an x86 VM and its vCPUs before they run: the real-mode
 * areas, each vCPU's CPUID and local APIC, and the boot vCPU's registers at
 * the kernel's entry. Every call is an ioctl on a KVM fd the caller owns;
 * each returns 0 or -errno. */
#ifndef KRUN_ARCH_X86_64_VCPU_SETUP_H
#define KRUN_ARCH_X86_64_VCPU_SETUP_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* How the kernel is entered. */
enum x86_boot_protocol {
	X86_BOOT_LINUX_64, /* Linux's 64-bit boot protocol: long mode, RSI at the zero page */
	X86_BOOT_PVH,      /* PVH: 32-bit protected mode, EBX at the start info */
};

/* Where KVM keeps the TSS and identity map it needs to run real mode on
 * Intel; before the first vCPU is created. */
int x86_vm_setup(int vm_fd);

/* A new vCPU with APIC ID index of nr_vcpus: its CPUID from KVM's supported
 * list (first: KVM checks CR4 and EFER against it), then its local APIC's
 * LINT0 for the legacy PIC's interrupts and LINT1 for NMIs. */
int x86_vcpu_init(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int index,
		  unsigned int nr_vcpus, bool nested);

/* The boot vCPU, about to run the kernel at entry: segments and control
 * registers for the protocol, its registers, and the FPU as after reset. */
int x86_boot_vcpu_setup(int vcpu_fd, enum x86_boot_protocol protocol, uint64_t entry);

#endif
