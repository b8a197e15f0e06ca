/* The virtio-fs device kind: one device for each share of the
 * configuration, a FUSE server over the share's host directory behind a
 * virtio-fs device (virtio_fs.h). The root share (tagged VM_ROOT_TAG) also
 * serves the env's root files. Any share takes the guest init's exit-status
 * ioctl, which the server allows its root directory's PID 1 only.
 *
 * Threads: made and destroyed on the builder's thread; each device's queue
 * workers serve it (virtio_fs.h); the statistics on the event loop's
 * thread. */
#ifndef KRUN_DEVICES_FS_SHARE_H
#define KRUN_DEVICES_FS_SHARE_H

#include "devices/device.h"
#include "config/vm_config.h"

unsigned int fs_share_count(const struct vm_config *cfg);
/* The share's directory, opened before KVM (device_kind.open_host). */
int fs_share_open_host(const struct vm_config *cfg, unsigned int index);
/* host_fd: that directory, which the share serves. */
int fs_share_create(const struct vm_config *cfg, unsigned int index, int host_fd,
		    const struct vmm_device_env *env, struct vmm_device **dev);

#endif
