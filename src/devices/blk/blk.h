/* The VM's disks as devices of the registry: one virtio-blk device per
 * configured disk (struct vm_disk), vda first. */
#ifndef KRUN_DEVICES_BLK_BLK_H
#define KRUN_DEVICES_BLK_BLK_H

#include "config/vm_config.h"
#include "devices/device.h"

unsigned int blk_count(const struct vm_config *cfg);
/* Disk index's image, opened and locked before KVM (device_kind.open_host):
 * the fd, or -errno (logged). */
int blk_open_host(const struct vm_config *cfg, unsigned int index);
/* host_fd: that image, whose format is read here. */
int blk_create(const struct vm_config *cfg, unsigned int index, int host_fd,
	       const struct vmm_device_env *env, struct vmm_device **dev);

#endif
