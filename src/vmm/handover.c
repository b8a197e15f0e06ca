/* What the guest's init is told, on the builder's thread: the kernel
 * command line's prefix; the workload, either as KRUN_* variables, its
 * environment and, after "--", its arguments (what libkrun's init reads),
 * or, when our init runs from the root share, as a document served there
 * beside /init.krun (any bytes, any length); and the variables devices add
 * (vm_add_guest_env). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "guest_abi.h"
#include "vmm/init_blob.h"
#include "vmm/vm.h"
#include "vmm/workload_json.h"

static int cmdline_failed(struct vm *vm, int ret)
{
	LOG_ERR("kernel command line: %s", vm->cmdline.reason);
	return ret;
}

/* /init.krun and, for a workload set through the API, the document the
 * init reads it from, for the root share to serve. */
static int serve_init(struct vm *vm)
{
	struct vmm_served_file *init = &vm->root_files[vm->nr_root_files];
	const uint8_t *data;

	if (!init_blob_get(&data, &init->len)) {
		LOG_ERR("this build of the library has no guest init to serve as " KRUN_INIT_PATH);
		return -ENOTSUP;
	}
	init->name = KRUN_INIT_NAME;
	init->data = data;
	init->mode = 0555;
	vm->nr_root_files++;
	if (!vm->cfg->exec_path)
		return 0;
	if (!(vm->workload_json = workload_json(vm->cfg))) {
		LOG_ERR("cannot write the workload's description: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	vm->root_files[vm->nr_root_files++] = (struct vmm_served_file){
		.name = KRUN_WORKLOAD_JSON_NAME,
		.data = vm->workload_json,
		.len = strlen(vm->workload_json),
		.mode = 0400, /* its environment may hold secrets: root's */
	};
	return 0;
}

/* Variables the kernel cannot carry (quotes) are left out with a warning
 * rather than failing the boot. */
static int add_workload_env(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct cmdline *cl = &vm->cmdline;
	char rlimits[1024] = "";
	int ret = 0;

	if (vm->workload_json) {
		if ((ret = cmdline_add_env(cl, KRUN_ENV_CONFIG, KRUN_WORKLOAD_JSON_PATH)) < 0)
			return cmdline_failed(vm, ret);
		return 0;
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
	if (ret < 0)
		return cmdline_failed(vm, ret);
	for (char **e = cfg->envp; e && *e; e++) {
		if ((ret = cmdline_add_environ(cl, *e)) == -E2BIG)
			return cmdline_failed(vm, ret);
		if (ret < 0)
			LOG_WRN("environment variable left out: %s", cl->reason);
	}
	return 0;
}

/* krun_set_root_disk_remount's, for the init (whose configuration, served
 * in the root share, it reads before the switch). */
static int add_root_disk_env(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct cmdline *cl = &vm->cmdline;
	int ret = 0;

	if (!cfg->root_disk_device)
		return 0;
	ret = cmdline_add_env(cl, KRUN_ENV_BLOCK_ROOT_DEVICE, cfg->root_disk_device);
	if (ret == 0 && cfg->root_disk_fstype)
		ret = cmdline_add_env(cl, KRUN_ENV_BLOCK_ROOT_FSTYPE, cfg->root_disk_fstype);
	if (ret == 0 && cfg->root_disk_options)
		ret = cmdline_add_env(cl, KRUN_ENV_BLOCK_ROOT_OPTIONS, cfg->root_disk_options);
	return ret < 0 ? cmdline_failed(vm, ret) : 0;
}

int handover_prepare(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	bool has_root = false;
	int ret;

	for (unsigned int i = 0; i < cfg->nr_shares; i++)
		has_root |= strcmp(cfg->shares[i].tag, VM_ROOT_TAG) == 0;
	/* A root share boots /init.krun, ours or, with the implicit init
	 * disabled, the root's own (as libkrun's command line says either way). */
	if (has_root && !cfg->implicit_init_disabled && (ret = serve_init(vm)) < 0)
		return ret;
	ret = cfg->kernel_cmdline ? cmdline_add_raw(&vm->cmdline, cfg->kernel_cmdline)
				  : cmdline_add_prefix(&vm->cmdline, has_root);
	if (ret == 0 && cfg->kernel_console)
		ret = cmdline_add_console(&vm->cmdline, cfg->kernel_console);
	if (ret < 0)
		return cmdline_failed(vm, ret);
	if ((ret = add_root_disk_env(vm)) < 0)
		return ret;
	return add_workload_env(vm);
}

int handover_add_args(struct vm *vm)
{
	char *none[] = { NULL };
	int ret;

	if (vm->workload_json)
		return 0;
	ret = cmdline_add_args(&vm->cmdline, vm->cfg->argv ? vm->cfg->argv : none);
	return ret < 0 ? cmdline_failed(vm, ret) : 0;
}

int vm_add_guest_env(void *opaque, const char *key, const char *value)
{
	struct vm *vm = opaque;
	int ret = cmdline_add_env(&vm->cmdline, key, value);

	return ret < 0 ? cmdline_failed(vm, ret) : 0;
}
