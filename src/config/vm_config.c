#include "config/vm_config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool vm_config_has_vsock(const struct vm_config *cfg)
{
	return cfg->vsock_added ||
	       (!cfg->implicit_vsock_disabled && (cfg->nr_vsock_ports > 0 || cfg->nr_nets == 0));
}

uint32_t vm_config_tsi(const struct vm_config *cfg)
{
	if (cfg->vsock_added)
		return cfg->tsi_features;
	return vm_config_has_vsock(cfg) && cfg->nr_nets == 0 ? VM_TSI_HIJACK_INET : 0;
}

bool vm_config_tsi_publishes(const struct vm_config *cfg)
{
	if (!(vm_config_tsi(cfg) & VM_TSI_HIJACK_INET))
		return false;
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if (cfg->nets[i].backend == VM_NET_USER)
			return false;
	}
	return true;
}

void vm_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **s = strv; *s; s++)
		free(*s);
	free(strv);
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->kernel_path);
	free(cfg->initramfs_path);
	free(cfg->kernel_cmdline);
	free(cfg->exec_path);
	vm_strv_free(cfg->argv);
	vm_strv_free(cfg->envp);
	free(cfg->workdir);
	vm_strv_free(cfg->rlimits);
	free(cfg->console_output);
	free(cfg->kernel_console);
	if (cfg->has_shutdown_fd)
		close(cfg->shutdown_fd);
	for (unsigned int i = 0; i < cfg->nr_shares; i++) {
		free(cfg->shares[i].tag);
		free(cfg->shares[i].path);
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].block_id);
		free(cfg->disks[i].path);
	}
	free(cfg->root_disk_device);
	free(cfg->root_disk_fstype);
	free(cfg->root_disk_options);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		free(cfg->nets[i].path);
	for (unsigned int i = 0; i < cfg->nr_vsock_ports; i++)
		free(cfg->vsock_ports[i].path);
	memset(cfg, 0, sizeof(*cfg));
}
