/* A device as the VMM sees it, whatever its kind: made by its kind's
 * constructor from the configuration (devices/registry.c), asked to write
 * out and give back what it holds when the VM ends, and reaching the VMM
 * only through the calls of struct vmm_device_env.
 *
 * A device's life: its constructor runs on the thread that builds the VM
 * (krun_start_enter's), plugs each of its virtio devices into an MMIO slot
 * through the env and watches its host fds in the env's event loop. Once
 * the vCPUs run, a device is never destroyed: the VM ends with flush and
 * release_host, then the process ends. destroy runs only for a VM that
 * could not be started, on the builder's thread, before any vCPU ran. */
#ifndef KRUN_DEVICES_DEVICE_H
#define KRUN_DEVICES_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "virtio/device.h"

/* A file the VMM hands the guest, served from memory (not copied). */
struct vmm_served_file {
	const char *name; /* one path component */
	const void *data;
	size_t len;
	uint32_t mode; /* permission bits */
};

/* What a device may ask of the VMM. Each call takes vmm as its first
 * argument and runs on the builder's thread, before any vCPU does, unless
 * it says otherwise; those that fail log why and return -errno. */
struct vmm_device_env {
	void *vmm;
	/* Where the device watches its host fds; handlers run on the loop's
	 * thread, the one that called krun_start_enter. */
	struct event_loop *loop;
	/* vdev (its device part filled in, its queues initialised) on the
	 * next MMIO slot: the transport, an irqfd for its interrupt, an
	 * ioeventfd per queue served in the loop, and the slot on the guest's
	 * kernel command line. On failure nothing of it is left. */
	int (*plug_virtio)(void *vmm, struct virtio_device *vdev);
	/* Take vdev off its slot before the device frees it. */
	void (*unplug_virtio)(void *vmm, struct virtio_device *vdev);
	/* KEY="value" in the environment of the guest's init (on the kernel
	 * command line). */
	int (*add_guest_env)(void *vmm, const char *key, const char *value);
	/* From now on, each time the process gets signo, call fn(opaque) on
	 * the loop's thread (the signal is blocked on the builder's thread,
	 * which starts every other, until the VM is torn down). */
	int (*watch_signal)(void *vmm, int signo, void (*fn)(void *opaque), void *opaque);
	/* The workload's exit status, 0 to 255, as the guest's init reported
	 * it through a device; any thread. */
	void (*set_exit_status)(void *vmm, int status);
	/* Files served from memory in the guest's root directory (by the
	 * share tagged VM_ROOT_TAG): our init, /init.krun, and the workload's
	 * description it reads; none when the root runs an init of its own. */
	const struct vmm_served_file *root_files;
	unsigned int nr_root_files;
};

struct vmm_device;

/* What the threads a device keeps do, which decides the system calls they
 * may make: the VMM gives each sort a seccomp filter of its own (a thread
 * serving host files needs no socket; one serving a network would). */
enum device_thread_kind {
	DEVICE_THREADS_NONE,	  /* the device keeps no thread */
	DEVICE_THREADS_FS_WORKER, /* serve FUSE requests on a share's files */
	DEVICE_THREADS_BLK_WORKER, /* serve a disk's requests on its image */
	DEVICE_NR_THREAD_KINDS,
};

/* Each kind's, one table for all its devices. Any entry but destroy may be
 * NULL: the device has nothing of that sort. */
struct vmm_device_ops {
	/* The VM is over, its vCPUs may still run (the process ends next):
	 * write out what the device still holds for the host (console output
	 * the guest queued). Every device's flush comes before any device's
	 * release_host. On the event loop's thread. */
	void (*flush)(struct vmm_device *dev);
	/* After every flush, as two devices may share a host fd: give the host
	 * back what the device changed (a terminal's mode, fds' blocking
	 * mode). Same thread. */
	void (*release_host)(struct vmm_device *dev);
	/* Info log lines, after release_host: what the device did, from its
	 * counters (a slow workload's first clue). Same thread. */
	void (*log_stats)(const struct vmm_device *dev);
	/* The sort of every thread the device keeps; DEVICE_THREADS_NONE
	 * with on_threads NULL. */
	enum device_thread_kind threads;
	/* Call fn on each thread the device keeps (those it starts later
	 * inherit what fn sets) and wait for them all: 0 or fn's first error.
	 * The VMM puts the threads in the seccomp filter of their sort so,
	 * on the builder's thread before any vCPU runs. */
	int (*on_threads)(struct vmm_device *dev, int (*fn)(void));
	/* Snapshots (not written yet): save writes the device's state, the
	 * VM paused, to fd in a format of the kind's own; restore reads it
	 * back into a device its constructor just made from the same
	 * configuration, before any vCPU runs. NULL for every kind today. */
	int (*save)(struct vmm_device *dev, int fd);
	int (*restore)(struct vmm_device *dev, int fd);
	/* Undo the constructor: unplug, close, free. Builder's thread. */
	void (*destroy)(struct vmm_device *dev);
};

/* The first member of every kind's device state, which its ops cast back. */
struct vmm_device {
	const struct vmm_device_ops *ops;
	const char *kind; /* set by the registry: its table's name for the kind */
	unsigned int index; /* among the devices of its kind */
};

#endif
