/* A disk as a device of the registry: its image opened before KVM, its
 * format read and its virtio-blk device plugged when the VM is built, its
 * workers in the sandbox of their sort, its counters logged at the end. */
#include "devices/blk/blk.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/blk/virtio_blk.h"
#include "disk/image.h"

struct blk_device {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	bool initialised;
	bool plugged;
	struct virtio_blk blk;
};

static struct blk_device *blk_device_of(const struct vmm_device *dev)
{
	return (struct blk_device *)dev;
}

static struct disk_open_opts open_opts(const struct vm_disk *d)
{
	return (struct disk_open_opts){
		.read_only = d->read_only, .direct_io = d->direct_io, .sync = (enum disk_sync)d->sync,
	};
}

unsigned int blk_count(const struct vm_config *cfg)
{
	return cfg->nr_disks;
}

int blk_open_host(const struct vm_config *cfg, unsigned int index)
{
	const struct vm_disk *d = &cfg->disks[index];
	struct disk_open_opts opts = open_opts(d);

	return disk_image_open_file(d->path, (enum disk_format)d->format, &opts);
}

static const struct vmm_device_ops blk_device_ops;

int blk_create(const struct vm_config *cfg, unsigned int index, int host_fd,
	       const struct vmm_device_env *env, struct vmm_device **dev)
{
	const struct vm_disk *d = &cfg->disks[index];
	struct disk_open_opts opts = open_opts(d);
	struct blk_device *b = calloc(1, sizeof(*b));
	struct disk_image *img;
	int ret;

	if (!b) {
		LOG_ERR("virtio-blk %s: cannot allocate its device: %s", d->block_id,
			strerror(ENOMEM));
		close(host_fd);
		return -ENOMEM;
	}
	b->dev.ops = &blk_device_ops;
	b->env = env;
	if ((ret = disk_image_open_fd(host_fd, d->path, (enum disk_format)d->format, &opts,
				      &img)) < 0 ||
	    (ret = virtio_blk_init(&b->blk, img, d->block_id)) < 0) {
		free(b);
		return ret;
	}
	b->initialised = true;
	if ((ret = env->plug_virtio(env->vmm, &b->blk.vdev)) < 0) {
		blk_device_ops.destroy(&b->dev);
		return ret;
	}
	b->plugged = true;
	LOG_DBG("virtio-blk %s: %s, %s image, %llu sectors%s", d->block_id, d->path,
		img->format, (unsigned long long)b->blk.capacity, img->read_only ? ", read-only" : "");
	*dev = &b->dev;
	return 0;
}

static int blk_on_threads(struct vmm_device *dev, int (*fn)(void))
{
	return virtio_blk_on_workers(&blk_device_of(dev)->blk, fn);
}

static void blk_log_stats(const struct vmm_device *dev)
{
	const struct virtio_blk *b = &blk_device_of(dev)->blk;
	const struct virtio_blk_counters *c = &b->counters;

	LOG_INF("virtio-blk %.20s: %llu requests: %llu reads (%llu bytes), %llu writes (%llu "
		"bytes), %llu flushes, %llu discards, %llu write-zeroes, %llu get-id; %llu I/O "
		"errors, %llu unsupported, %llu malformed; %llu kicks, %llu interrupts",
		b->serial, (unsigned long long)c->requests, (unsigned long long)c->reads,
		(unsigned long long)c->bytes_read, (unsigned long long)c->writes,
		(unsigned long long)c->bytes_written, (unsigned long long)c->flushes,
		(unsigned long long)c->discards, (unsigned long long)c->write_zeroes,
		(unsigned long long)c->get_ids, (unsigned long long)c->io_errors,
		(unsigned long long)c->unsupported, (unsigned long long)c->malformed,
		(unsigned long long)b->vdev.counters.notifications,
		(unsigned long long)b->vdev.counters.interrupts);
}

static void blk_destroy(struct vmm_device *dev)
{
	struct blk_device *b = blk_device_of(dev);

	if (b->plugged)
		b->env->unplug_virtio(b->env->vmm, &b->blk.vdev);
	if (b->initialised)
		virtio_blk_destroy(&b->blk);
	free(b);
}

static const struct vmm_device_ops blk_device_ops = {
	.log_stats = blk_log_stats,
	.threads = DEVICE_THREADS_BLK_WORKER,
	.on_threads = blk_on_threads,
	.destroy = blk_destroy,
};
