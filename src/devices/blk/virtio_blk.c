/* virtio-blk's device side: features and config space from the image, the
 * workers that serve the request queue (see virtio_blk.h for why a pool),
 * activation and reset. */
#include "devices/blk/virtio_blk.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "base/log.h"

static struct virtio_blk *blk_of(struct virtio_device *dev)
{
	return dev->priv;
}

static void blk_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&blk_of(dev)->config + offset, len);
}

/* Pop under the lock, serve unlocked, push under the lock: up to
 * VIRTIO_BLK_WORKERS requests in flight. A worker that pops one wakes
 * another for the next, so that a burst spreads over the pool. */
static void *worker_thread(void *opaque)
{
	struct virtio_blk_worker *w = opaque;
	struct virtio_blk *blk = w->blk;
	char name[16];

	snprintf(name, sizeof(name), "virtio-blk-%u", (unsigned int)(w - blk->workers));
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&blk->lock);
	for (;;) {
		uint32_t written;

		while (!blk->stop && !w->run && !(blk->active && blk->pending))
			pthread_cond_wait(&blk->kicked, &blk->lock);
		if (blk->stop)
			break;
		if (w->run) {
			w->run_ret = w->run();
			w->run = NULL;
			pthread_cond_broadcast(&blk->idle);
			continue;
		}
		if (virtio_pop(&blk->vdev, &blk->queue, w->chain) != 1) {
			/* Empty (the driver kicks for the next one) or broken
			 * (reported; the driver resets the device). */
			blk->pending = false;
			continue;
		}
		blk->in_flight++;
		pthread_cond_signal(&blk->kicked);
		pthread_mutex_unlock(&blk->lock);
		written = virtio_blk_serve(blk, w->chain, w->iov);
		pthread_mutex_lock(&blk->lock);
		/* A reset in between gave the queue back to the transport: the
		 * request's answer goes nowhere. */
		if (blk->active) {
			virtq_push(&blk->queue, w->chain->head, written);
			virtio_signal_used(&blk->vdev, &blk->queue);
		}
		if (--blk->in_flight == 0)
			pthread_cond_broadcast(&blk->idle);
	}
	pthread_mutex_unlock(&blk->lock);
	return NULL;
}

int virtio_blk_on_workers(struct virtio_blk *blk, int (*fn)(void))
{
	int ret = 0;

	pthread_mutex_lock(&blk->lock);
	for (unsigned int i = 0; i < VIRTIO_BLK_WORKERS && ret == 0; i++) {
		struct virtio_blk_worker *w = &blk->workers[i];

		w->run = fn;
		pthread_cond_broadcast(&blk->kicked);
		while (w->run)
			pthread_cond_wait(&blk->idle, &blk->lock);
		ret = w->run_ret;
	}
	pthread_mutex_unlock(&blk->lock);
	return ret;
}

static int blk_activate(struct virtio_device *dev)
{
	struct virtio_blk *blk = blk_of(dev);

	pthread_mutex_lock(&blk->lock);
	blk->active = blk->queue.ready;
	/* Buffers may already wait: kicks before DRIVER_OK are dropped. */
	blk->pending = true;
	pthread_cond_signal(&blk->kicked);
	pthread_mutex_unlock(&blk->lock);
	return 0;
}

static void blk_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct virtio_blk *blk = blk_of(dev);

	(void)queue;
	pthread_mutex_lock(&blk->lock);
	blk->pending = true;
	pthread_cond_signal(&blk->kicked);
	pthread_mutex_unlock(&blk->lock);
}

/* Stop popping and wait for the requests in flight: their buffers are the
 * guest's again once this returns. */
static void blk_reset(struct virtio_device *dev)
{
	struct virtio_blk *blk = blk_of(dev);

	pthread_mutex_lock(&blk->lock);
	blk->active = false;
	blk->pending = false;
	while (blk->in_flight > 0)
		pthread_cond_wait(&blk->idle, &blk->lock);
	pthread_mutex_unlock(&blk->lock);
}

static const struct virtio_device_ops virtio_blk_ops = {
	.config_read = blk_config_read,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

/* What the image allows: read-only offers no discard nor write-zeroes.
 * Sectors of 512 bytes, advertised as 4 KiB physical blocks so that the
 * guest's filesystem writes whole pages (a qcow2 cluster or a host page is
 * never written in part by one of its blocks). */
static void set_config(struct virtio_blk *blk)
{
	struct virtio_blk_config *c = &blk->config;
	uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_SIZE_MAX |
		     1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_TOPOLOGY |
		     1ull << VIRTIO_BLK_F_FLUSH;

	c->capacity = htole64(blk->capacity);
	c->size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c->seg_max = htole32(VIRTIO_BLK_SEG_MAX);
	c->blk_size = htole32(VIRTIO_BLK_SECTOR);
	c->physical_block_exp = 3; /* 8 sectors */
	c->min_io_size = htole16(1);
	c->opt_io_size = htole32(8);
	if (blk->img->read_only) {
		f |= 1ull << VIRTIO_BLK_F_RO;
	} else {
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
		c->max_write_zeroes_sectors = htole32(VIRTIO_BLK_MAX_RANGE_SECTORS);
		c->max_write_zeroes_seg = htole32(VIRTIO_BLK_MAX_RANGES);
		c->write_zeroes_may_unmap = blk->img->ops->discard != NULL;
		if (blk->img->ops->discard) {
			f |= 1ull << VIRTIO_BLK_F_DISCARD;
			c->max_discard_sectors = htole32(VIRTIO_BLK_MAX_RANGE_SECTORS);
			c->max_discard_seg = htole32(VIRTIO_BLK_MAX_RANGES);
			c->discard_sector_alignment = htole32(8);
		}
	}
	blk->vdev.device_features = f;
}

int virtio_blk_init(struct virtio_blk *blk, struct disk_image *img, const char *serial)
{
	int ret;

	*blk = (struct virtio_blk){
		.vdev = {
			.ops = &virtio_blk_ops,
			.priv = blk,
			.device_id = VIRTIO_ID_BLOCK,
			.config_size = sizeof(struct virtio_blk_config),
			.queues = &blk->queue,
			.nr_queues = 1,
		},
		.img = img,
		/* A last partial sector is not the guest's: no request reaches it. */
		.capacity = img->size / VIRTIO_BLK_SECTOR,
	};
	/* NUL-padded, not terminated when 20 bytes long, as GET_ID answers. */
	memcpy(blk->serial, serial, strnlen(serial, sizeof(blk->serial)));
	set_config(blk);
	pthread_mutex_init(&blk->lock, NULL);
	pthread_cond_init(&blk->kicked, NULL);
	pthread_cond_init(&blk->idle, NULL);
	if ((ret = virtq_init(&blk->queue, VIRTIO_BLK_QUEUE_SIZE)) < 0) {
		LOG_ERR("virtio-blk %.20s: cannot set up its queue: %s", serial, strerror(-ret));
		goto fail;
	}
	for (unsigned int i = 0; i < VIRTIO_BLK_WORKERS; i++) {
		struct virtio_blk_worker *w = &blk->workers[i];

		w->blk = blk;
		if (!(w->chain = virtq_chain_alloc(&blk->queue))) {
			ret = -ENOMEM;
			LOG_ERR("virtio-blk %.20s: cannot allocate a worker's chain: %s", serial,
				strerror(-ret));
			goto fail;
		}
		if ((ret = pthread_create(&w->thread, NULL, worker_thread, w)) != 0) {
			LOG_ERR("virtio-blk %.20s: cannot start a worker: %s", serial,
				strerror(ret));
			ret = -ret;
			goto fail;
		}
		w->started = true;
	}
	return 0;
fail:
	virtio_blk_destroy(blk);
	return ret;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	pthread_mutex_lock(&blk->lock);
	blk->stop = true;
	pthread_cond_broadcast(&blk->kicked);
	pthread_mutex_unlock(&blk->lock);
	for (unsigned int i = 0; i < VIRTIO_BLK_WORKERS; i++) {
		if (blk->workers[i].started)
			pthread_join(blk->workers[i].thread, NULL);
		free(blk->workers[i].chain);
	}
	pthread_mutex_destroy(&blk->lock);
	pthread_cond_destroy(&blk->kicked);
	pthread_cond_destroy(&blk->idle);
	if (blk->img)
		blk->img->ops->close(blk->img);
	blk->img = NULL;
}
