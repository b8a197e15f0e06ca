/* The network interfaces of a VM as devices of the registry: one
 * virtio-net device per struct vm_net, in the order the client added them
 * (the guest's eth0, eth1, ...). */
#ifndef KRUN_DEVICES_NET_NET_H
#define KRUN_DEVICES_NET_NET_H

#include "config/vm_config.h"
#include "devices/device.h"

unsigned int net_count(const struct vm_config *cfg);
/* host_fd: -1, as the kind opens nothing before KVM (its sockets and tap
 * when the device is made). */
int net_create(const struct vm_config *cfg, unsigned int index, int host_fd,
	       const struct vmm_device_env *env, struct vmm_device **dev);

#endif
