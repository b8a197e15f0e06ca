#include "devices/rng/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "base/log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Add what the time since the last refill earned, up to the burst. */
static void refill(struct rng *r)
{
	uint64_t now = now_ns(), elapsed = now - r->refilled_ns;

	/* a second or more fills any bucket; below that no product overflows */
	if (elapsed >= 1000000000ull) {
		r->tokens = RNG_BURST_BYTES;
	} else {
		uint64_t earned = elapsed * RNG_RATE_BYTES_PER_S / 1000000000ull;
		r->tokens = r->tokens + earned > RNG_BURST_BYTES ? RNG_BURST_BYTES : r->tokens + earned;
		if (earned == 0)
			return; /* keep the fraction of a byte for the next refill */
	}
	r->refilled_ns = now;
}

/* Wake the device when the bucket holds RNG_REFILL_WAIT_BYTES again. */
static void arm_timer(struct rng *r)
{
	uint64_t missing = RNG_REFILL_WAIT_BYTES - r->tokens;
	uint64_t ns = missing * 1000000000ull / RNG_RATE_BYTES_PER_S + 1;
	struct itimerspec when = { .it_value = { .tv_sec = ns / 1000000000ull,
						 .tv_nsec = ns % 1000000000ull } };

	if (timerfd_settime(r->timer_fd, 0, &when, NULL) == 0)
		r->timer_armed = true;
	else
		LOG_RATELIMITED(LOG_WARN, "virtio-rng: cannot set its timer: %s", strerror(errno));
	r->counters.deferred++;
}

/* Up to len random bytes into the chain's writable buffers: how many. */
static uint32_t fill(struct rng *r, uint32_t len)
{
	const struct virtq_chain *c = r->chain;
	uint32_t done = 0;

	for (unsigned int i = c->nr_readable; i < c->nr_bufs && done < len; i++) {
		uint8_t *buf = c->bufs[i].iov_base;
		size_t want = c->bufs[i].iov_len < len - done ? c->bufs[i].iov_len : len - done;
		for (size_t got = 0; got < want;) {
			/* never blocks: the host's pool is ready long before a VM runs */
			ssize_t n = getrandom(buf + got, want - got, GRND_NONBLOCK);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				r->counters.errors++;
				return done + got;
			}
			got += n;
		}
		done += want;
	}
	return done;
}

/* Serve what the bucket allows; with the lock held. */
static void serve(struct rng *r)
{
	bool pushed = false;

	while (r->active && !r->timer_armed) {
		refill(r);
		if (r->tokens < RNG_REQUEST_COST_MIN) {
			arm_timer(r);
			break;
		}
		if (virtio_pop(&r->vdev, &r->queue, r->chain) != 1)
			break;
		uint64_t room = r->chain->writable_bytes;
		uint32_t len = room < RNG_MAX_REQUEST_BYTES ? room : RNG_MAX_REQUEST_BYTES;
		if (len > r->tokens)
			len = r->tokens;
		len = fill(r, len);
		r->tokens -= len > RNG_REQUEST_COST_MIN ? len : RNG_REQUEST_COST_MIN;
		virtq_push(&r->queue, r->chain->head, len);
		pushed = true;
		r->counters.bytes += len;
		r->counters.requests++;
	}
	if (pushed)
		virtio_signal_used(&r->vdev, &r->queue);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct rng *r = opaque;
	uint64_t expirations;

	(void)events;
	pthread_mutex_lock(&r->lock);
	if (read(r->timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
		r->timer_armed = false;
	serve(r);
	pthread_mutex_unlock(&r->lock);
}

static int rng_activate(struct virtio_device *dev)
{
	struct rng *r = dev->priv;

	pthread_mutex_lock(&r->lock);
	r->active = true;
	serve(r);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rng_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct rng *r = dev->priv;

	(void)queue;
	pthread_mutex_lock(&r->lock);
	serve(r);
	pthread_mutex_unlock(&r->lock);
}

/* The bucket is kept: a reset earns the guest nothing. */
static void rng_reset(struct virtio_device *dev)
{
	struct rng *r = dev->priv;
	const struct itimerspec off = { 0 };

	pthread_mutex_lock(&r->lock);
	r->active = false;
	timerfd_settime(r->timer_fd, 0, &off, NULL);
	r->timer_armed = false;
	pthread_mutex_unlock(&r->lock);
}

static const struct virtio_device_ops rng_ops = {
	.activate = rng_activate,
	.queue_notify = rng_queue_notify,
	.reset = rng_reset,
};

int rng_init(struct rng *r, struct event_loop *loop)
{
	int ret;

	*r = (struct rng){
		.vdev = {
			.ops = &rng_ops,
			.priv = r,
			.device_id = VIRTIO_ID_RNG,
			.queues = &r->queue,
			.nr_queues = 1,
		},
		.loop = loop,
		.tokens = RNG_BURST_BYTES,
		.refilled_ns = now_ns(),
	};
	pthread_mutex_init(&r->lock, NULL);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timer_fd < 0) {
		ret = -errno;
		LOG_ERR("virtio-rng: timerfd: %s", strerror(-ret));
		return ret;
	}
	if ((ret = virtq_init(&r->queue, RNG_QUEUE_SIZE)) < 0 ||
	    !(r->chain = virtq_chain_alloc(&r->queue))) {
		ret = ret < 0 ? ret : -ENOMEM;
		LOG_ERR("virtio-rng: cannot set up its queue: %s", strerror(-ret));
		return ret;
	}
	if ((ret = event_loop_add(loop, r->timer_fd, EPOLLIN, on_timer, r)) < 0) {
		LOG_ERR("virtio-rng: cannot watch its timer: %s", strerror(-ret));
		return ret;
	}
	r->timer_watched = true;
	return 0;
}

void rng_destroy(struct rng *r)
{
	if (r->timer_watched)
		event_loop_remove(r->loop, r->timer_fd);
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	free(r->chain);
	pthread_mutex_destroy(&r->lock);
}

/* The device kind. */

struct rng_device {
	struct vmm_device dev; /* first: the ops cast it back */
	const struct vmm_device_env *env;
	bool plugged;
	struct rng rng;
};

unsigned int rng_count(const struct vm_config *cfg)
{
	(void)cfg;
	return 1; /* libkrun's VMs always have one */
}

static void rng_device_log_stats(const struct vmm_device *dev)
{
	const struct rng *r = &((const struct rng_device *)dev)->rng;

	LOG_INF("virtio-rng: %llu bytes in %llu requests, the bucket ran dry %llu times, "
		"%llu getrandom errors",
		(unsigned long long)r->counters.bytes, (unsigned long long)r->counters.requests,
		(unsigned long long)r->counters.deferred, (unsigned long long)r->counters.errors);
}

static void rng_device_destroy(struct vmm_device *dev)
{
	struct rng_device *rd = (struct rng_device *)dev;

	if (rd->plugged)
		rd->env->unplug_virtio(rd->env->vmm, &rd->rng.vdev);
	rng_destroy(&rd->rng);
	free(rd);
}

static const struct vmm_device_ops rng_device_ops = {
	.log_stats = rng_device_log_stats,
	.destroy = rng_device_destroy,
};

int rng_create(const struct vm_config *cfg, unsigned int index, int host_fd,
	       const struct vmm_device_env *env, struct vmm_device **dev)
{
	struct rng_device *rd = calloc(1, sizeof(*rd));
	int ret;

	(void)cfg, (void)index, (void)host_fd;
	if (!rd) {
		LOG_ERR("cannot allocate virtio-rng: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rd->dev.ops = &rng_device_ops;
	rd->env = env;
	ret = rng_init(&rd->rng, env->loop);
	if (ret == 0 && (ret = env->plug_virtio(env->vmm, &rd->rng.vdev)) == 0)
		rd->plugged = true;
	if (ret < 0) {
		rng_device_destroy(&rd->dev);
		return ret;
	}
	*dev = &rd->dev;
	return 0;
}
