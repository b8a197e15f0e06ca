/* The one table of device kinds: how many devices of each kind the
 * configuration asks for, what each opens of the host before KVM is opened,
 * and the constructor that makes one. The VMM
 * builds its devices through it, in the table's order, and knows no kind by
 * name; a new kind is a folder under devices/ and a line in the table.
 *
 * Everything here runs on the thread that builds the VM, except
 * devices_flush and devices_log_stats, on the event loop's once the VM is
 * over (see devices/device.h). */
#ifndef KRUN_DEVICES_REGISTRY_H
#define KRUN_DEVICES_REGISTRY_H

#include "devices/device.h"
#include "config/vm_config.h"

struct device_kind {
	const char *name;
	/* How many devices of this kind cfg asks for. */
	unsigned int (*count)(const struct vm_config *cfg);
	/* NULL, or the host object device index serves (a share's
	 * directory), opened before KVM is, so that a configuration naming a
	 * wrong one fails the same way on a host without KVM, and opened once:
	 * the device gets this fd, not the path again. The fd, or -errno
	 * (logged). */
	int (*open_host)(const struct vm_config *cfg, unsigned int index);
	/* Device index (below count) of this kind, from host_fd (its
	 * open_host's fd, -1 for a kind without one), which it takes over,
	 * closed on failure too: 0 and *dev, or -errno (logged) with all it
	 * set up undone. */
	int (*create)(const struct vm_config *cfg, unsigned int index, int host_fd,
		      const struct vmm_device_env *env, struct vmm_device **dev);
};

extern const struct device_kind device_kinds[];
extern const unsigned int nr_device_kinds;

/* The devices of a VM, in the order they were made; before they are, the
 * host fds they will take. */
struct device_list {
	unsigned int nr;
	struct vmm_device **devs;
	/* Device i's open_host fd, or -1: taken (set to -1) by its create. */
	unsigned int nr_host_fds;
	int *host_fds;
};

/* Before KVM is opened: every device's open_host, kind after kind in the
 * table's order, each kind's in index order, into an empty list. On failure
 * the fds already opened are closed and the failing open_host's -errno
 * returned; the list is then empty. kinds: device_kinds, or a test's own. */
int devices_open_host(struct device_list *list, const struct device_kind *kinds,
		      unsigned int nr_kinds, const struct vm_config *cfg);
/* Every device cfg asks for, in the same order, each from its host fd, into
 * the list devices_open_host filled (with the same kinds and cfg). On
 * failure the devices already made are destroyed in reverse order, the
 * host fds not taken closed, and the failed constructor's -errno returned;
 * the list is then empty. */
int devices_build(struct device_list *list, const struct device_kind *kinds,
		  unsigned int nr_kinds, const struct vm_config *cfg,
		  const struct vmm_device_env *env);
/* Every device's flush, then every device's release_host. */
void devices_flush(const struct device_list *list);
void devices_log_stats(const struct device_list *list);
/* on_threads for every device that has threads, with the function of their
 * sort: fns[dev->ops->threads]. 0 or the first error; -EINVAL (logged)
 * for threads of a sort fns has none for. */
int devices_on_threads(const struct device_list *list,
		       int (*const fns[DEVICE_NR_THREAD_KINDS])(void));
/* Destroy them all, the last made first, close the host fds no device took,
 * and empty the list. */
void devices_destroy(struct device_list *list);

#endif
