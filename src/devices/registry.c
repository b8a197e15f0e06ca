#include "devices/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/console/stdio.h"
#include "devices/fs/share.h"
#include "devices/net/net.h"

/* The order is the guest's: devices take MMIO slots as they are made and
 * the guest probes the slots in order, so the consoles come first (the
 * kernel's console is the first hvc it finds, and what it says from then on
 * is seen), the shares after them, in the order they were added, then the
 * network interfaces, which the guest names eth0, eth1, ... as it finds them. */
const struct device_kind device_kinds[] = {
	{ "console", stdio_console_count, stdio_console_create },
	{ "virtio-fs", fs_share_count, fs_share_create },
	{ "virtio-net", net_count, net_create },
};
const unsigned int nr_device_kinds = sizeof(device_kinds) / sizeof(device_kinds[0]);

int devices_build(struct device_list *list, const struct device_kind *kinds,
		  unsigned int nr_kinds, const struct vm_config *cfg,
		  const struct vmm_device_env *env)
{
	unsigned int total = 0;

	*list = (struct device_list){ 0 };
	for (unsigned int k = 0; k < nr_kinds; k++)
		total += kinds[k].count(cfg);
	if (total == 0)
		return 0;
	list->devs = calloc(total, sizeof(*list->devs));
	if (!list->devs) {
		LOG_ERR("cannot list %u devices: %s", total, strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned int k = 0; k < nr_kinds; k++) {
		unsigned int count = kinds[k].count(cfg);

		for (unsigned int i = 0; i < count; i++) {
			struct vmm_device *dev;
			int ret = kinds[k].create(cfg, i, env, &dev);

			if (ret < 0) {
				devices_destroy(list);
				return ret;
			}
			dev->kind = kinds[k].name;
			dev->index = i;
			list->devs[list->nr++] = dev;
		}
	}
	return 0;
}

void devices_flush(const struct device_list *list)
{
	for (unsigned int i = 0; i < list->nr; i++) {
		if (list->devs[i]->ops->flush)
			list->devs[i]->ops->flush(list->devs[i]);
	}
	for (unsigned int i = 0; i < list->nr; i++) {
		if (list->devs[i]->ops->release_host)
			list->devs[i]->ops->release_host(list->devs[i]);
	}
}

void devices_log_stats(const struct device_list *list)
{
	for (unsigned int i = 0; i < list->nr; i++) {
		if (list->devs[i]->ops->log_stats)
			list->devs[i]->ops->log_stats(list->devs[i]);
	}
}

int devices_on_threads(const struct device_list *list, int (*fn)(void))
{
	for (unsigned int i = 0; i < list->nr; i++) {
		struct vmm_device *dev = list->devs[i];
		int ret = dev->ops->on_threads ? dev->ops->on_threads(dev, fn) : 0;

		if (ret < 0)
			return ret;
	}
	return 0;
}

void devices_destroy(struct device_list *list)
{
	while (list->nr > 0) {
		struct vmm_device *dev = list->devs[--list->nr];
		dev->ops->destroy(dev);
	}
	free(list->devs);
	*list = (struct device_list){ 0 };
}
