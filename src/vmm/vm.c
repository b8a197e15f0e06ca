/* The builder: vm_build sets the VM up in the order the guest needs and
 * vm_destroy tears down what it set up in reverse, both on the thread that
 * called krun_start_enter; the stop request, from any thread, and the exit
 * status the guest's init reports, from a device's. */
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
#include "arch/x86_64/irqchip.h"
#include "arch/x86_64/mptable.h"
#include "arch/x86_64/vcpu_setup.h"
#include "base/log.h"

_Static_assert(VM_MAX_VCPUS <= X86_MPTABLE_MAX_CPUS, "the MP table must list every vCPU");

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	int none = VM_STOP_NONE;
	uint64_t one = 1;
	if (atomic_compare_exchange_strong(&vm->stop_reason, &none, reason)) {
		ssize_t unused = write(vm->stop_fd, &one, sizeof(one));
		(void)unused;
	}
}

static void on_stop(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	(void)events;
	vm->loop.stop = true;
}

/* libkrun's way (an ioctl on the root share, from a FUSE worker): the VM
 * ends as when our init writes the status to its port. */
static void set_exit_status(void *opaque, int status)
{
	struct vm *vm = opaque;
	vm->ports.exit_status = status;
	vm_request_stop(vm, VM_STOP_EXITED);
}

/* From a vCPU thread: its exit, or a port it wrote, ended the VM. */
static void on_guest_stop(void *opaque, enum vm_stop_reason reason)
{
	vm_request_stop(opaque, reason);
}

static int create_irqchip(struct vm *vm)
{
	int ret = x86_vm_setup(vm->vm_fd);

	if (ret < 0) {
		LOG_ERR("cannot place KVM's real-mode areas: %s", strerror(-ret));
		return ret;
	}
	ret = x86_irqchip_create(&vm->irqchip, vm->vm_fd, vm->cfg->split_irqchip, vm->cfg->nr_vcpus);
	if (ret == 0 && vm->cfg->split_irqchip &&
	    (ret = bus_register(&vm->mmio_bus, X86_IOAPIC_ADDR, IOAPIC_MMIO_SIZE,
				x86_irqchip_ioapic_access, &vm->irqchip)) < 0)
		LOG_ERR("cannot place the I/O APIC: %s", strerror(-ret));
	return ret;
}

static int setup_boot_vcpu(struct vm *vm, uint64_t entry)
{
	int ret = x86_boot_vcpu_setup(vm->vcpus[0].fd,
				      vm->kernel.is_elf ? X86_BOOT_PVH : X86_BOOT_LINUX_64, entry);

	if (ret < 0)
		LOG_ERR("cannot set the boot vCPU's registers: %s", strerror(-ret));
	return ret;
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
	if ((ret = ports_init(&vm->ports, &vm->pio_bus, on_guest_stop, vm)) < 0) {
		LOG_ERR("cannot place the legacy ports: %s", strerror(-ret));
		return ret;
	}
	cmdline_init(&vm->cmdline);
	sigemptyset(&vm->signals.watched);

	/* What the configuration names is opened before KVM is, so that its
	 * errors read the same on a host without KVM: the devices' host files
	 * too (a share's directory), which they take over when they are made. */
	if ((ret = kernel_open(&vm->kernel, cfg)) < 0 || (ret = vm_map_memory(vm)) < 0 ||
	    (ret = devices_open_host(&vm->devices, device_kinds, nr_device_kinds, cfg)) < 0 ||
	    (ret = vm_open_kvm(vm)) < 0 ||
	    (ret = create_irqchip(vm)) < 0)
		return ret;
	if ((ret = event_loop_init(&vm->loop)) == 0) {
		vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ret = vm->stop_fd < 0 ? -errno
				      : event_loop_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop, vm);
	}
	if (ret < 0) {
		LOG_ERR("cannot set up the event loop: %s", strerror(-ret));
		return ret;
	}

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
	if (run_size < 0) {
		LOG_ERR("cannot read the size of KVM's vCPU area: %s", strerror(errno));
		return -errno;
	}
	vm->vcpu_env = (struct vcpu_env){
		.vm_fd = vm->vm_fd, .run_size = run_size, .supported_cpuid = vm->supported_cpuid,
		.nr_vcpus = cfg->nr_vcpus, .nested_virt = cfg->nested_virt,
		.mmio_bus = &vm->mmio_bus, .pio_bus = &vm->pio_bus, .mem = &vm->mem,
		.stop = on_guest_stop, .opaque = vm, .stop_reason = &vm->stop_reason,
	};
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		if ((ret = vcpu_create(&vm->vcpus[i], &vm->vcpu_env, i)) < 0)
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
		[VM_STOP_EXITED] = "its init reported a status",
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
