/* The VM builder and vmm_start(): the one hand-over from the API layer. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "arch/x86_64/boot_params.h"
#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/irqchip.h"
#include "arch/x86_64/long_mode.h"
#include "arch/x86_64/mptable.h"
#include "arch/x86_64/pvh.h"
#include "arch/x86_64/vcpu_setup.h"
#include "base/clock.h"
#include "base/log.h"
#include "guest_abi.h"
#include "vmm/cmdline.h"
#include "vmm/init_blob.h"
#include "vmm/sandbox.h"
#include "vmm/speed_probe.h"
#include "vmm/workload_json.h"

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

static void on_guest_reset(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_RESET);
}

static void on_vcpu_stop(void *opaque, enum vm_stop_reason reason)
{
	vm_request_stop(opaque, reason);
}

static void on_stop(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	(void)events;
	vm->loop.stop = true;
}

/* --- devices on MMIO slots -------------------------------------------- */

static void raise_irq(void *opaque)
{
	struct vm_mmio_slot *slot = opaque;
	uint64_t one = 1;
	ssize_t unused = write(slot->irqfd, &one, sizeof(one));
	(void)unused;
}

static void slot_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm_mmio_slot *slot = opaque;

	if (is_write)
		virtio_mmio_write(&slot->transport, offset, data, len);
	else
		virtio_mmio_read(&slot->transport, offset, data, len);
}

static void on_queue_kick(void *opaque, uint32_t events)
{
	struct vm_ioeventfd *io = opaque;
	uint64_t count;
	(void)events;
	if (read(io->fd, &count, sizeof(count)) == sizeof(count))
		virtio_mmio_notify(&io->slot->transport, io->queue);
}

/* The device's interrupt becomes an irqfd on its IRQ line, and each queue's
 * notify register an ioeventfd, so neither costs an exit to user space. */
static int wire_slot(struct vm *vm, struct vm_mmio_slot *slot, struct virtio_device *dev,
		     uint64_t gpa, uint32_t irq)
{
	int ret;

	if (dev->nr_queues > VM_MAX_QUEUES_PER_DEVICE)
		return -EINVAL;
	slot->vm = vm;
	slot->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (slot->irqfd < 0)
		return -errno;
	struct kvm_irqfd irqfd = { .fd = slot->irqfd, .gsi = irq };
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	const struct virtio_mmio_config cfg = {
		.base = gpa, .irq = irq, .raise_irq = raise_irq, .irq_opaque = slot,
	};
	if ((ret = virtio_mmio_init(&slot->transport, dev, &vm->mem, &cfg)) < 0)
		return ret;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct virtio_mmio_notify_match match;
		struct vm_ioeventfd *io = &slot->ioeventfds[q];
		if ((ret = virtio_mmio_notify_match(&slot->transport, q, &match)) < 0)
			return ret;
		*io = (struct vm_ioeventfd){ .slot = slot, .queue = q,
					     .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
		if (io->fd < 0)
			return -errno;
		slot->nr_ioeventfds++;
		struct kvm_ioeventfd ioev = {
			.datamatch = match.datamatch, .addr = match.gpa, .len = match.len,
			.fd = io->fd, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return -errno;
		if ((ret = event_loop_add(&vm->loop, io->fd, EPOLLIN, on_queue_kick, io)) < 0)
			return ret;
	}
	return 0;
}

static int add_device(struct vm *vm, struct virtio_device *dev, struct cmdline *cl)
{
	uint64_t gpa;
	uint32_t irq;
	int ret;

	if ((ret = x86_mmio_slot(vm->nr_slots, &gpa, &irq)) < 0) {
		LOG_ERR("more than %d devices", X86_MAX_MMIO_DEVICES);
		return ret;
	}
	struct vm_mmio_slot *slot = &vm->slots[vm->nr_slots++];
	slot->irqfd = -1;
	if ((ret = wire_slot(vm, slot, dev, gpa, irq)) < 0 ||
	    (ret = bus_register(&vm->mmio_bus, gpa, VIRTIO_MMIO_SLOT_SIZE, slot_access, slot)) < 0) {
		LOG_ERR("cannot wire virtio device %u to KVM: %s", dev->device_id, strerror(-ret));
		return ret;
	}
	if ((ret = cmdline_add_mmio_device(cl, gpa, irq)) < 0)
		LOG_ERR("kernel command line: %s", cl->reason);
	return ret;
}

static void destroy_slot(struct vm_mmio_slot *slot)
{
	for (unsigned int i = 0; i < slot->nr_ioeventfds; i++)
		close(slot->ioeventfds[i].fd);
	if (slot->transport.dev)
		virtio_mmio_destroy(&slot->transport);
	if (slot->irqfd >= 0)
		close(slot->irqfd);
}

static int open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		LOG_ERR("cannot open the console output file %s: %s", path, strerror(errno));
	return fd < 0 ? -errno : fd;
}

static void on_console_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo info;
	bool resized = false;
	(void)events;
	while (read(vm->console_signal_fd, &info, sizeof(info)) == sizeof(info)) {
		if (info.ssi_signo == SIGINT)
			console_interrupt(vm->interrupt_console);
		else
			resized = true;
	}
	for (unsigned int i = 0; resized && i < vm->nr_consoles; i++)
		console_resized(&vm->consoles[i]);
}

/* SIGWINCH tells the consoles their terminal changed size; SIGINT, when
 * stdin is not a terminal (one would send ^C itself), goes to the workload
 * as ^C on its console. Blocked here, on the thread that creates every
 * other, so that only the signalfd sees them. */
static int watch_console_signals(struct vm *vm)
{
	sigset_t signals;
	bool any_terminal = false;

	for (unsigned int i = 0; i < vm->nr_consoles; i++)
		any_terminal |= vm->consoles[i].term_fd >= 0;
	sigemptyset(&signals);
	if (any_terminal)
		sigaddset(&signals, SIGWINCH);
	if (vm->interrupt_console)
		sigaddset(&signals, SIGINT);
	if (sigisemptyset(&signals))
		return 0;
	pthread_sigmask(SIG_BLOCK, &signals, &vm->saved_sigmask);
	vm->console_signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->console_signal_fd < 0) {
		LOG_ERR("cannot watch signals for the console: %s", strerror(errno));
		return -errno;
	}
	return event_loop_add(&vm->loop, vm->console_signal_fd, EPOLLIN, on_console_signal, vm);
}

static int add_console(struct vm *vm, const struct console_port_config *ports,
		       unsigned int nr_ports, int term_fd, struct cmdline *cl)
{
	struct console *c = &vm->consoles[vm->nr_consoles++];
	int ret = console_init(c, ports, nr_ports, term_fd, &vm->loop);

	if (ret < 0) {
		LOG_ERR("cannot set up a console: %s", strerror(-ret));
		return ret;
	}
	return add_device(vm, &c->vdev, cl);
}

/* libkrun's console for stdio fds: a console device, and a second one with
 * a named port for each fd that is not a terminal. Returns how many named
 * ports, or -errno. */
static int add_stdio_consoles(struct vm *vm, int in, int out, int err, struct cmdline *cl)
{
	struct console_port_config console, named[3];
	int term_fd, ret;
	unsigned int nr_named = console_stdio_ports(in, out, err, &console, named, &term_fd);

	if ((ret = add_console(vm, &console, 1, term_fd, cl)) < 0)
		return ret;
	if (nr_named && (ret = add_console(vm, named, nr_named, -1, cl)) < 0)
		return ret;
	return nr_named;
}

/* The implicit console speaks for the process's stdio, or writes to the
 * console output file; each console added through the API speaks for its
 * own fds. The first one's named ports are those the guest's init moves the
 * workload's stdio to: it is told how many to wait for. */
static int add_consoles(struct vm *vm, struct cmdline *cl)
{
	const struct vm_config *cfg = vm->cfg;
	int ret, stdio_ports = -1;

	if (!cfg->implicit_console_disabled && cfg->console_output) {
		int out = open_output(cfg->console_output);
		if (out < 0)
			return out;
		const struct console_port_config console = { .in_fd = -1, .out_fd = out };
		if ((ret = add_console(vm, &console, 1, -1, cl)) < 0)
			return ret;
		stdio_ports = 0;
	} else if (!cfg->implicit_console_disabled) {
		unsigned int console = vm->nr_consoles;
		stdio_ports = add_stdio_consoles(vm, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, cl);
		if (stdio_ports < 0)
			return stdio_ports;
		if (!isatty(STDIN_FILENO))
			vm->interrupt_console = &vm->consoles[console];
	}
	for (unsigned int i = 0; i < cfg->nr_consoles; i++) {
		const struct vm_console *vc = &cfg->consoles[i];
		if ((ret = add_stdio_consoles(vm, vc->in_fd, vc->out_fd, vc->err_fd, cl)) < 0)
			return ret;
		if (stdio_ports < 0)
			stdio_ports = ret;
	}
	if (stdio_ports > 0) {
		char count[12];
		snprintf(count, sizeof(count), "%d", stdio_ports);
		if ((ret = cmdline_add_env(cl, KRUN_ENV_STDIO_PORTS, count)) < 0) {
			LOG_ERR("kernel command line: %s", cl->reason);
			return ret;
		}
	}
	return watch_console_signals(vm);
}

/* The guest init's ioctl on the root share: the workload's exit status. */
static void on_exit_code(void *opaque, int code)
{
	struct vm *vm = opaque;
	vm->ports.exit_status = code & 0xff;
}

static bool is_root_share(const struct vm_share *share)
{
	return strcmp(share->tag, VM_ROOT_TAG) == 0;
}

static bool serves_init(const struct vm_config *cfg, const struct vm_share *share)
{
	return is_root_share(share) && !cfg->implicit_init_disabled;
}

static int add_share(struct vm *vm, const struct vm_share *share, unsigned int max_fds,
		     struct cmdline *cl)
{
	struct fuse_server_config fc = {
		.root_dir = share->path,
		.read_only = share->read_only,
		.max_fds = max_fds,
		.exit_code = on_exit_code,
		.opaque = vm,
	};
	struct fuse_server *server;
	int ret;

	if (serves_init(vm->cfg, share)) {
		struct fuse_virtual_file *init = &vm->root_files[0];
		*init = (struct fuse_virtual_file){ .name = KRUN_INIT_NAME, .mode = 0555 };
		if (!init_blob_get((const uint8_t **)&init->data, &init->len)) {
			LOG_ERR("this build of the library has no guest init to serve as " KRUN_INIT_PATH);
			return -ENOTSUP;
		}
		fc.virtual_files = vm->root_files;
		fc.nr_virtual_files = 1;
		if (vm->workload_json) {
			vm->root_files[fc.nr_virtual_files++] = (struct fuse_virtual_file){
				.name = KRUN_WORKLOAD_JSON_NAME,
				.data = vm->workload_json,
				.len = strlen(vm->workload_json),
				.mode = 0400, /* its environment may hold secrets: root's */
			};
		}
	}
	if ((ret = fuse_server_create(&fc, &server)) < 0) {
		LOG_ERR("cannot share %s with the guest: %s", share->path, strerror(-ret));
		return ret;
	}
	struct virtio_fs *fs = &vm->shares[vm->nr_shares];
	if ((ret = virtio_fs_init(fs, share->tag, server)) < 0) {
		fuse_server_destroy(server);
		return ret;
	}
	vm->nr_shares++;
	return add_device(vm, &fs->vdev, cl);
}

static int add_shares(struct vm *vm, struct cmdline *cl)
{
	/* The fds RLIMIT_NOFILE leaves the VM, split evenly between its shares. */
	unsigned int max_fds = fuse_server_fd_budget(vm->cfg->nr_shares);

	for (unsigned int i = 0; i < vm->cfg->nr_shares; i++) {
		int ret = add_share(vm, &vm->cfg->shares[i], max_fds, cl);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* --- memory and boot structures ---------------------------------------- */

static int map_memory(struct vm *vm)
{
	const struct kernel_image *k = &vm->kernel;
	uint64_t ram = (uint64_t)vm->cfg->ram_mib << 20;
	int ret;

	ret = x86_layout_init(&vm->layout, ram, k->flat ? k->load_addr : 0, k->flat ? k->size : 0);
	if (ret < 0) {
		LOG_ERR("%u MiB of RAM cannot hold the kernel image at 0x%llx (%llu bytes)",
			vm->cfg->ram_mib, (unsigned long long)k->load_addr,
			(unsigned long long)k->size);
		return ret;
	}
	for (unsigned int i = 0; i < vm->layout.nr_regions; i++) {
		const struct x86_region *r = &vm->layout.regions[i];
		ret = r->type == X86_REGION_KERNEL_IMAGE ? gm_add_host(&vm->mem, r->gpa, r->size, k->flat)
							 : gm_add_anon(&vm->mem, r->gpa, r->size);
		if (ret < 0) {
			LOG_ERR("cannot map %llu MiB of guest memory: %s",
				(unsigned long long)(r->size >> 20), strerror(-ret));
			return ret;
		}
	}
	return gm_register(&vm->mem, vm->vm_fd);
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

/* KRUN_* variables, the workload's environment and, after "--", its
 * arguments: what libkrun's init reads. When our init runs from the root
 * share, all of it travels in a served file instead (any bytes, any length);
 * otherwise variables the kernel cannot carry (quotes) are left out with a
 * warning rather than failing the boot. */
static int add_workload(struct vm *vm, struct cmdline *cl)
{
	const struct vm_config *cfg = vm->cfg;
	char rlimits[1024] = "";
	int ret = 0;

	if (vm->workload_json) {
		if ((ret = cmdline_add_env(cl, KRUN_ENV_CONFIG, KRUN_WORKLOAD_JSON_PATH)) < 0)
			LOG_ERR("kernel command line: %s", cl->reason);
		return ret;
	}

	if (cfg->exec_path)
		ret = cmdline_add_env(cl, KRUN_ENV_INIT, cfg->exec_path);
	if (ret == 0 && cfg->workdir)
		ret = cmdline_add_env(cl, KRUN_ENV_WORKDIR, cfg->workdir);
	size_t len = 0;
	for (char **r = cfg->rlimits; r && *r; r++) {
		int n = snprintf(rlimits + len, sizeof(rlimits) - len, "%s%s", len ? "," : "", *r);
		if (n < 0 || (size_t)n >= sizeof(rlimits) - len) {
			LOG_ERR("the rlimits do not fit on the kernel command line");
			return -E2BIG;
		}
		len += n;
	}
	if (ret == 0 && rlimits[0])
		ret = cmdline_add_env(cl, KRUN_ENV_RLIMITS, rlimits);
	if (ret < 0) {
		LOG_ERR("kernel command line: %s", cl->reason);
		return ret;
	}
	for (char **e = cfg->envp; e && *e; e++) {
		if ((ret = cmdline_add_environ(cl, *e)) == -E2BIG) {
			LOG_ERR("kernel command line: %s", cl->reason);
			return ret;
		}
		if (ret < 0)
			LOG_WRN("environment variable left out: %s", cl->reason);
	}
	return 0;
}

static int add_workload_args(struct vm *vm, struct cmdline *cl)
{
	char *none[] = { NULL };
	if (vm->workload_json)
		return 0;
	int ret = cmdline_add_args(cl, vm->cfg->argv ? vm->cfg->argv : none);
	if (ret < 0)
		LOG_ERR("kernel command line: %s", cl->reason);
	return ret;
}

static int load_initramfs(struct vm *vm, uint64_t kernel_end, struct x86_boot_info *info)
{
	const struct kernel_image *k = &vm->kernel;
	int ret;

	if (!k->initramfs)
		return 0;
	ret = x86_initramfs_addr(&vm->layout, k->initramfs_len, kernel_end, 0, &info->initramfs_gpa);
	if (ret == 0)
		ret = gm_write(&vm->mem, info->initramfs_gpa, k->initramfs, k->initramfs_len);
	if (ret < 0) {
		LOG_ERR("the initramfs (%zu bytes) does not fit in guest RAM", k->initramfs_len);
		return ret;
	}
	info->initramfs_size = k->initramfs_len;
	return 0;
}

/* Kernel, command line, initramfs and the tables the kernel reads at boot. */
static int write_boot_structures(struct vm *vm, struct cmdline *cl, uint64_t *entry)
{
	struct x86_boot_info info = { .cmdline_gpa = X86_CMDLINE_ADDR, .cmdline_len = cl->len };
	uint64_t kernel_end;
	int ret;

	if (vm->kernel.is_elf) {
		struct x86_pvh_kernel pvh;
		if ((ret = x86_pvh_load_elf(&vm->mem, vm->kernel.elf, vm->kernel.elf_len, &pvh)) < 0) {
			LOG_ERR("cannot load the ELF kernel %s: %s", vm->cfg->kernel_path,
				ret == -EOPNOTSUPP ? "it has no PVH entry point" : strerror(-ret));
			return ret;
		}
		*entry = pvh.entry;
		kernel_end = pvh.end;
	} else {
		*entry = vm->kernel.entry;
		kernel_end = vm->kernel.load_addr + vm->kernel.size;
	}
	if ((ret = gm_write(&vm->mem, X86_CMDLINE_ADDR, cl->buf, cl->len + 1)) < 0 ||
	    (ret = load_initramfs(vm, kernel_end, &info)) < 0)
		return ret;
	if (vm->kernel.is_elf)
		ret = x86_pvh_write_start_info(&vm->mem, &vm->layout, &info);
	else
		ret = x86_write_zero_page(&vm->mem, &vm->layout, &info);
	if (ret == 0)
		ret = vm->kernel.is_elf ? x86_pvh_write_gdt(&vm->mem) : x86_write_long_mode_tables(&vm->mem);
	if (ret == 0)
		ret = x86_write_mptable(&vm->mem, vm->cfg->nr_vcpus);
	if (ret < 0)
		LOG_ERR("cannot write the boot structures: %s", strerror(-ret));
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

/* --- build, run, stop ---------------------------------------------------- */

/* A /dev/kvm that is not the hardware-assisted kind (kvm_intel, kvm_amd) may
 * only emulate guest code (PVM does): a standard kernel would never finish
 * booting there. Time the probe guest on such hosts only, so ordinary hosts
 * pay nothing for the check. */
static int check_kvm_speed(void)
{
	double seconds;
	char err[256];

	if (access("/sys/module/kvm_intel", F_OK) == 0 || access("/sys/module/kvm_amd", F_OK) == 0)
		return 0;
	if (kvm_speed_probe("/dev/kvm", KVM_PROBE_ITERATIONS, &seconds, err, sizeof(err)) < 0) {
		LOG_ERR("cannot probe /dev/kvm: %s", err);
		return -ENODEV;
	}
	if (!kvm_probe_is_hardware_speed(seconds)) {
		LOG_ERR("this /dev/kvm emulates guest code (%.2f s for a loop that takes "
			"milliseconds on hardware): a Linux guest will not boot at usable speed; run "
			"on a host with hardware KVM, or inside the project's testhost/run", seconds);
		return -ENODEV;
	}
	return 0;
}

static int open_kvm(struct vm *vm)
{
	int ret = check_kvm_speed();
	if (ret < 0)
		return ret;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		LOG_ERR("cannot open /dev/kvm: %s (is KVM enabled, and may this user open it?)",
			strerror(errno));
		return -errno;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		LOG_ERR("/dev/kvm speaks an unknown KVM API version");
		return -EINVAL;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		LOG_ERR("cannot create a VM: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int vm_build(struct vm *vm, const struct vm_config *cfg)
{
	struct cmdline cl;
	uint64_t entry;
	int ret;

	*vm = (struct vm){ .cfg = cfg, .kvm_fd = -1, .vm_fd = -1, .stop_fd = -1, .console_signal_fd = -1,
			   .start_ns = monotonic_ns() };
	/* Opened now: the event loop may open no file once in its sandbox. */
	vm->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	vm->loop.epoll_fd = -1;
	if ((ret = ports_init(&vm->ports, &vm->pio_bus, on_guest_reset, vm)) < 0) {
		LOG_ERR("cannot place the legacy ports: %s", strerror(-ret));
		return ret;
	}
	cmdline_init(&cl);

	if ((ret = open_kvm(vm)) < 0 || (ret = kernel_open(&vm->kernel, cfg)) < 0 ||
	    (ret = map_memory(vm)) < 0 || (ret = create_irqchip(vm)) < 0)
		return ret;
	if ((ret = event_loop_init(&vm->loop)) < 0)
		return ret;
	if ((vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	if ((ret = event_loop_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop, vm)) < 0)
		return ret;

	/* A root share boots /init.krun, ours or, with the implicit init
	 * disabled, the root's own (as libkrun's command line says either way). */
	bool has_root = false;
	for (unsigned int i = 0; i < cfg->nr_shares; i++)
		has_root |= is_root_share(&cfg->shares[i]);
	bool serving_init = has_root && !cfg->implicit_init_disabled;
	if (serving_init && cfg->exec_path && !(vm->workload_json = workload_json(cfg)))
		return -ENOMEM;
	ret = cfg->kernel_cmdline ? cmdline_add_raw(&cl, cfg->kernel_cmdline)
				  : cmdline_add_prefix(&cl, has_root);
	if (ret < 0) {
		LOG_ERR("kernel command line: %s", cl.reason);
		return ret;
	}
	if ((ret = add_workload(vm, &cl)) < 0 || (ret = add_consoles(vm, &cl)) < 0 ||
	    (ret = add_shares(vm, &cl)) < 0 ||
	    (ret = add_workload_args(vm, &cl)) < 0 ||
	    (ret = write_boot_structures(vm, &cl, &entry)) < 0)
		return ret;
	LOG_DBG("kernel command line: %s", cl.buf);

	if ((ret = x86_supported_cpuid(vm->kvm_fd, &vm->supported_cpuid)) < 0) {
		LOG_ERR("cannot read KVM's supported CPUID: %s", strerror(-ret));
		return ret;
	}
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return -errno;
	vm->vcpu_env = (struct vcpu_env){
		.vm_fd = vm->vm_fd, .run_size = run_size, .supported_cpuid = vm->supported_cpuid,
		.nr_vcpus = cfg->nr_vcpus, .nested_virt = cfg->nested_virt,
		.mmio_bus = &vm->mmio_bus, .pio_bus = &vm->pio_bus, .mem = &vm->mem,
		.stop = on_vcpu_stop, .opaque = vm,
	};
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		if ((ret = vcpu_create(&vm->vcpus[i], &vm->vcpu_env, i)) < 0)
			return ret;
		vm->nr_vcpus++;
	}
	return setup_boot_vcpu(vm, entry);
}

int vm_start_vcpus(struct vm *vm)
{
	int err = vcpu_watch_describe_signal(vm->vcpus, vm->nr_vcpus);

	if (err < 0)
		LOG_WRN("SIGUSR2 will not describe the vCPUs: %s", strerror(-err));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (ret != 0) {
			LOG_ERR("cannot start vCPU %u's thread: %s", i, strerror(ret));
			return -ret;
		}
		v->thread_started = true;
	}
	return 0;
}

void vm_flush(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_consoles; i++)
		console_flush(&vm->consoles[i]);
	/* after every flush: two consoles may share an fd's blocking mode */
	for (unsigned int i = 0; i < vm->nr_consoles; i++)
		console_restore(&vm->consoles[i]);
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
	for (unsigned int i = vm->nr_slots; i-- > 0;)
		destroy_slot(&vm->slots[i]);
	for (unsigned int i = vm->nr_shares; i-- > 0;)
		virtio_fs_destroy(&vm->shares[i]);
	for (unsigned int i = vm->nr_consoles; i-- > 0;)
		console_destroy(&vm->consoles[i]);
	if (vm->console_signal_fd >= 0) {
		event_loop_remove(&vm->loop, vm->console_signal_fd);
		close(vm->console_signal_fd);
		/* the caller gets its thread back as it was */
		pthread_sigmask(SIG_SETMASK, &vm->saved_sigmask, NULL);
	}
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

static int enter_fs_worker_sandbox(void)
{
	return sandbox_enter(SANDBOX_FS_WORKER);
}

/* The shares' workers enter their filters before any vCPU runs. */
static int sandbox_shares(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_shares; i++) {
		int ret = virtio_fs_on_workers(&vm->shares[i], enter_fs_worker_sandbox);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* What the VMM costs beyond the guest's RAM: the process's resident set
 * less the guest RAM pages in it (bench/ reads this line). */
static void log_memory_use(const struct vm *vm)
{
	unsigned long size_pages, resident_pages;
	char statm[128];
	ssize_t n = vm->statm_fd >= 0 ? pread(vm->statm_fd, statm, sizeof(statm) - 1, 0) : -1;

	if (n <= 0)
		return;
	statm[n] = '\0';
	if (sscanf(statm, "%lu %lu", &size_pages, &resident_pages) != 2)
		return;
	uint64_t rss = (uint64_t)resident_pages * sysconf(_SC_PAGESIZE);
	uint64_t guest = gm_resident_bytes(&vm->mem);
	LOG_INF("memory: process RSS %llu KiB, guest RAM resident %llu KiB, VMM beyond guest "
		"RAM %llu KiB (the kernel image's touched pages included)",
		(unsigned long long)(rss >> 10), (unsigned long long)(guest >> 10),
		(unsigned long long)((rss > guest ? rss - guest : 0) >> 10));
}

/* How busy each share was: a slow workload's first clue (requests per
 * interrupt says how well they were batched). */
static void log_share_use(const struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_shares; i++) {
		const struct virtio_fs *fs = &vm->shares[i];

		LOG_INF("virtio-fs %.*s: %llu requests (%llu malformed, %llu waited on a thread of "
			"their own), %llu kicks, %llu interrupts",
			(int)sizeof(fs->config.tag), (const char *)fs->config.tag,
			(unsigned long long)fs->counters.requests,
			(unsigned long long)fs->counters.malformed,
			(unsigned long long)fs->counters.waited,
			(unsigned long long)fs->vdev.counters.notifications,
			(unsigned long long)fs->vdev.counters.interrupts);
	}
}

int vmm_start(struct vm_config *cfg)
{
	static struct vm vm; /* large; lives until the process ends */
	int ret;

	/* A closed stdout must end the console's output, not the process. */
	signal(SIGPIPE, SIG_IGN);
	/* The vCPUs start after the workers' sandboxes and before the loop's,
	 * which they would inherit (see vmm/sandbox.h). */
	if ((ret = vm_build(&vm, cfg)) < 0 || (ret = sandbox_drop_identity(cfg)) < 0 ||
	    (ret = sandbox_prepare()) < 0 || (ret = sandbox_shares(&vm)) < 0 ||
	    (ret = vm_start_vcpus(&vm)) < 0 || (ret = sandbox_enter(SANDBOX_EVENT_LOOP)) < 0) {
		if (vm.nr_vcpus && vm.vcpus[0].thread_started) {
			/* vCPUs already run guest code: there is no going back. */
			vm_flush(&vm);
			_exit(125);
		}
		vm_destroy(&vm);
		return ret;
	}
	ret = event_loop_run(&vm.loop);
	if (ret < 0)
		LOG_ERR("the event loop failed: %s", strerror(-ret));
	vm_flush(&vm);
	int status = ret < 0 ? 125 : vm_exit_status(&vm);
	log_memory_use(&vm);
	log_share_use(&vm);
	sandbox_log_cost();
	uint64_t marker = vm.ports.boot_marker_ns;
	LOG_INF("guest stopped (reason %d) after %.3f s, status %d; workload started after %.3f s",
		(int)vm.stop_reason, (monotonic_ns() - vm.start_ns) / 1e9, status,
		marker ? (marker - vm.start_ns) / 1e9 : 0.0);
	_exit(status);
}
