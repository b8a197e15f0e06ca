#include "config/vm_config.h"

#include <stdlib.h>
#include <string.h>

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
