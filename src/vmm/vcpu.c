#include "vmm/vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86_64/vcpu_setup.h"
#include "base/log.h"
#include "vmm/sandbox.h"

#define CR0_PG (1ull << 31)

int vcpu_create(struct vcpu *vcpu, const struct vcpu_env *env, unsigned int index)
{
	int ret;

	*vcpu = (struct vcpu){ .env = env, .index = index, .fd = -1 };
	vcpu->fd = ioctl(env->vm_fd, KVM_CREATE_VCPU, index);
	if (vcpu->fd < 0) {
		ret = -errno;
		goto fail;
	}
	vcpu->run = mmap(NULL, env->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		ret = -errno;
		goto fail;
	}
	if ((ret = x86_vcpu_init(vcpu->fd, env->supported_cpuid, index, env->nr_vcpus,
				 env->nested_virt)) < 0)
		goto fail;
	return 0;
fail:
	LOG_ERR("cannot create vCPU %u: %s", index, strerror(-ret));
	vcpu_destroy(vcpu);
	return ret;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->env->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

/* An access that no handler takes, MMIO or port I/O, reads as all ones
 * (nothing there), and a write to it changes nothing. */
static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t addr = run->mmio.phys_addr;
	uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : sizeof(run->mmio.data);

	if (bus_dispatch(vcpu->env->mmio_bus, addr, run->mmio.data, len, run->mmio.is_write))
		return;
	LOG_RATELIMITED(LOG_DEBUG, "guest %s %u bytes at unmapped address 0x%" PRIx64,
			run->mmio.is_write ? "wrote" : "read", len, addr);
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	size_t run_size = vcpu->env->run_size;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* data_offset and count come from KVM, but stay inside the run page. */
	if (size == 0 || size > 4 || run->io.data_offset >= run_size ||
	    (uint64_t)run->io.count * size > run_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++) {
		uint8_t *d = data + i * size;

		if (bus_dispatch(vcpu->env->pio_bus, run->io.port, d, size, is_write))
			continue;
		LOG_RATELIMITED(LOG_DEBUG, "guest %s %u bytes at unhandled port 0x%x",
				is_write ? "wrote" : "read", size, run->io.port);
		if (!is_write)
			memset(d, 0xff, size);
	}
}

/* What the guest was doing: enough to debug it (the kernel's symbols name
 * rip). At error level, which every level but off shows: a failure, or a
 * description someone asked for. */
static void log_vcpu_state(struct vcpu *vcpu, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		LOG_ERR("vCPU %u: %s (registers unavailable)", vcpu->index, what);
		return;
	}
	/* Paging through a table outside RAM, the guest could not run at all:
	 * the state is not one it put there (seen under nested emulation). */
	bool impossible = (s.cr0 & CR0_PG) && !gm_ptr(vcpu->env->mem, s.cr3 & ~0xfffull, 4096);
	LOG_ERR("vCPU %u: %s: rip=0x%llx rsp=0x%llx rax=0x%llx rbx=0x%llx rcx=0x%llx "
		"rdx=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx cs=0x%x%s",
		vcpu->index, what, r.rip, r.rsp, r.rax, r.rbx, r.rcx, r.rdx, r.rflags, s.cr0, s.cr3,
		s.cr4, s.efer, s.cs.selector,
		impossible ? " (cr3 outside guest RAM: a state the guest cannot be in; KVM's or the "
			     "host's fault, not the guest's)" : "");
}

/* SIGUSR2 makes every vCPU log where its guest is (a guest that seems hung:
 * spinning, or waiting, and where). Sent to the process, the signal lands
 * on some thread, which passes it on to each vCPU thread; there it makes
 * KVM_RUN return at once (immediate_exit, so a signal between two KVM_RUNs
 * is not lost) and the thread logs its registers. A signal the process
 * passed on is never passed on again, wherever it lands. */
static struct vcpu *_Atomic described_vcpus;
static _Atomic unsigned int nr_described_vcpus;

static void on_describe_signal(int sig, siginfo_t *info, void *context)
{
	struct vcpu *vcpus = described_vcpus;
	unsigned int nr_vcpus = nr_described_vcpus;

	(void)context;
	if (!vcpus)
		return;
	if (info->si_code == SI_TKILL && info->si_pid == getpid()) {
		for (unsigned int i = 0; i < nr_vcpus; i++) {
			struct vcpu *v = &vcpus[i];
			if (v->thread_started && pthread_equal(v->thread, pthread_self())) {
				atomic_store(&v->describe, true);
				v->run->immediate_exit = 1;
			}
		}
		return;
	}
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		if (vcpus[i].thread_started)
			pthread_kill(vcpus[i].thread, sig);
	}
}

int vcpu_watch_describe_signal(struct vcpu *vcpus, unsigned int nr_vcpus)
{
	struct sigaction sa = { .sa_sigaction = on_describe_signal,
				 .sa_flags = SA_SIGINFO | SA_RESTART };

	/* the count first: the handler reads it once it sees the vCPUs */
	nr_described_vcpus = nr_vcpus;
	described_vcpus = vcpus;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR2, &sa, NULL) < 0 ? -errno : 0;
}

static void stop_vm(struct vcpu *vcpu, enum vm_stop_reason reason)
{
	vcpu->env->stop(vcpu->env->opaque, reason);
}

/* Handle one exit; false when this vCPU (and the VM) is done. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		/* A level-triggered route's EOI. Interrupts reach the guest as
		 * MSIs from irqfds, never through our I/O APIC, so it holds no
		 * Remote IRR to clear; a device raises its irqfd again itself. */
		return true;
	case KVM_EXIT_SHUTDOWN: /* triple fault: how reboot=t and crashes end */
		stop_vm(vcpu, VM_STOP_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_HLT:
		stop_vm(vcpu, VM_STOP_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		stop_vm(vcpu, run->system_event.type == KVM_SYSTEM_EVENT_RESET ? VM_STOP_RESET
			: run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? VM_STOP_SHUTDOWN
			: VM_STOP_ERROR);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error, suberror %u",
			 run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit %u", run->exit_reason);
		break;
	}
	log_vcpu_state(vcpu, what);
	stop_vm(vcpu, VM_STOP_ERROR);
	return false;
}

void *vcpu_thread(void *opaque)
{
	struct vcpu *vcpu = opaque;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	if (sandbox_enter(SANDBOX_VCPU) < 0) {
		stop_vm(vcpu, VM_STOP_ERROR);
		return NULL;
	}
	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			int err = errno; /* logging may change errno */

			/* immediate_exit first: a request coming meanwhile
			 * stops the next KVM_RUN again */
			vcpu->run->immediate_exit = 0;
			if (err == EINTR && atomic_exchange(&vcpu->describe, false))
				log_vcpu_state(vcpu, "described on request (SIGUSR2)");
			if (err == EINTR || err == EAGAIN)
				continue;
			LOG_ERR("vCPU %u: KVM_RUN failed: %s", vcpu->index, strerror(err));
			stop_vm(vcpu, VM_STOP_ERROR);
			break;
		}
		if (!handle_exit(vcpu) || atomic_load(vcpu->env->stop_reason) != VM_STOP_NONE)
			break;
	}
	return NULL;
}
