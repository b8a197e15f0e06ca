/* The one table of device kinds: how many devices of each kind the
 * configuration asks for, and the constructor that makes one. The VMM
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
	/* Device index (below count) of this kind: 0 and *dev, or -errno
	 * (logged) with all it set up undone. */
	int (*create)(const struct vm_config *cfg, unsigned int index,
		      const struct vmm_device_env *env, struct vmm_device **dev);
};

extern const struct device_kind device_kinds[];
extern const unsigned int nr_device_kinds;

/* The devices of a VM, in the order they were made. */
struct device_list {
	unsigned int nr;
	struct vmm_device **devs;
};

/* Every device cfg asks for, kind after kind in the table's order, each
 * kind's in index order. On failure the devices already made are destroyed
 * in reverse order and the failed constructor's -errno returned; the list
 * is then empty. kinds: device_kinds, or a test's own. */
int devices_build(struct device_list *list, const struct device_kind *kinds,
		  unsigned int nr_kinds, const struct vm_config *cfg,
		  const struct vmm_device_env *env);
/* Every device's flush, then every device's release_host. */
void devices_flush(const struct device_list *list);
void devices_log_stats(const struct device_list *list);
/* on_threads for every device that has threads: 0 or the first error. */
int devices_on_threads(const struct device_list *list, int (*fn)(void));
/* Destroy them all, the last made first, and empty the list. */
void devices_destroy(struct device_list *list);

#endif
