#include "devices/net/virtio_net.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/virtio_ids.h>

#include "base/iov.h"
#include "base/log.h"
#include "devices/net/csum.h"

#define RX_BUF_SIZE (NET_VNET_HDR_LEN + NET_MAX_FRAME + 1)

static struct virtio_net *net_of(struct virtio_device *dev)
{
	return dev->priv;
}

static void count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* Watch the backend's fd for what the device waits for: frames while the
 * guest has buffers, room while frames wait to go. One event at a time
 * (EPOLLONESHOT), as epoll reports a hang-up even when asked for nothing:
 * a watch left armed on a closed peer would spin the loop. */
static void arm(struct virtio_net *n)
{
	uint32_t want = 0;

	if (!n->active || !(n->config.status & VIRTIO_NET_S_LINK_UP))
		return;
	if (n->rx_wanted)
		want |= EPOLLIN;
	if (n->tx_waiting)
		want |= EPOLLOUT;
	if (want == 0 || want == n->armed)
		return;
	if (event_loop_modify(n->loop, n->backend->fd, want | EPOLLONESHOT) == 0)
		n->armed = want;
}

/* The peer is gone or cannot be followed: the guest sees its carrier drop,
 * the fd is not watched again. */
static void link_down(struct virtio_net *n)
{
	if (!(n->config.status & VIRTIO_NET_S_LINK_UP))
		return;
	n->config.status &= ~VIRTIO_NET_S_LINK_UP;
	count(&n->counters.link_downs, 1);
	LOG_WRN("net eth%u: link down", n->index);
	if (n->active)
		virtio_config_changed(&n->vdev);
}

/* --- receive: backend to guest -------------------------------------------- */

/* Give back the nr chains popped for a frame that is not delivered now. */
static void unpop_all(struct virtq *q, unsigned int nr)
{
	while (nr--)
		virtq_unpop(q);
}

/* The frame in rx_buf, len bytes with its header, into the guest's buffers:
 * rx_chain, popped, and with MRG_RXBUF as many more as it takes, all given
 * to the guest at once. 1: delivered; 0: the ring ran dry first, every
 * buffer given back, the frame waits; -1: it cannot fit (dropped, counted,
 * the buffers given back). */
static int place(struct virtio_net *n, struct virtq *q, size_t len)
{
	size_t first = len < n->rx_chain->writable_bytes ? len : n->rx_chain->writable_bytes;
	size_t placed = first;
	unsigned int nr = 1;
	int ret = 1;

	/* The header goes whole into the first buffer, where the driver reads it. */
	while (placed < len && first >= NET_VNET_HDR_LEN) {
		/* Past the whole ring, no kick would ever bring more. */
		if (!n->mergeable || nr == VIRTIO_NET_MAX_MERGED || nr >= q->size ||
		    (ret = virtio_pop(&n->vdev, q, n->rx_more)) != 1)
			break;
		size_t take = len - placed < n->rx_more->writable_bytes ? len - placed
									: n->rx_more->writable_bytes;
		virtq_chain_fill(n->rx_more, n->rx_buf + placed, take);
		n->rx_used[nr++] = (struct virtq_used_entry){ n->rx_more->head, (uint32_t)take };
		placed += take;
	}
	if (placed < len) {
		unpop_all(q, nr);
		if (ret == 0)
			return 0;
		count(&n->counters.rx_no_room, 1);
		LOG_RATELIMITED(LOG_WARN, "net eth%u: a %zu-byte frame does not fit %u of the "
				"guest's buffers: dropped", n->index, len, nr);
		return -1;
	}
	uint16_t buffers = htole16((uint16_t)nr);
	memcpy(n->rx_buf + offsetof(struct virtio_net_hdr_v1, num_buffers), &buffers,
	       sizeof(buffers));
	virtq_chain_fill(n->rx_chain, n->rx_buf, first);
	n->rx_used[0] = (struct virtq_used_entry){ n->rx_chain->head, (uint32_t)first };
	virtq_push_all(q, n->rx_used, nr);
	count(&n->counters.rx_frames, 1);
	count(&n->counters.rx_bytes, len - NET_VNET_HDR_LEN);
	if (nr > 1)
		count(&n->counters.rx_merged, 1);
	return 1;
}

/* The backend's next frame into rx_buf after a header: its length with the
 * header, or a negative errno from recv (the frame's fate handled). */
static ssize_t read_frame(struct virtio_net *n)
{
	struct net_backend *b = n->backend;
	/* Socket peers send bare frames: ours get a header with nothing to do. */
	size_t hdr = b->vnet_hdr ? 0 : NET_VNET_HDR_LEN;
	ssize_t len = b->ops->recv(b, n->rx_buf + hdr, RX_BUF_SIZE - hdr);

	if (len >= 0) {
		if (hdr)
			memset(n->rx_buf, 0, hdr);
		return (ssize_t)hdr + len;
	}
	if (len == -EMSGSIZE) {
		count(&n->counters.rx_too_big, 1);
		LOG_RATELIMITED(LOG_WARN, "net eth%u: the peer sent a frame longer than %d "
				"bytes: dropped", n->index, NET_MAX_FRAME);
	} else if (len == -EPIPE || len == -EPROTO) {
		link_down(n);
	} else if (len != -EAGAIN) {
		count(&n->counters.rx_errors, 1);
		LOG_RATELIMITED(LOG_WARN, "net eth%u: cannot read the %s: %s", n->index, b->kind,
				strerror((int)-len));
	}
	return len;
}

static void receive(struct virtio_net *n)
{
	struct virtq *q = &n->queues[VIRTIO_NET_RX_QUEUE];
	unsigned int pushed = 0;

	for (unsigned int budget = VIRTIO_NET_QUEUE_SIZE; budget > 0; budget--) {
		if (!n->active || !n->rx_wanted || !(n->config.status & VIRTIO_NET_S_LINK_UP))
			break;
		if (virtio_pop(&n->vdev, q, n->rx_chain) != 1) {
			n->rx_wanted = false; /* until the guest kicks */
			count(&n->counters.rx_waits, 1);
			break;
		}
		ssize_t len = n->rx_pending ? (ssize_t)n->rx_pending : read_frame(n);
		if (len < 0) {
			virtq_unpop(q);
			/* A lost frame or a gone peer lets the loop go on (it stops
			 * at the link); nothing to read or a failing read does not. */
			if (len == -EMSGSIZE || len == -EPIPE || len == -EPROTO)
				continue;
			break;
		}
		int placed = place(n, q, (size_t)len);
		if (placed == 0) {
			n->rx_pending = (size_t)len;
			n->rx_wanted = false;
			count(&n->counters.rx_waits, 1);
			break;
		}
		n->rx_pending = 0;
		pushed += placed > 0;
	}
	if (pushed > 0)
		virtio_signal_used(&n->vdev, q);
}

/* --- transmit: guest to backend ------------------------------------------- */

/* The chain's readable buffers from byte skip on, into tx_iov after its
 * spare entry: how many. */
static unsigned int frame_iov(struct virtio_net *n, size_t skip)
{
	/* tx_iov has room for every buffer of a chain after its spare one */
	return (unsigned int)iov_slice(n->tx_chain->bufs, n->tx_chain->nr_readable, skip,
				       SIZE_MAX, n->tx_iov + 1, n->tx_chain->nr_readable);
}

/* The popped chain's frame, len bytes with its header, to the backend: what
 * its send said, or -EBADMSG for a checksum request outside the frame. */
static int send_frame(struct virtio_net *n, uint64_t len)
{
	struct net_backend *b = n->backend;
	size_t frame_len = len - NET_VNET_HDR_LEN;
	struct virtio_net_hdr_v1 hdr;

	if (b->vnet_hdr)
		return b->ops->send(b, n->tx_iov + 1, frame_iov(n, 0), len);
	virtq_chain_gather(n->tx_chain, &hdr, sizeof(hdr));
	unsigned int nr = frame_iov(n, NET_VNET_HDR_LEN);
	if (!(hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return b->ops->send(b, n->tx_iov + 1, nr, frame_len);
	/* A bare frame carries no request: the checksum is finished in a copy
	 * (the guest's buffers are for the device to read, not to write). */
	iov_gather(n->tx_buf, frame_len, n->tx_iov + 1, nr);
	if (net_csum_complete(n->tx_buf, frame_len, hdr.csum_start, hdr.csum_offset) < 0)
		return -EBADMSG;
	n->tx_iov[1] = (struct iovec){ n->tx_buf, frame_len };
	return b->ops->send(b, n->tx_iov + 1, 1, frame_len);
}

/* Send one popped chain, or give it back: false when the backend would block. */
static bool send_chain(struct virtio_net *n, struct virtq *q)
{
	uint64_t len = n->tx_chain->readable_bytes;
	int ret;

	if (len < NET_VNET_HDR_LEN || len - NET_VNET_HDR_LEN > NET_MAX_FRAME) {
		count(len < NET_VNET_HDR_LEN ? &n->counters.tx_malformed : &n->counters.tx_too_big, 1);
		LOG_RATELIMITED(LOG_WARN, "net eth%u: the guest sent %llu bytes with a frame's "
				"header (%d to %d allowed): dropped", n->index,
				(unsigned long long)len, NET_VNET_HDR_LEN,
				NET_VNET_HDR_LEN + NET_MAX_FRAME);
	} else if (!(n->config.status & VIRTIO_NET_S_LINK_UP)) {
		count(&n->counters.tx_link_down, 1);
	} else {
		ret = send_frame(n, len);
		if (ret == -EAGAIN) {
			virtq_unpop(q);
			return false;
		}
		if (ret == 0) {
			count(&n->counters.tx_frames, 1);
			count(&n->counters.tx_bytes, len - NET_VNET_HDR_LEN);
		} else if (ret == -EPIPE) {
			count(&n->counters.tx_link_down, 1);
			link_down(n);
		} else if (ret == -EBADMSG) {
			count(&n->counters.tx_malformed, 1);
			LOG_RATELIMITED(LOG_WARN, "net eth%u: the guest asked for a checksum outside "
					"its frame: dropped", n->index);
		} else {
			count(&n->counters.tx_errors, 1);
			LOG_RATELIMITED(LOG_WARN, "net eth%u: the %s refused a frame: %s", n->index,
					n->backend->kind, strerror(-ret));
		}
	}
	virtq_push(q, n->tx_chain->head, 0);
	return true;
}

static void transmit(struct virtio_net *n)
{
	struct virtq *q = &n->queues[VIRTIO_NET_TX_QUEUE];
	struct net_backend *b = n->backend;
	unsigned int pushed = 0;
	int ret;

	n->tx_waiting = false;
	if (!n->active)
		return;
	if (b->ops->flush && (n->config.status & VIRTIO_NET_S_LINK_UP) &&
	    (ret = b->ops->flush(b)) < 0) {
		if (ret == -EPIPE)
			link_down(n);
		else
			n->tx_waiting = true;
	}
	while (!n->tx_waiting) {
		if (pushed == VIRTIO_NET_QUEUE_SIZE) {
			/* A queue's worth: let the loop go round and come back. */
			n->tx_waiting = true;
			break;
		}
		if (virtio_pop(&n->vdev, q, n->tx_chain) != 1)
			break;
		if (!send_chain(n, q)) {
			count(&n->counters.tx_waits, 1);
			n->tx_waiting = true;
			break;
		}
		pushed++;
	}
	if (pushed > 0)
		virtio_signal_used(&n->vdev, q);
}

/* The backend's fd is ready (or hung up: the calls find out). */
static void on_backend(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;

	pthread_mutex_lock(&n->lock);
	n->armed = 0; /* the one-shot watch fired */
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		transmit(n);
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		receive(n);
	arm(n);
	pthread_mutex_unlock(&n->lock);
}

/* --- device ops ------------------------------------------------------------ */

static void net_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_net *n = net_of(dev);

	pthread_mutex_lock(&n->lock);
	memcpy(data, (uint8_t *)&n->config + offset, len);
	pthread_mutex_unlock(&n->lock);
}

static int net_activate(struct virtio_device *dev)
{
	struct virtio_net *n = net_of(dev);
	struct net_backend *b = n->backend;

	pthread_mutex_lock(&n->lock);
	if (b->ops->set_offloads && b->ops->set_offloads(b, dev->negotiated_features) < 0) {
		pthread_mutex_unlock(&n->lock);
		return -EIO;
	}
	n->active = true;
	n->mergeable = dev->negotiated_features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
	n->rx_wanted = true;
	transmit(n);
	receive(n);
	arm(n);
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static void net_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct virtio_net *n = net_of(dev);

	pthread_mutex_lock(&n->lock);
	if (queue == VIRTIO_NET_RX_QUEUE) {
		n->rx_wanted = true;
		receive(n);
	} else {
		transmit(n);
	}
	arm(n);
	pthread_mutex_unlock(&n->lock);
}

/* A watch still armed may fire once: its handler finds the device idle. */
static void net_reset(struct virtio_device *dev)
{
	struct virtio_net *n = net_of(dev);

	pthread_mutex_lock(&n->lock);
	n->active = false;
	n->rx_wanted = false;
	n->rx_pending = 0; /* a frame for buffers the reset took back: lost */
	n->tx_waiting = false;
	pthread_mutex_unlock(&n->lock);
}

static const struct virtio_device_ops virtio_net_ops = {
	.config_read = net_config_read,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

int virtio_net_init(struct virtio_net *n, unsigned int index, const uint8_t mac[6],
		    uint32_t features, struct net_backend *backend, struct event_loop *loop)
{
	int ret;

	*n = (struct virtio_net){
		.vdev = {
			.ops = &virtio_net_ops,
			.priv = n,
			.device_id = VIRTIO_ID_NET,
			.device_features = features | (1ull << VIRTIO_NET_F_MAC) |
					   (1ull << VIRTIO_NET_F_STATUS) |
					   (1ull << VIRTIO_NET_F_MRG_RXBUF),
			.config_size = sizeof(struct virtio_net_config),
			.queues = n->queues,
			.nr_queues = VIRTIO_NET_NR_QUEUES,
		},
		.loop = loop,
		.backend = backend,
		.index = index,
		.config = { .status = VIRTIO_NET_S_LINK_UP },
	};
	memcpy(n->config.mac, mac, sizeof(n->config.mac));
	pthread_mutex_init(&n->lock, NULL);
	for (unsigned int i = 0; i < VIRTIO_NET_NR_QUEUES; i++) {
		if ((ret = virtq_init(&n->queues[i], VIRTIO_NET_QUEUE_SIZE)) < 0)
			goto fail;
	}
	n->rx_chain = virtq_chain_alloc(&n->queues[VIRTIO_NET_RX_QUEUE]);
	n->rx_more = virtq_chain_alloc(&n->queues[VIRTIO_NET_RX_QUEUE]);
	n->tx_chain = virtq_chain_alloc(&n->queues[VIRTIO_NET_TX_QUEUE]);
	n->rx_buf = malloc(RX_BUF_SIZE);
	n->tx_buf = malloc(NET_MAX_FRAME);
	if (!n->rx_chain || !n->rx_more || !n->tx_chain || !n->rx_buf || !n->tx_buf ||
	    !(n->tx_iov = calloc(n->tx_chain->max_bufs + 1, sizeof(*n->tx_iov)))) {
		ret = -ENOMEM;
		LOG_ERR("net eth%u: cannot allocate its queues' buffers: %s", index, strerror(-ret));
		goto fail;
	}
	/* Armed by arm() only: EPOLLONESHOT with no event waits for nothing. */
	if ((ret = event_loop_add(loop, backend->fd, EPOLLONESHOT, on_backend, n)) < 0) {
		LOG_ERR("net eth%u: cannot watch its %s: %s", index, backend->kind, strerror(-ret));
		goto fail;
	}
	n->watched = true;
	return 0;
fail:
	virtio_net_destroy(n);
	return ret;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (n->watched)
		event_loop_remove(n->loop, n->backend->fd);
	if (n->backend)
		n->backend->ops->destroy(n->backend);
	free(n->rx_chain);
	free(n->rx_more);
	free(n->tx_chain);
	free(n->rx_buf);
	free(n->tx_buf);
	free(n->tx_iov);
	pthread_mutex_destroy(&n->lock);
	*n = (struct virtio_net){ 0 };
}
