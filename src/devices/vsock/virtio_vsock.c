/* The vsock device as its transport sees it, and its two fds in the event
 * loop: wake_fd, through which the transport's calls hand the work to the
 * loop, and epoll_fd, behind which every host socket of the device waits
 * (so a thousand connections cost the loop one handler, not a thousand). */
#include "devices/vsock/virtio_vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "base/log.h"
#include "devices/vsock/internal.h"

/* Host sockets' events taken per turn of the loop: the rest wait for the next. */
#define EVENTS_PER_TURN 64

static struct virtio_vsock *vsock_of(struct virtio_device *dev)
{
	return dev->priv;
}

void vsock_wake(struct virtio_vsock *v)
{
	uint64_t one = 1;

	/* Fails only when the counter is full, when a wake is due anyway. */
	if (write(v->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* Every connection, closed without a word: the driver that knew them is gone. */
static void drop_all(struct virtio_vsock *v)
{
	for (unsigned int b = 0; b < VSOCK_CONN_BUCKETS; b++) {
		while (v->buckets[b])
			vsock_conn_close(v, v->buckets[b]);
	}
	v->nr_replies = 0;
	v->first_reply = 0;
}

static void on_wake(void *opaque, uint32_t events)
{
	struct virtio_vsock *v = opaque;
	uint64_t count;

	(void)events;
	if (read(v->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		LOG_RATELIMITED(LOG_WARN, "vsock: cannot read its wake-up: %s", strerror(errno));
	pthread_mutex_lock(&v->lock);
	if (v->reset_pending) {
		drop_all(v);
		v->reset_pending = false;
	}
	vsock_transmit(v);
	vsock_deliver(v);
	pthread_mutex_unlock(&v->lock);
	vsock_reap(v);
}

static void on_host_sockets(void *opaque, uint32_t events)
{
	struct virtio_vsock *v = opaque;
	struct epoll_event evs[EVENTS_PER_TURN];
	int n;

	(void)events;
	pthread_mutex_lock(&v->lock);
	n = epoll_wait(v->epoll_fd, evs, EVENTS_PER_TURN, 0);
	for (int i = 0; i < n; i++)
		vsock_host_event(v, evs[i].data.u64, evs[i].events);
	vsock_deliver(v);
	pthread_mutex_unlock(&v->lock);
	vsock_reap(v);
}

/* --- transport ops --------------------------------------------------------- */

static void vsock_config_read(struct virtio_device *dev, uint32_t offset, void *data,
			      uint32_t len)
{
	memcpy(data, (uint8_t *)&vsock_of(dev)->config + offset, len);
}

static int vsock_activate(struct virtio_device *dev)
{
	struct virtio_vsock *v = vsock_of(dev);

	pthread_mutex_lock(&v->lock);
	v->active = true;
	pthread_mutex_unlock(&v->lock);
	vsock_wake(v);
	return 0;
}

/* The loop does the work: a vCPU thread may make no socket call. */
static void vsock_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	(void)queue;
	vsock_wake(vsock_of(dev));
}

static void vsock_reset(struct virtio_device *dev)
{
	struct virtio_vsock *v = vsock_of(dev);

	pthread_mutex_lock(&v->lock);
	v->active = false;
	v->reset_pending = true;
	pthread_mutex_unlock(&v->lock);
	vsock_wake(v);
}

static const struct virtio_device_ops virtio_vsock_ops = {
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
};

/* The deadline timer, where an endpoint reads requests or has deadlines
 * of its own. */
static int watch_timer(struct virtio_vsock *v)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = VSOCK_TIMER_DATA };
	bool requests = false;

	for (unsigned int i = 0; i < v->nr_endpoints; i++)
		requests |= v->endpoints[i]->ops->request || v->endpoints[i]->ops->expire;
	if (!requests)
		return 0;
	if ((v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->timer_fd, &ev) < 0)
		return -errno;
	return 0;
}

int virtio_vsock_init(struct virtio_vsock *v, struct vsock_endpoint **endpoints,
		      unsigned int nr_endpoints, unsigned int max_conns, struct event_loop *loop)
{
	int ret;

	*v = (struct virtio_vsock){
		.vdev = {
			.ops = &virtio_vsock_ops,
			.priv = v,
			.device_id = VIRTIO_ID_VSOCK,
			.config_size = sizeof(struct virtio_vsock_config),
			.queues = v->queues,
			.nr_queues = VSOCK_NR_QUEUES,
		},
		.loop = loop,
		.endpoints = endpoints,
		.nr_endpoints = nr_endpoints,
		.max_conns = max_conns,
		.wake_fd = -1,
		.epoll_fd = -1,
		.timer_fd = -1,
		.config = { .guest_cid = htole64(VSOCK_GUEST_CID) },
	};
	for (unsigned int i = 0; i < nr_endpoints; i++)
		endpoints[i]->device = v;
	pthread_mutex_init(&v->lock, NULL);
	TAILQ_INIT(&v->owing);
	TAILQ_INIT(&v->ready);
	TAILQ_INIT(&v->awaiting);
	for (unsigned int i = 0; i < VSOCK_NR_QUEUES; i++) {
		if ((ret = virtq_init(&v->queues[i], VSOCK_QUEUE_SIZE)) < 0)
			goto fail;
	}
	v->rx_chain = virtq_chain_alloc(&v->queues[VSOCK_RX_QUEUE]);
	v->tx_chain = virtq_chain_alloc(&v->queues[VSOCK_TX_QUEUE]);
	if (!v->rx_chain || !v->tx_chain ||
	    !(v->iov = calloc(v->rx_chain->max_bufs, sizeof(*v->iov))) ||
	    !(v->listening = calloc(nr_endpoints ? nr_endpoints : 1, sizeof(*v->listening)))) {
		ret = -ENOMEM;
		LOG_ERR("vsock: cannot allocate its queues' state: %s", strerror(-ret));
		goto fail;
	}
	if ((v->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (v->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (ret = vsock_watch_listeners(v)) < 0 || (ret = watch_timer(v)) < 0) {
		ret = ret < 0 ? ret : -errno;
		LOG_ERR("vsock: cannot make its event fds: %s", strerror(-ret));
		goto fail;
	}
	if ((ret = event_loop_add(loop, v->wake_fd, EPOLLIN, on_wake, v)) < 0)
		goto fail_watch;
	v->wake_watched = true;
	if ((ret = event_loop_add(loop, v->epoll_fd, EPOLLIN, on_host_sockets, v)) < 0)
		goto fail_watch;
	v->epoll_watched = true;
	vsock_arm_listeners(v);
	return 0;
fail_watch:
	LOG_ERR("vsock: cannot watch its event fds: %s", strerror(-ret));
fail:
	virtio_vsock_destroy(v);
	return ret;
}

void virtio_vsock_release_host(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		if (v->endpoints[i]->ops->release_host)
			v->endpoints[i]->ops->release_host(v->endpoints[i]);
	}
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	if (v->wake_watched)
		event_loop_remove(v->loop, v->wake_fd);
	if (v->epoll_watched)
		event_loop_remove(v->loop, v->epoll_fd);
	drop_all(v);
	vsock_reap(v);
	for (unsigned int i = 0; i < v->nr_endpoints; i++)
		v->endpoints[i]->ops->destroy(v->endpoints[i]);
	free(v->endpoints);
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	if (v->epoll_fd >= 0)
		close(v->epoll_fd);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	free(v->rx_chain);
	free(v->tx_chain);
	free(v->iov);
	free(v->listening);
	pthread_mutex_destroy(&v->lock);
	*v = (struct virtio_vsock){ .wake_fd = -1, .epoll_fd = -1, .timer_fd = -1 };
}
