/* A root filesystem on a disk (krun_set_root_disk_remount): mounted, moved
 * over the root share and made the root the workload sees. */
#ifndef KRUN_INIT_ROOT_DISK_H
#define KRUN_INIT_ROOT_DISK_H

#include <stddef.h>

/* Where the disk is mounted before it moves over "/": in devtmpfs, which
 * the init has mounted already. devtmpfs is one instance however often it
 * is mounted, so the new root's /dev shows the directory: removed then. */
#define ROOT_DISK_STAGING "/dev/.krun-root"

/* Split options ("ro,noatime,data=ordered"; NULL: none) into mount(2)'s
 * flags and the filesystem's own options (data). 0, or -1 when there are
 * more than 64 or data is too small. */
int root_disk_options(const char *options, unsigned long *flags, char *data, size_t data_size);

/* Mount device at a mount point of its own as fstype (NULL or "auto": ext4,
 * then every block filesystem /proc/filesystems lists), move it over "/"
 * and chroot into it; the caller mounts /proc, /sys, /dev again. 0, or -1
 * with what failed in err. Before / is made a shared mount. */
int root_disk_switch(const char *device, const char *fstype, const char *options, char *err,
		     size_t err_size);

#endif
