#include "devices/fs/virtio_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "base/log.h"

static struct virtio_fs *fs_of(struct virtio_device *dev)
{
	return dev->priv;
}

static void fs_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&fs_of(dev)->config + offset, len);
}

static uint32_t reply_length(struct virtio_fs *fs, ssize_t written)
{
	if (written >= 0)
		return (uint32_t)written;
	fs->counters.malformed++;
	return 0;
}

static void *waiting_thread(void *opaque)
{
	struct virtio_fs_waiting *wr = opaque;
	struct virtio_fs_worker *w = wr->w;
	struct virtio_fs *fs = w->fs;
	ssize_t written = fuse_server_handle_waiting(fs->server, wr->iov, wr->nr_in,
						     wr->iov + wr->nr_in, wr->nr_out,
						     &fs->cancel_waiting);

	wr->written = reply_length(fs, written);
	pthread_mutex_lock(&w->lock);
	wr->done = true;
	w->pending = true;
	pthread_cond_signal(&w->kicked);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* One thread more for a waiting request, if the device's bound allows. */
static bool waiting_slot_take(struct virtio_fs *fs)
{
	unsigned int n = atomic_load(&fs->nr_waiting);

	do {
		if (n >= VIRTIO_FS_MAX_WAITING) {
			LOG_RATELIMITED(LOG_WARN, "virtio-fs: %u requests wait already; "
					"a SETLKW more that must wait gets ENOLCK", n);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&fs->nr_waiting, &n, n + 1));
	return true;
}

/* Hand a request that may wait to a thread of its own; false when it
 * cannot (too many wait already, or no thread): the caller serves it, and
 * the server answers a SETLKW that would wait ENOLCK. */
static bool start_waiting(struct virtio_fs_worker *w, unsigned int nr_in, unsigned int nr_out)
{
	unsigned int nr = nr_in + nr_out;
	struct virtio_fs_waiting *wr;
	pthread_attr_t attr;
	int ret;

	if (!waiting_slot_take(w->fs))
		return false;
	wr = malloc(sizeof(*wr) + nr * sizeof(wr->iov[0]));
	if (wr && !pthread_attr_init(&attr)) {
		*wr = (struct virtio_fs_waiting){
			.w = w, .head = w->chain->head, .nr_in = nr_in, .nr_out = nr_out,
		};
		memcpy(wr->iov, w->chain->bufs, nr * sizeof(wr->iov[0]));
		pthread_attr_setstacksize(&attr, VIRTIO_FS_WAITING_STACK);
		pthread_mutex_lock(&w->lock);
		ret = pthread_create(&wr->thread, &attr, waiting_thread, wr);
		if (!ret) {
			wr->next = w->waiting;
			w->waiting = wr;
		}
		pthread_mutex_unlock(&w->lock);
		pthread_attr_destroy(&attr);
		if (!ret) {
			w->fs->counters.waited++;
			return true;
		}
	}
	free(wr);
	atomic_fetch_sub(&w->fs->nr_waiting, 1);
	return false;
}

/* Push the replies of the waiting requests that are done; true when any. */
static bool push_waited(struct virtio_fs_worker *w)
{
	struct virtq *q = &w->fs->queues[w->queue];
	struct virtio_fs_waiting *done = NULL, **link, *wr;

	pthread_mutex_lock(&w->lock);
	for (link = &w->waiting; (wr = *link);) {
		if (wr->done) {
			*link = wr->next;
			wr->next = done;
			done = wr;
		} else {
			link = &wr->next;
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (!done)
		return false;
	while ((wr = done)) {
		done = wr->next;
		pthread_join(wr->thread, NULL);
		atomic_fetch_sub(&w->fs->nr_waiting, 1);
		virtq_push(q, wr->head, wr->written);
		free(wr);
	}
	return true;
}

/* Serve every chain waiting on the worker's queue; the chain's readable
 * buffers are the request, its writable ones take the reply. */
static void serve_queue(struct virtio_fs_worker *w)
{
	struct virtio_fs *fs = w->fs;
	struct virtq *q = &fs->queues[w->queue];
	bool pushed = push_waited(w);

	while (virtio_pop(&fs->vdev, q, w->chain) == 1) {
		const struct iovec *iov = w->chain->bufs;
		unsigned int nr_in = w->chain->nr_readable, nr_out = w->chain->nr_bufs - nr_in;

		fs->counters.requests++;
		/* Its buffers stay the device's until the reply is pushed. */
		if (fuse_server_request_may_wait(iov, nr_in) && start_waiting(w, nr_in, nr_out))
			continue;
		ssize_t written = fuse_server_handle(fs->server, iov, nr_in, iov + nr_in, nr_out);
		virtq_push(q, w->chain->head, reply_length(fs, written));
		pushed = true;
	}
	if (pushed)
		virtio_signal_used(&fs->vdev, q);
}

static void *worker_thread(void *opaque)
{
	struct virtio_fs_worker *w = opaque;
	char name[16];

	/* Named, or it inherits the name of the thread that built the device. */
	snprintf(name, sizeof(name), "virtio-fs-q%u", w->queue);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->run && !(w->active && w->pending))
			pthread_cond_wait(&w->kicked, &w->lock);
		if (w->stop)
			break;
		if (w->run) {
			w->run_ret = w->run();
			w->run = NULL;
			pthread_cond_broadcast(&w->idle);
			continue;
		}
		w->pending = false;
		w->serving = true;
		pthread_mutex_unlock(&w->lock);
		serve_queue(w);
		pthread_mutex_lock(&w->lock);
		w->serving = false;
		pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The device resets: the requests still waiting give up (their replies go
 * nowhere, the queue is reset), after the workers stopped starting any. */
static void drop_waiting(struct virtio_fs *fs)
{
	atomic_store(&fs->cancel_waiting, true);
	fuse_server_wake_waiting(fs->server);
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];
		struct virtio_fs_waiting *wr;

		while ((wr = w->waiting)) {
			w->waiting = wr->next;
			pthread_join(wr->thread, NULL);
			atomic_fetch_sub(&fs->nr_waiting, 1);
			free(wr);
		}
	}
	atomic_store(&fs->cancel_waiting, false);
}

/* Each worker stops serving, and is waited for if it was. */
static void park_workers(struct virtio_fs *fs)
{
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];

		pthread_mutex_lock(&w->lock);
		w->active = false;
		while (w->serving)
			pthread_cond_wait(&w->idle, &w->lock);
		pthread_mutex_unlock(&w->lock);
	}
	if (fs->server)
		drop_waiting(fs);
}

static void end_workers(struct virtio_fs *fs)
{
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];
		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_cond_signal(&w->kicked);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	if (fs->server)
		drop_waiting(fs);
}

int virtio_fs_on_workers(struct virtio_fs *fs, int (*fn)(void))
{
	int ret = 0;

	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES && ret == 0; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];

		pthread_mutex_lock(&w->lock);
		w->run = fn;
		pthread_cond_signal(&w->kicked);
		while (w->run)
			pthread_cond_wait(&w->idle, &w->lock);
		ret = w->run_ret;
		pthread_mutex_unlock(&w->lock);
	}
	return ret;
}

static int fs_activate(struct virtio_device *dev)
{
	struct virtio_fs *fs = fs_of(dev);

	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];
		if (!fs->queues[i].ready)
			continue;
		/* Buffers may already wait: kicks before DRIVER_OK are dropped. */
		pthread_mutex_lock(&w->lock);
		w->active = true;
		w->pending = true;
		pthread_cond_signal(&w->kicked);
		pthread_mutex_unlock(&w->lock);
	}
	return 0;
}

static void fs_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct virtio_fs_worker *w = &fs_of(dev)->workers[queue];

	pthread_mutex_lock(&w->lock);
	w->pending = true;
	pthread_cond_signal(&w->kicked);
	pthread_mutex_unlock(&w->lock);
}

static void fs_reset(struct virtio_device *dev)
{
	park_workers(fs_of(dev));
}

static const struct virtio_device_ops virtio_fs_ops = {
	.config_read = fs_config_read,
	.activate = fs_activate,
	.queue_notify = fs_queue_notify,
	.reset = fs_reset,
};

int virtio_fs_init(struct virtio_fs *fs, const char *tag, struct fuse_server *server)
{
	size_t tag_len = strlen(tag);
	int ret;

	if (tag_len == 0 || tag_len > sizeof(fs->config.tag)) {
		LOG_ERR("virtio-fs: the tag %s is not 1 to %zu bytes long", tag,
			sizeof(fs->config.tag));
		return -EINVAL;
	}
	*fs = (struct virtio_fs){
		.vdev = {
			.ops = &virtio_fs_ops,
			.priv = fs,
			.device_id = VIRTIO_ID_FS,
			.config_size = sizeof(struct virtio_fs_config),
			.queues = fs->queues,
			.nr_queues = VIRTIO_FS_NR_QUEUES,
		},
		.server = server,
	};
	memcpy(fs->config.tag, tag, tag_len);
	fs->config.num_request_queues = VIRTIO_FS_REQUEST_QUEUES;
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];
		w->fs = fs;
		w->queue = i;
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->kicked, NULL);
		pthread_cond_init(&w->idle, NULL);
		if ((ret = virtq_init(&fs->queues[i], VIRTIO_FS_QUEUE_SIZE)) < 0) {
			LOG_ERR("virtio-fs: cannot set up queue %u: %s", i, strerror(-ret));
			goto fail;
		}
		w->chain = virtq_chain_alloc(&fs->queues[i]);
		if (!w->chain) {
			ret = -ENOMEM;
			LOG_ERR("virtio-fs: cannot allocate queue %u's descriptor chain: %s", i,
				strerror(-ret));
			goto fail;
		}
	}
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		struct virtio_fs_worker *w = &fs->workers[i];
		if ((ret = pthread_create(&w->thread, NULL, worker_thread, w)) != 0) {
			LOG_ERR("virtio-fs: cannot start a queue worker: %s", strerror(ret));
			ret = -ret;
			goto fail;
		}
		w->started = true;
	}
	return 0;
fail:
	/* Undone as a device, but for the server, which stays the caller's
	 * (the workers and queues not reached are zeros, as destroy expects). */
	fs->server = NULL;
	virtio_fs_destroy(fs);
	return ret;
}

void virtio_fs_destroy(struct virtio_fs *fs)
{
	end_workers(fs);
	for (unsigned int i = 0; i < VIRTIO_FS_NR_QUEUES; i++) {
		free(fs->workers[i].chain);
		pthread_mutex_destroy(&fs->workers[i].lock);
		pthread_cond_destroy(&fs->workers[i].kicked);
		pthread_cond_destroy(&fs->workers[i].idle);
	}
	if (fs->server)
		fuse_server_destroy(fs->server);
}
