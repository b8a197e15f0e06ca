/* vCPUs: one thread each, running KVM_RUN and handling its exits. A vCPU
 * reaches the rest of the VM only through its vcpu_env: the buses for its
 * MMIO and port I/O exits, and a callback to stop the VM. */
#ifndef KRUN_VMM_VCPU_H
#define KRUN_VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/kvm.h>

#include "base/guest_mem.h"
#include "vmm/bus.h"
#include "vmm/stop_reason.h"

/* What the vCPUs of a VM share: set before the first is created, read-only
 * once their threads run. */
struct vcpu_env {
	int vm_fd;
	size_t run_size; /* of each vCPU's struct kvm_run mapping */
	/* each vCPU's CPUID is made from this, for nr_vcpus in all */
	const struct kvm_cpuid2 *supported_cpuid;
	unsigned int nr_vcpus;
	bool nested_virt;
	const struct bus *mmio_bus, *pio_bus;
	const struct guest_memory *mem;
	/* From a vCPU thread: end the VM; the first reason given wins. */
	void (*stop)(void *opaque, enum vm_stop_reason reason);
	void *opaque;
	/* The reason the VM is stopping, VM_STOP_NONE while it runs: a vCPU
	 * whose exit was handled goes back into the guest only while it is
	 * NONE, so the exit that reported the end (the exit status, a reset)
	 * is the last thing its guest CPU does. */
	const _Atomic int *stop_reason;
};

struct vcpu {
	const struct vcpu_env *env;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	atomic_bool thread_started; /* and thread set: read by a signal handler */
	pthread_t thread;
	atomic_bool describe; /* log the registers at the next KVM_RUN return */
};

/* vCPU index (its APIC ID) of env's VM, with its CPUID and local APIC set
 * up; 0 or -errno, said in the log. */
int vcpu_create(struct vcpu *vcpu, const struct vcpu_env *env, unsigned int index);
/* The thread's body: runs the vCPU until the VM stops (opaque: the vcpu). */
void *vcpu_thread(void *opaque);
/* SIGUSR2 from now on: each of the vCPUs logs its registers. */
int vcpu_watch_describe_signal(struct vcpu *vcpus, unsigned int nr_vcpus);
void vcpu_destroy(struct vcpu *vcpu);

#endif
