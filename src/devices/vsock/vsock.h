/* The VM's vsock device as a device of the registry: at most one, with the
 * configuration's ports (struct vm_vsock_port). */
#ifndef KRUN_DEVICES_VSOCK_VSOCK_H
#define KRUN_DEVICES_VSOCK_VSOCK_H

#include "config/vm_config.h"
#include "devices/device.h"

/* 1 when cfg has a vsock device, else 0. */
unsigned int vsock_count(const struct vm_config *cfg);
/* host_fd: -1 (the listeners are made here, before any sandbox). */
int vsock_create(const struct vm_config *cfg, unsigned int index, int host_fd,
		 const struct vmm_device_env *env, struct vmm_device **dev);

#endif
