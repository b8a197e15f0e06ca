/* The VM's interrupt controllers. By default all in KVM: the PIC, the I/O
 * APIC and the PIT beside the local APICs. Split: the local APICs stay in
 * KVM and the I/O APIC is ours (ioapic.h), reached through its MMIO window,
 * with each unmasked pin's redirection entry turned into a KVM MSI route on
 * the pin's GSI, so that the devices' irqfds reach the local APICs without
 * an exit. */
#ifndef KRUN_ARCH_X86_64_IRQCHIP_H
#define KRUN_ARCH_X86_64_IRQCHIP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86_64/ioapic.h"

struct x86_irqchip {
	int vm_fd;
	/* Split only. vCPUs reach the I/O APIC concurrently: lock guards it
	 * and the routes made from it. */
	pthread_mutex_t lock;
	struct ioapic ioapic;
};

/* Create the controllers on vm_fd, split or not; the I/O APIC takes the ID
 * after the last of nr_vcpus CPUs, as the MP table says. 0 or -errno, said
 * in the log. */
int x86_irqchip_create(struct x86_irqchip *chip, int vm_fd, bool split, unsigned int nr_vcpus);

/* Split: a vCPU's access at offset in the I/O APIC's window, X86_IOAPIC_ADDR
 * and IOAPIC_MMIO_SIZE bytes (opaque is the chip); from any vCPU thread. */
void x86_irqchip_ioapic_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			       bool is_write);

#endif
