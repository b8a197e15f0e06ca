/* What the kernel finds in guest memory at boot, written on the builder's
 * thread once the devices are on the command line: the kernel (an ELF
 * vmlinux loaded by its segments; a flat image is mapped already), the
 * command line, the initramfs, and the tables it reads (zero page or PVH
 * start info, page tables or GDT, MP table). */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/boot_params.h"
#include "arch/x86_64/long_mode.h"
#include "arch/x86_64/mptable.h"
#include "arch/x86_64/pvh.h"
#include "base/log.h"
#include "vmm/vm.h"

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

int boot_write_structures(struct vm *vm, uint64_t *entry)
{
	const struct cmdline *cl = &vm->cmdline;
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
	if ((ret = gm_write(&vm->mem, X86_CMDLINE_ADDR, cl->buf, cl->len + 1)) < 0) {
		LOG_ERR("cannot write the kernel command line: %s", strerror(-ret));
		return ret;
	}
	if ((ret = load_initramfs(vm, kernel_end, &info)) < 0)
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
