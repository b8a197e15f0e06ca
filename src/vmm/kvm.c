/* Guest memory, mapped before KVM is opened so that a size the host cannot
 * map fails on any machine, then opening KVM, creating the VM and
 * registering that memory with it, on the builder's thread. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/speed_probe.h"
#include "vmm/vm.h"

/* A /dev/kvm that is not the hardware-assisted kind (kvm_intel, kvm_amd) may
 * only emulate guest code (PVM does): a standard kernel would never finish
 * booting there. Time the probe guest on such hosts only, so ordinary hosts
 * pay nothing for the check. */
static int check_kvm_speed(const char *kvm_path)
{
	double seconds;
	char err[256];

	if (access("/sys/module/kvm_intel", F_OK) == 0 || access("/sys/module/kvm_amd", F_OK) == 0)
		return 0;
	if (kvm_speed_probe(kvm_path, KVM_PROBE_ITERATIONS, &seconds, err, sizeof(err)) < 0) {
		LOG_ERR("cannot probe %s: %s", kvm_path, err);
		return -ENODEV;
	}
	if (!kvm_probe_is_hardware_speed(seconds)) {
		LOG_ERR("this KVM emulates guest code (%.2f s for a loop that takes "
			"milliseconds on hardware): a Linux guest will not boot at usable speed; run "
			"on a host with hardware KVM, or inside the project's testhost/run", seconds);
		return -ENODEV;
	}
	return 0;
}

int vm_open_kvm(struct vm *vm)
{
	const char *path = vm->cfg->kvm_path ? vm->cfg->kvm_path : "/dev/kvm";
	int version, ret;

	vm->kvm_fd = open(path, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		LOG_ERR("cannot open %s: %s (is KVM enabled, and may this user open it?)", path,
			strerror(errno));
		return -errno;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		LOG_ERR("%s is not KVM: %s", path, strerror(errno));
		return -errno;
	}
	if (version != KVM_API_VERSION) {
		LOG_ERR("%s speaks KVM API version %d, not %d", path, version, KVM_API_VERSION);
		return -EINVAL;
	}
	if ((ret = check_kvm_speed(path)) < 0)
		return ret;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		LOG_ERR("cannot create a VM: %s", strerror(errno));
		return -errno;
	}
	if ((ret = gm_register(&vm->mem, vm->vm_fd)) < 0)
		LOG_ERR("cannot give KVM the guest memory: %s", strerror(-ret));
	return ret;
}

int vm_map_memory(struct vm *vm)
{
	const struct kernel_image *k = &vm->kernel;
	uint64_t ram = (uint64_t)vm->cfg->ram_mib << 20;
	/* Only a flat image sits in RAM from the start (an ELF's segments are
	 * loaded into it later). */
	uint64_t load = k->flat ? k->load_addr : 0, size = k->flat ? k->size : 0;
	uint64_t least = x86_layout_min_ram(load, size);
	int ret;

	/* The API layer holds clients to this; vmm_start's callers are held here. */
	if (vm->cfg->ram_mib > VM_MAX_RAM_MIB) {
		LOG_ERR("%u MiB of RAM requested, past the limit of %u MiB", vm->cfg->ram_mib,
			VM_MAX_RAM_MIB);
		return -EINVAL;
	}
	if (ram < least) {
		LOG_ERR("%u MiB of RAM is too small for this guest: it needs %llu MiB at least%s",
			vm->cfg->ram_mib, (unsigned long long)((least + (1 << 20) - 1) >> 20),
			size ? ", where its kernel image ends" : "");
		return -EINVAL;
	}
	/* What is left to fail is the image's range, which kernel.c checked. */
	ret = x86_layout_init(&vm->layout, ram, load, size);
	if (ret < 0) {
		LOG_ERR("cannot lay out guest memory around the kernel image at 0x%llx (%llu bytes)",
			(unsigned long long)load, (unsigned long long)size);
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
	return 0;
}
