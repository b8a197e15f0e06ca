/* One virtual machine: every piece of per-VM state, set up by vm_build() in
 * the order below and torn down by vm_destroy() in reverse. Nothing global.
 * The VMM's files, a concern each:
 *   vm.c          the builder: the order of it all, the teardown, the stop
 *   kvm.c         /dev/kvm, the VM and its memory
 *   handover.c    what the guest's init is told: the command line, /init.krun
 *                 and the workload
 *   mmio_slots.c  virtio devices on MMIO slots, wired to KVM
 *   signals.c     process signals the devices watch
 *   boot.c        the kernel, initramfs and boot tables in guest memory
 *   vcpu.c        the vCPU threads and their exits
 *   bus.c         where those exits find the device or port they reach
 *   start.c       vmm_start: build, sandbox, run, report, end
 * The devices themselves are made through devices/registry.h, by kind. */
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
#include "devices/registry.h"
#include "virtio/mmio.h"
#include "vmm/bus.h"
#include "vmm/cmdline.h"
#include "vmm/kernel.h"
#include "vmm/ports.h"
#include "vmm/vcpu.h"
#include "config/vm_config.h"

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

/* Process signals the devices watch, through one signalfd (signals.c). */
#define VM_MAX_SIGNAL_WATCHES 16
struct vm_signals {
	int fd; /* in the event loop; -1 until the first watch */
	sigset_t watched;
	bool blocked;	     /* watched signals are blocked on the builder's thread */
	sigset_t saved_mask; /* that thread's, before the first was blocked */
	unsigned int nr_watches;
	struct vm_signal_watch {
		int signo;
		void (*fn)(void *opaque);
		void *opaque;
	} watches[VM_MAX_SIGNAL_WATCHES];
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

	struct cmdline cmdline; /* built with the devices, then written for the kernel */
	/* Served from memory in the root share: /init.krun and, for a workload
	 * set through the API, the document the init reads it from. */
	unsigned int nr_root_files;
	struct vmm_served_file root_files[2];
	char *workload_json;
	struct vm_signals signals;
	unsigned int nr_slots;
	struct vm_mmio_slot slots[X86_MAX_MMIO_DEVICES];
	struct vmm_device_env device_env; /* how the devices reach the VM */
	struct device_list devices;

	struct kvm_cpuid2 *supported_cpuid;
	struct vcpu_env vcpu_env;
	unsigned int nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];

	int statm_fd; /* /proc/self/statm, for the memory report at the end */
};

/* vm.c */
int vm_build(struct vm *vm, const struct vm_config *cfg);
/* From any thread: end the VM; the first reason given wins. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);
/* The process exit status for a VM that stopped. */
int vm_exit_status(struct vm *vm);
void vm_destroy(struct vm *vm);

/* kvm.c: 0, or -errno with a log line. The memory is mapped first, then
 * registered with the VM that vm_open_kvm creates. */
int vm_map_memory(struct vm *vm);
int vm_open_kvm(struct vm *vm);

/* handover.c: the command line's prefix and the workload's variables, and
 * the root share's files, before the devices; the workload's arguments
 * after them. 0, or -errno with a log line. */
int handover_prepare(struct vm *vm);
int handover_add_args(struct vm *vm);

/* The calls of struct vmm_device_env (devices/device.h), vm as opaque. */
int vm_plug_virtio(void *vm, struct virtio_device *dev); /* mmio_slots.c */
void vm_unplug_virtio(void *vm, struct virtio_device *dev);
int vm_add_guest_env(void *vm, const char *key, const char *value); /* handover.c */
int vm_watch_signal(void *vm, int signo, void (*fn)(void *opaque), void *opaque); /* signals.c */
/* signals.c: close the signalfd and give the thread its signal mask back. */
void vm_signals_destroy(struct vm *vm);

/* boot.c: everything the kernel reads, once the command line is whole;
 * *entry: where the boot vCPU starts. 0, or -errno with a log line. */
int boot_write_structures(struct vm *vm, uint64_t *entry);

#endif
