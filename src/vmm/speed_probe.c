#include "vmm/speed_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/long_mode.h"
#include "base/clock.h"
#include "base/guest_mem.h"

#define PROBE_MEM_SIZE (2u << 20)
#define PROBE_CODE_ADDR 0x10000

struct probe {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct guest_memory mem;
	struct kvm_cpuid2 *cpuid;
};

#define FAIL(step) \
	do { \
		ret = -errno; \
		snprintf(err, err_len, "%s: %s", step, strerror(errno)); \
		goto out; \
	} while (0)

int kvm_speed_probe(const char *kvm_path, uint32_t iterations, double *seconds, char *err,
		    unsigned long err_len)
{
	/* mov ecx, N; 1: dec ecx; jnz 1b; hlt */
	uint8_t code[] = { 0xb9, 0, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0xf4 };
	struct probe p = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = PROBE_CODE_ADDR, .rflags = 2, .rsp = X86_BOOT_STACK_ADDR };
	int ret;

	memcpy(&code[1], &iterations, sizeof(iterations));
	if ((p.kvm_fd = open(kvm_path, O_RDWR | O_CLOEXEC)) < 0)
		FAIL(kvm_path);
	if ((p.vm_fd = ioctl(p.kvm_fd, KVM_CREATE_VM, 0)) < 0)
		FAIL("KVM_CREATE_VM");
	if ((ret = gm_add_anon(&p.mem, 0, PROBE_MEM_SIZE)) < 0) {
		errno = -ret;
		FAIL("guest memory");
	}
	if (x86_write_long_mode_tables(&p.mem) < 0 ||
	    gm_write(&p.mem, PROBE_CODE_ADDR, code, sizeof(code)) < 0) {
		errno = EFAULT;
		FAIL("guest memory layout");
	}
	if ((ret = gm_register(&p.mem, p.vm_fd)) < 0) {
		errno = -ret;
		FAIL("KVM_SET_USER_MEMORY_REGION");
	}
	if ((p.vcpu_fd = ioctl(p.vm_fd, KVM_CREATE_VCPU, 0)) < 0)
		FAIL("KVM_CREATE_VCPU");
	int run_size = ioctl(p.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		FAIL("KVM_GET_VCPU_MMAP_SIZE");
	p.run_size = run_size;
	p.run = mmap(NULL, p.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p.vcpu_fd, 0);
	if (p.run == MAP_FAILED) {
		p.run = NULL;
		FAIL("mmap kvm_run");
	}
	if ((ret = x86_supported_cpuid(p.kvm_fd, &p.cpuid)) < 0 ||
	    (ret = x86_set_vcpu_cpuid(p.vcpu_fd, p.cpuid, 0, 1, false)) < 0) {
		errno = -ret;
		FAIL("KVM_SET_CPUID2");
	}
	if (ioctl(p.vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		FAIL("KVM_GET_SREGS");
	x86_long_mode_sregs(&sregs);
	if (ioctl(p.vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		FAIL("KVM_SET_SREGS");
	if (ioctl(p.vcpu_fd, KVM_SET_REGS, &regs) < 0)
		FAIL("KVM_SET_REGS");

	uint64_t start = monotonic_ns();
	if (ioctl(p.vcpu_fd, KVM_RUN, 0) < 0)
		FAIL("KVM_RUN");
	*seconds = (monotonic_ns() - start) / 1e9;
	if (p.run->exit_reason != KVM_EXIT_HLT) {
		ret = -EIO;
		snprintf(err, err_len, "probe guest stopped with KVM exit reason %u instead of HLT",
			 p.run->exit_reason);
		goto out;
	}
	ret = 0;
out:
	free(p.cpuid);
	if (p.run)
		munmap(p.run, p.run_size);
	if (p.vcpu_fd >= 0)
		close(p.vcpu_fd);
	gm_destroy(&p.mem);
	if (p.vm_fd >= 0)
		close(p.vm_fd);
	if (p.kvm_fd >= 0)
		close(p.kvm_fd);
	return ret;
}
