#include "arch/x86_64/vcpu_setup.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/cpuid.h"
#include "arch/x86_64/long_mode.h"
#include "arch/x86_64/pvh.h"

/* Just below the 4 GiB boundary, inside the MMIO gap where nothing else
 * lives. */
#define KVM_TSS_ADDR 0xfffbd000
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_DELIVERY_MODE (7u << 8)
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* The x87 control word and MXCSR after reset: every exception masked. */
#define FPU_FCW_RESET 0x37f
#define FPU_MXCSR_RESET 0x1f80

int x86_vm_setup(int vm_fd)
{
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENTITY_MAP_ADDR }) < 0)
		return -errno;
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~APIC_LVT_DELIVERY_MODE) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

/* What firmware sets up on a PC and what Linux expects to find. */
static int setup_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	set_lvt_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	set_lvt_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	return ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int x86_vcpu_init(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int index,
		  unsigned int nr_vcpus, bool nested)
{
	int ret = x86_set_vcpu_cpuid(vcpu_fd, supported, index, nr_vcpus, nested);

	return ret < 0 ? ret : setup_lapic(vcpu_fd);
}

int x86_boot_vcpu_setup(int vcpu_fd, enum x86_boot_protocol protocol, uint64_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_fpu fpu = { .fcw = FPU_FCW_RESET, .mxcsr = FPU_MXCSR_RESET };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (protocol == X86_BOOT_PVH) {
		x86_pvh_sregs(&sregs);
		x86_pvh_regs(&regs, entry);
	} else {
		x86_long_mode_sregs(&sregs);
		regs = (struct kvm_regs){
			.rip = entry, .rsp = X86_BOOT_STACK_ADDR, .rbp = X86_BOOT_STACK_ADDR,
			.rsi = X86_ZERO_PAGE_ADDR, .rflags = 2,
		};
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}
