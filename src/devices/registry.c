#include "devices/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/blk/blk.h"
#include "devices/console/shutdown.h"
#include "devices/console/stdio.h"
#include "devices/fs/share.h"
#include "devices/net/net.h"
#include "devices/rng/rng.h"
#include "devices/vsock/vsock.h"

/* The order is the guest's: devices take MMIO slots as they are made and
 * the guest probes the slots in order, so the consoles come first (the
 * kernel's console is the first hvc it finds, and what it says from then on
 * is seen), then the shutdown port's console (a named port, no hvc), the
 * shares after them, in the order they were added, then the
 * disks, which the guest names vda, vdb, ... as it finds them, then the
 * network interfaces, which the guest names eth0, eth1, ... as it finds them,
 * then the vsock device, then virtio-rng (libkrun's VMs always have one; it
 * takes one of the 11 MMIO slots). */
const struct device_kind device_kinds[] = {
	{ .name = "console", .count = stdio_console_count, .create = stdio_console_create },
	{ .name = "shutdown", .count = shutdown_port_count, .create = shutdown_port_create },
	{ .name = "virtio-fs", .count = fs_share_count, .open_host = fs_share_open_host,
	  .create = fs_share_create },
	{ .name = "virtio-blk", .count = blk_count, .open_host = blk_open_host,
	  .create = blk_create },
	{ .name = "virtio-net", .count = net_count, .create = net_create },
	{ .name = "virtio-vsock", .count = vsock_count, .create = vsock_create },
	{ .name = "virtio-rng", .count = rng_count, .create = rng_create },
};
const unsigned int nr_device_kinds = sizeof(device_kinds) / sizeof(device_kinds[0]);

static unsigned int count_devices(const struct device_kind *kinds, unsigned int nr_kinds,
				  const struct vm_config *cfg)
{
	unsigned int total = 0;

	for (unsigned int k = 0; k < nr_kinds; k++)
		total += kinds[k].count(cfg);
	return total;
}

static void close_host_fds(struct device_list *list)
{
	for (unsigned int i = 0; i < list->nr_host_fds; i++) {
		if (list->host_fds[i] >= 0)
			close(list->host_fds[i]);
	}
	free(list->host_fds);
	list->host_fds = NULL;
	list->nr_host_fds = 0;
}

int devices_open_host(struct device_list *list, const struct device_kind *kinds,
		      unsigned int nr_kinds, const struct vm_config *cfg)
{
	unsigned int total = count_devices(kinds, nr_kinds, cfg);

	*list = (struct device_list){ 0 };
	if (total == 0)
		return 0;
	list->host_fds = calloc(total, sizeof(*list->host_fds));
	if (!list->host_fds) {
		LOG_ERR("cannot list %u devices' host files: %s", total, strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned int k = 0; k < nr_kinds; k++) {
		unsigned int count = kinds[k].count(cfg);

		for (unsigned int i = 0; i < count; i++) {
			int fd = -1;

			if (kinds[k].open_host && (fd = kinds[k].open_host(cfg, i)) < 0) {
				close_host_fds(list);
				return fd;
			}
			list->host_fds[list->nr_host_fds++] = fd;
		}
	}
	return 0;
}

int devices_build(struct device_list *list, const struct device_kind *kinds,
		  unsigned int nr_kinds, const struct vm_config *cfg,
		  const struct vmm_device_env *env)
{
	unsigned int total = count_devices(kinds, nr_kinds, cfg);

	if (total == 0)
		return 0;
	list->devs = calloc(total, sizeof(*list->devs));
	if (!list->devs) {
		LOG_ERR("cannot list %u devices: %s", total, strerror(ENOMEM));
		devices_destroy(list);
		return -ENOMEM;
	}
	for (unsigned int k = 0; k < nr_kinds; k++) {
		unsigned int count = kinds[k].count(cfg);

		for (unsigned int i = 0; i < count; i++) {
			struct vmm_device *dev;
			int *host_fd = &list->host_fds[list->nr];
			int ret = kinds[k].create(cfg, i, *host_fd, env, &dev);

			*host_fd = -1; /* the constructor's now */
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

int devices_on_threads(const struct device_list *list,
		       int (*const fns[DEVICE_NR_THREAD_KINDS])(void))
{
	for (unsigned int i = 0; i < list->nr; i++) {
		struct vmm_device *dev = list->devs[i];
		enum device_thread_kind sort = dev->ops->threads;
		int ret;

		if (!dev->ops->on_threads)
			continue;
		if (sort <= DEVICE_THREADS_NONE || sort >= DEVICE_NR_THREAD_KINDS || !fns[sort]) {
			LOG_ERR("%s %u keeps threads of a sort (%d) without a sandbox", dev->kind,
				dev->index, (int)sort);
			return -EINVAL;
		}
		if ((ret = dev->ops->on_threads(dev, fns[sort])) < 0)
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
	close_host_fds(list);
	*list = (struct device_list){ 0 };
}
