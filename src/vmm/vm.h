/* One virtual machine: every piece of per-VM state, set up by vm_build() in
 * the order below and torn down by vm_destroy() in reverse. Nothing global. */
#ifndef KRUN_VMM_VM_H
#define KRUN_VMM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "arch/x86_64/irqchip.h"
#include "arch/x86_64/layout.h"
#include "base/event_loop.h"
#include "base/guest_mem.h"
#include "devices/console/console.h"
#include "devices/fs/virtio_fs.h"
#include "virtio/mmio.h"
#include "vmm/bus.h"
#include "vmm/kernel.h"
#include "vmm/ports.h"
#include "vmm/vcpu.h"
#include "vmm/vm_config.h"

#define VM_MAX_QUEUES_PER_DEVICE 16

/* A virtio device on its MMIO slot, with the eventfds that wire it to KVM. */
struct vm_mmio_slot {
	struct vm *vm;
	struct virtio_mmio transport;
	int irqfd;
	unsigned int nr_ioeventfds;
	struct vm_ioeventfd {
		struct vm_mmio_slot *slot;
		unsigned int queue;
		int fd;
	} ioeventfds[VM_MAX_QUEUES_PER_DEVICE];
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, vm_fd;
	struct kernel_image kernel;
	struct x86_layout layout;
	struct guest_memory mem;
	struct event_loop loop;
	int stop_fd; /* eventfd: a vCPU asks the event loop to end the VM */
	_Atomic int stop_reason;
	/* What the vCPUs' MMIO and port I/O exits reach: filled in while the
	 * VM is built, read-only once the vCPUs run (bus.h). */
	struct bus mmio_bus, pio_bus;
	struct guest_ports ports;
	struct x86_irqchip irqchip;

	unsigned int nr_consoles;
	/* a console and a device of named ports for each stdio set, the
	 * implicit one's too */
	struct console consoles[2 * (VM_MAX_CONSOLES + 1)];
	int console_signal_fd; /* signalfd: SIGWINCH, and SIGINT to forward */
	sigset_t saved_sigmask; /* the caller's, before those were blocked */
	struct console *interrupt_console; /* where SIGINT becomes ^C, or NULL */
	unsigned int nr_shares;
	struct virtio_fs shares[VM_MAX_SHARES];
	/* Served from memory in the root share: /init.krun and, for a workload
	 * set through the API, the document the init reads it from. */
	struct fuse_virtual_file root_files[2];
	char *workload_json;
	unsigned int nr_slots;
	struct vm_mmio_slot slots[X86_MAX_MMIO_DEVICES];

	struct kvm_cpuid2 *supported_cpuid;
	struct vcpu_env vcpu_env;
	unsigned int nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];

	uint64_t start_ns; /* krun_start_enter, for the boot-time log */
	int statm_fd; /* /proc/self/statm, for the memory report at the end */
};

int vm_build(struct vm *vm, const struct vm_config *cfg);
int vm_start_vcpus(struct vm *vm);
/* From any thread: end the VM; the first reason given wins. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);
/* The process exit status for a VM that stopped. */
int vm_exit_status(struct vm *vm);
/* Write out what the guest's devices still hold (console output), then give
 * the host's terminals and fds their settings back: the VM is over. */
void vm_flush(struct vm *vm);
void vm_destroy(struct vm *vm);

#endif
