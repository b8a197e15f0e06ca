/* Contexts, the machine, the kernel, and the hand-over to the VMM. */
#include "api/api.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "api/context.h"
#include "vmm/kernel.h"
#include "vmm/start.h"

int32_t krun_create_ctx(void)
{
	/* Now, while the host's filesystem is the one the client started in. */
	kernel_bundle_preload();
	return ctx_create();
}

int32_t krun_free_ctx(uint32_t ctx_id)
{
	struct vm_config cfg;
	int ret = ctx_take(ctx_id, __func__, &cfg);

	if (ret)
		return ret;
	vm_config_free(&cfg);
	return 0;
}

int32_t krun_set_vm_config(uint32_t ctx_id, uint8_t num_vcpus, uint32_t ram_mib)
{
	struct vm_config *cfg;

	if (num_vcpus < 1 || num_vcpus > VM_MAX_VCPUS)
		return API_EINVAL("%u vCPUs requested, need 1..%d", num_vcpus, VM_MAX_VCPUS);
	if (ram_mib < 1 || ram_mib > VM_MAX_RAM_MIB)
		return API_EINVAL("%u MiB of RAM requested, need 1..%u", ram_mib, VM_MAX_RAM_MIB);

	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	cfg->nr_vcpus = num_vcpus;
	cfg->ram_mib = ram_mib;
	ctx_unlock();
	return 0;
}

int32_t krun_get_max_vcpus(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int max;

	if (kvm < 0) {
		LOG_ERR("%s: /dev/kvm: %s", __func__, strerror(errno));
		return -EINVAL;
	}
	/* KVM's own fallbacks: the recommended count where no hard limit is
	 * reported, and 4 where neither is. */
	max = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	close(kvm);
	/* libkrun reports KVM's figure alone; the guest kernel bounds ours. */
	return max < VM_MAX_VCPUS ? max : VM_MAX_VCPUS;
}

int32_t krun_split_irqchip(uint32_t ctx_id, bool enable)
{
	struct vm_config *cfg = ctx_lock(ctx_id, __func__);

	if (!cfg)
		return -ENOENT;
	cfg->split_irqchip = enable;
	ctx_unlock();
	return 0;
}

int32_t krun_has_feature(uint64_t feature)
{
	switch (feature) {
	case KRUN_FEATURE_NET:
		return 1; /* krun_add_net_* */
	case KRUN_FEATURE_BLK:
	case KRUN_FEATURE_GPU:
	case KRUN_FEATURE_INPUT:
	case KRUN_FEATURE_TEE:
	case KRUN_FEATURE_AMD_SEV:
	case KRUN_FEATURE_INTEL_TDX:
	case KRUN_FEATURE_AWS_NITRO:
	case KRUN_FEATURE_VIRGL_RESOURCE_MAP2:
	case KRUN_FEATURE_INIT_BLOB:
		return 0; /* none of them is built yet */
	default:
		/* a client probing a newer header's feature: not an error of ours */
		LOG_DBG("krun_has_feature: unknown feature %llu", (unsigned long long)feature);
		return -EINVAL;
	}
}

int32_t krun_set_nested_virt(uint32_t ctx_id, bool enabled)
{
	struct vm_config *cfg = ctx_lock(ctx_id, __func__);

	if (!cfg)
		return -ENOENT;
	cfg->nested_virt = enabled;
	ctx_unlock();
	return 0;
}

/* A kvm module parameter reads "Y"/"N" or "1"/"0". */
static bool module_param_set(const char *path)
{
	char value[4] = "";
	FILE *f = fopen(path, "re");
	bool set;

	if (!f)
		return false;
	set = fgets(value, sizeof(value), f) &&
	      (value[0] == '1' || value[0] == 'Y' || value[0] == 'y');
	fclose(f);
	return set;
}

int32_t krun_check_nested_virt(void)
{
	/* KVM_CAP_NESTED_STATE would not do: it is reported whenever the vendor
	 * module has the code, even with nesting turned off. */
	return module_param_set("/sys/module/kvm_intel/parameters/nested") ||
	       module_param_set("/sys/module/kvm_amd/parameters/nested");
}

/* Fail at the call, as libkrun does for the files it opens there, rather
 * than when the VM is built. */
static int regular_file_check(const char *caller, const char *what, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	bool regular;

	if (fd < 0)
		return api_invalid(caller, "%s %s: %s", what, path, strerror(errno));
	regular = !fstat(fd, &st) && S_ISREG(st.st_mode);
	close(fd);
	if (!regular)
		return api_invalid(caller, "%s %s is not a regular file", what, path);
	return 0;
}

int32_t krun_set_kernel(uint32_t ctx_id, const char *kernel_path, uint32_t kernel_format,
			const char *initramfs, const char *cmdline)
{
	struct vm_config *cfg, staged = { 0 };
	int ret;

	if (!kernel_path)
		return API_EINVAL("kernel path is NULL");
	if (kernel_format > KRUN_KERNEL_FORMAT_IMAGE_ZSTD)
		return API_EINVAL("unknown kernel format %u", kernel_format);
	/* libkrun takes the arm64 formats on x86_64 too and fails only when
	 * building the VM; saying so now is kinder. */
	if (kernel_format != KRUN_KERNEL_FORMAT_RAW && kernel_format != KRUN_KERNEL_FORMAT_ELF)
		return API_EINVAL("kernel format %u is for arm64; x86_64 boots RAW or ELF",
				  kernel_format);
	ret = regular_file_check(__func__, "kernel", kernel_path);
	if (!ret && initramfs)
		ret = regular_file_check(__func__, "initramfs", initramfs);
	if (ret)
		return ret;

	if (replace_string(&staged.kernel_path, kernel_path) ||
	    replace_string(&staged.initramfs_path, initramfs) ||
	    replace_string(&staged.kernel_cmdline, cmdline)) {
		vm_config_free(&staged);
		return -ENOMEM;
	}
	cfg = ctx_lock(ctx_id, __func__);
	if (cfg) {
		SWAP(cfg->kernel_path, staged.kernel_path);
		SWAP(cfg->initramfs_path, staged.initramfs_path);
		SWAP(cfg->kernel_cmdline, staged.kernel_cmdline);
		cfg->kernel_format = kernel_format;
		ctx_unlock();
	}
	vm_config_free(&staged);
	return cfg ? 0 : -ENOENT;
}

/* Name the thread that becomes the VMM as libkrun does, so ps and top show
 * which process is a VM. */
static void name_vmm_thread(void)
{
	const char *hostname = getenv("HOSTNAME");
	char name[16]; /* the kernel keeps 15 characters */

	if (hostname)
		snprintf(name, sizeof(name), "VM:%s", hostname);
	else
		snprintf(name, sizeof(name), "libkrun VM");
	prctl(PR_SET_NAME, name);
}

int32_t krun_start_enter(uint32_t ctx_id)
{
	struct vm_config cfg;
	int ret = ctx_take(ctx_id, __func__, &cfg);

	if (ret)
		return ret;
	name_vmm_thread();
	port_map_warn_unused(&cfg);
	/* vmm_start() borrows cfg and returns only if the VM could not start;
	 * otherwise it ends the process. */
	ret = vmm_start(&cfg);
	vm_config_free(&cfg);
	return ret;
}
