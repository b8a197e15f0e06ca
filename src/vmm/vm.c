/* The builder: vm_build sets the VM up in the order the guest needs and
 * vm_destroy tears down what it set up in reverse, both on the thread that
 * called krun_start_enter; the stop request, from any thread, and the exit
 * status the guest's init reports, from a device's. (The irqchip and the
 * boot vCPU's registers are here until they move to arch/x86_64/.) */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/long_mode.h"
#include "arch/x86_64/pvh.h"
#include "util/log.h"

/* Where KVM keeps its real-mode TSS and identity map on Intel: just below
 * the 4 GiB boundary, inside the MMIO gap where nothing else lives. */
#define KVM_TSS_ADDR 0xfffbd000
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	int none = VM_STOP_NONE;
	uint64_t one = 1;
	if (atomic_compare_exchange_strong(&vm->stop_reason, &none, reason)) {
		ssize_t unused = write(vm->stop_fd, &one, sizeof(one));
		(void)unused;
	}
}

static void on_guest_reset(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_RESET);
}

static void on_stop(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	(void)events;
	vm->loop.stop = true;
}

static void set_exit_status(void *opaque, int status)
{
	struct vm *vm = opaque;
	vm->ports.exit_status = status;
}

/* Split irqchip: each unmasked pin's entry becomes an MSI route on the pin's
 * GSI, so the devices' irqfds reach the local APICs without an exit. A masked
 * pin has no route: like a real I/O APIC, it drops edges while masked. */
static void route_ioapic_pins(struct vm *vm)
{
	struct {
		struct kvm_irq_routing table;
		struct kvm_irq_routing_entry entries[IOAPIC_NR_PINS];
	} routing = { 0 };
	struct ioapic_msi msi;

	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		if (!ioapic_pin_msi(&vm->ioapic, pin, &msi))
			continue;
		routing.entries[routing.table.nr++] = (struct kvm_irq_routing_entry){
			.gsi = pin,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = msi.address, .data = msi.data },
		};
	}
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &routing.table) < 0)
		LOG_RATELIMITED(LOG_WARN, "cannot route the I/O APIC's pins: %s", strerror(errno));
}

void vm_ioapic_mmio(struct vm *vm, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	pthread_mutex_lock(&vm->ioapic_lock);
	if (!is_write)
		ioapic_mmio_read(&vm->ioapic, offset, data, len);
	else if (ioapic_mmio_write(&vm->ioapic, offset, data, len))
		route_ioapic_pins(vm);
	pthread_mutex_unlock(&vm->ioapic_lock);
}

static int create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = IOAPIC_NR_PINS };

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENTITY_MAP_ADDR }) < 0) {
		LOG_ERR("cannot place KVM's real-mode areas: %s", strerror(errno));
		return -errno;
	}
	if (vm->cfg->split_irqchip) {
		/* The local APICs stay in KVM; the I/O APIC, with the ID the MP
		 * table gives it, is ours. No PIC or PIT: the guest keeps time
		 * with kvmclock and the local APIC timer. */
		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) < 0) {
			LOG_ERR("cannot split the irqchip: %s", strerror(errno));
			return -errno;
		}
		pthread_mutex_init(&vm->ioapic_lock, NULL);
		ioapic_init(&vm->ioapic, vm->cfg->nr_vcpus);
		return 0;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP) < 0 || ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		LOG_ERR("cannot create the in-kernel interrupt controllers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int setup_boot_vcpu(struct vm *vm, uint64_t entry)
{
	struct vcpu *bsp = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (vm->kernel.is_elf) {
		x86_pvh_sregs(&sregs);
		x86_pvh_regs(&regs, entry);
	} else {
		x86_long_mode_sregs(&sregs);
		regs = (struct kvm_regs){
			.rip = entry, .rsp = X86_BOOT_STACK_ADDR, .rbp = X86_BOOT_STACK_ADDR,
			.rsi = X86_ZERO_PAGE_ADDR, .rflags = 2,
		};
	}
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(bsp->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(bsp->fd, KVM_SET_FPU, &fpu) < 0) {
		LOG_ERR("cannot set the boot vCPU's registers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int vm_build(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t entry;
	int ret;

	*vm = (struct vm){ .cfg = cfg, .kvm_fd = -1, .vm_fd = -1, .stop_fd = -1,
			   .signals = { .fd = -1 } };
	/* Opened now: the event loop may open no file once in its sandbox. */
	vm->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	vm->loop.epoll_fd = -1;
	ports_init(&vm->ports, on_guest_reset, vm);
	cmdline_init(&vm->cmdline);
	sigemptyset(&vm->signals.watched);

	if ((ret = vm_open_kvm(vm)) < 0 || (ret = kernel_open(&vm->kernel, cfg)) < 0 ||
	    (ret = vm_map_memory(vm)) < 0 || (ret = create_irqchip(vm)) < 0)
		return ret;
	if ((ret = event_loop_init(&vm->loop)) < 0)
		return ret;
	if ((vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	if ((ret = event_loop_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop, vm)) < 0)
		return ret;

	/* The command line in its order: prefix and workload, the devices
	 * (each slot, and the variables they add), the workload's arguments. */
	if ((ret = handover_prepare(vm)) < 0)
		return ret;
	vm->device_env = (struct vmm_device_env){
		.vmm = vm,
		.loop = &vm->loop,
		.plug_virtio = vm_plug_virtio,
		.unplug_virtio = vm_unplug_virtio,
		.add_guest_env = vm_add_guest_env,
		.watch_signal = vm_watch_signal,
		.set_exit_status = set_exit_status,
		.root_files = vm->root_files,
		.nr_root_files = vm->nr_root_files,
	};
	if ((ret = devices_build(&vm->devices, device_kinds, nr_device_kinds, cfg,
				 &vm->device_env)) < 0 ||
	    (ret = handover_add_args(vm)) < 0 || (ret = boot_write_structures(vm, &entry)) < 0)
		return ret;
	LOG_DBG("kernel command line: %s", vm->cmdline.buf);

	if ((ret = x86_supported_cpuid(vm->kvm_fd, &vm->supported_cpuid)) < 0) {
		LOG_ERR("cannot read KVM's supported CPUID: %s", strerror(-ret));
		return ret;
	}
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return -errno;
	vm->run_size = run_size;
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		if ((ret = vcpu_create(vm, &vm->vcpus[i], i)) < 0)
			return ret;
		vm->nr_vcpus++;
	}
	return setup_boot_vcpu(vm, entry);
}

int vm_exit_status(struct vm *vm)
{
	static const char *const how[] = {
		[VM_STOP_NONE] = "the VMM stopped it",
		[VM_STOP_RESET] = "it rebooted: a kernel panic, or its init failed",
		[VM_STOP_TRIPLE_FAULT] = "it crashed with a triple fault",
		[VM_STOP_SHUTDOWN] = "it powered off",
		[VM_STOP_ERROR] = "KVM could not run it further",
	};
	int status = vm->ports.exit_status;
	enum vm_stop_reason reason = atomic_load(&vm->stop_reason);

	if (status >= 0)
		return status;
	/* Reported as libkrun reports a guest that could not set the workload
	 * up, and said, since nothing else may tell the user why. */
	LOG_ERR("the guest stopped without reporting the workload's exit status (%s)",
		(unsigned int)reason < sizeof(how) / sizeof(how[0]) && how[reason] ? how[reason]
										    : "unknown");
	return 125;
}

void vm_destroy(struct vm *vm)
{
	/* Only called before the vCPU threads run: afterwards the process ends. */
	for (unsigned int i = vm->nr_vcpus; i-- > 0;)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->supported_cpuid);
	devices_destroy(&vm->devices); /* each unplugs its slots */
	vm_signals_destroy(vm);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	event_loop_destroy(&vm->loop);
	gm_destroy(&vm->mem);
	kernel_close(&vm->kernel);
	free(vm->workload_json);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->statm_fd >= 0)
		close(vm->statm_fd);
}
