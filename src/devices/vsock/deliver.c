/* The vsock device's packets to the guest: the resets owed for packets of
 * no connection, each connection's owed control packets, then the host
 * sockets' bytes, each into one of the guest's receive buffers, never more
 * than the connection's credit. Event loop thread, under the device's lock. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "base/iov.h"
#include "base/log.h"
#include "devices/vsock/internal.h"

unsigned int vsock_chain_iov(const struct virtq_chain *chain, bool writable, uint32_t skip,
			     uint32_t cap, struct iovec *out)
{
	unsigned int first = writable ? chain->nr_readable : 0;
	unsigned int end = writable ? chain->nr_bufs : chain->nr_readable;
	unsigned int n = 0;

	for (unsigned int i = first; i < end && cap > 0; i++) {
		const struct iovec *b = &chain->bufs[i];
		if (skip >= b->iov_len) {
			skip -= b->iov_len;
			continue;
		}
		size_t len = b->iov_len - skip;
		if (len > cap)
			len = cap;
		out[n++] = (struct iovec){ (uint8_t *)b->iov_base + skip, len };
		cap -= (uint32_t)len;
		skip = 0;
	}
	return n;
}

void vsock_owe(struct virtio_vsock *v, struct vsock_conn *c, uint32_t what)
{
	c->owed |= what;
	if (!c->owing) {
		TAILQ_INSERT_TAIL(&v->owing, c, owing_link);
		c->owing = true;
	}
}

void vsock_reply_rst(struct virtio_vsock *v, const struct virtio_vsock_hdr *hdr)
{
	struct virtio_vsock_hdr *r;

	if (le16toh(hdr->op) == VIRTIO_VSOCK_OP_RST || v->nr_replies == VSOCK_MAX_REPLIES)
		return; /* never a reset for a reset; the transmit path waits when full */
	r = &v->replies[(v->first_reply + v->nr_replies++) % VSOCK_MAX_REPLIES];
	*r = (struct virtio_vsock_hdr){
		.src_cid = htole64(VSOCK_HOST_CID), .dst_cid = htole64(VSOCK_GUEST_CID),
		.src_port = hdr->dst_port, .dst_port = hdr->src_port,
		.type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(VIRTIO_VSOCK_OP_RST),
	};
}

void vsock_mark_ready(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->in_ready)
		return;
	TAILQ_INSERT_TAIL(&v->ready, c, ready_link);
	c->in_ready = true;
}

void vsock_credit_news(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t believed_free = VSOCK_BUF_ALLOC - (c->rx_cnt - c->fwd_cnt_told);

	if (c->fwd_cnt != c->fwd_cnt_told && believed_free < VSOCK_BUF_ALLOC / 2)
		vsock_owe(v, c, VSOCK_OWE_CREDIT);
}

static void conn_hdr(struct vsock_conn *c, uint16_t op, uint32_t len, uint32_t flags,
		     struct virtio_vsock_hdr *h)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = htole64(VSOCK_HOST_CID), .dst_cid = htole64(VSOCK_GUEST_CID),
		.src_port = htole32(c->host_port), .dst_port = htole32(c->guest_port),
		.len = htole32(len), .type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(op),
		.flags = htole32(flags), .buf_alloc = htole32(VSOCK_BUF_ALLOC),
		.fwd_cnt = htole32(c->fwd_cnt),
	};
	c->fwd_cnt_told = c->fwd_cnt;
}

/* The next receive buffer that holds a header; false when the guest has none. */
static bool pop_rx(struct virtio_vsock *v, unsigned int *pushed)
{
	struct virtq *q = &v->queues[VSOCK_RX_QUEUE];

	while (virtio_pop(&v->vdev, q, v->rx_chain) == 1) {
		if (v->rx_chain->writable_bytes >= VSOCK_HDR_LEN)
			return true;
		/* Too small for any packet: given back empty. */
		virtq_push(q, v->rx_chain->head, 0);
		(*pushed)++;
	}
	return false;
}

static void push_rx(struct virtio_vsock *v, const struct virtio_vsock_hdr *h, uint32_t len,
		    unsigned int *pushed)
{
	virtq_chain_fill(v->rx_chain, h, VSOCK_HDR_LEN);
	virtq_push(&v->queues[VSOCK_RX_QUEUE], v->rx_chain->head, VSOCK_HDR_LEN + len);
	(*pushed)++;
	vsock_count(&v->counters.rx_packets, 1);
	vsock_count(&v->counters.rx_bytes, len);
	if (le16toh(h->op) == VIRTIO_VSOCK_OP_RST)
		vsock_count(&v->counters.resets, 1);
}

/* The connection's owed packets, in order: false when the guest ran out of
 * buffers first. */
static bool send_owed(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed)
{
	static const uint16_t ops[] = { VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_RESPONSE,
					VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_SHUTDOWN,
					VIRTIO_VSOCK_OP_RST };
	struct virtio_vsock_hdr h;

	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!(c->owed & (1u << i)))
			continue;
		if (!pop_rx(v, pushed))
			return false;
		/* Only the end of the host's stream is ever told: we stop sending. */
		conn_hdr(c, ops[i], 0, ops[i] == VIRTIO_VSOCK_OP_SHUTDOWN ?
			 VIRTIO_VSOCK_SHUTDOWN_SEND : 0, &h);
		push_rx(v, &h, 0, pushed);
		c->owed &= ~(1u << i);
	}
	return true;
}

bool vsock_prefix_ready(const struct vsock_conn *c)
{
	return c->prefix_sent < c->prefix_len && c->state == VSOCK_ESTABLISHED &&
	       !(c->owed & (VSOCK_OWE_REQUEST | VSOCK_OWE_RESPONSE)) &&
	       !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) && vsock_peer_credit(c) > 0;
}

int vsock_send_bytes(struct virtio_vsock *v, struct vsock_conn *c, const void *bytes,
		     uint32_t len, unsigned int *pushed)
{
	uint32_t cap = vsock_peer_credit(c);
	struct virtio_vsock_hdr h;

	if (!pop_rx(v, pushed))
		return -1;
	unsigned int n = vsock_chain_iov(v->rx_chain, true, VSOCK_HDR_LEN, cap < len ? cap : len,
					 v->iov);
	uint32_t sent = (uint32_t)iov_scatter(v->iov, n, bytes, len);
	if (sent == 0) {
		/* A buffer with room for a header only: kept for control packets. */
		virtq_unpop(&v->queues[VSOCK_RX_QUEUE]);
		return -1;
	}
	conn_hdr(c, VIRTIO_VSOCK_OP_RW, sent, 0, &h);
	push_rx(v, &h, sent, pushed);
	c->tx_cnt += sent;
	return (int)sent;
}

/* One packet of the prefix, within the guest's credit: false when the
 * guest has no buffer. Once it is all sent, a connection with no host
 * socket tells the guest its stream ended. */
static bool send_prefix(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed)
{
	int sent = vsock_send_bytes(v, c, c->prefix + c->prefix_sent,
				    c->prefix_len - c->prefix_sent, pushed);

	if (sent < 0)
		return false;
	c->prefix_sent += (uint32_t)sent;
	if (c->prefix_sent == c->prefix_len) {
		free(c->prefix);
		c->prefix = NULL;
		c->prefix_len = c->prefix_sent = 0;
		if (c->ends_after_prefix) {
			c->host_eof = true;
			vsock_owe(v, c, VSOCK_OWE_SHUTDOWN);
		}
	}
	return true;
}

/* What goes to the guest first: the prefix, then the side's. */
static bool to_guest(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed)
{
	if (c->prefix_len > 0)
		return !vsock_prefix_ready(c) || send_prefix(v, c, pushed);
	return c->side->to_guest(v, c, pushed);
}

bool vsock_raw_to_guest(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed)
{
	struct virtq *q = &v->queues[VSOCK_RX_QUEUE];
	uint32_t cap = vsock_peer_credit(c);
	struct virtio_vsock_hdr h;

	if (c->state != VSOCK_ESTABLISHED || c->host_eof || cap == 0 ||
	    (c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) ||
	    (c->owed & (VSOCK_OWE_REQUEST | VSOCK_OWE_RESPONSE)))
		return true; /* its watch says when it may go on */
	if (!pop_rx(v, pushed))
		return false;
	if (cap > VSOCK_MAX_PAYLOAD)
		cap = VSOCK_MAX_PAYLOAD;
	unsigned int n = vsock_chain_iov(v->rx_chain, true, VSOCK_HDR_LEN, cap, v->iov);
	if (n == 0) {
		/* A buffer with room for a header only: kept for control packets. */
		virtq_unpop(q);
		return false;
	}
	ssize_t len = readv(c->fd, v->iov, (int)n);
	if (len < 0)
		len = -errno;
	if (len <= 0) {
		virtq_unpop(q);
		if (len == 0) {
			c->host_eof = true;
			vsock_owe(v, c, VSOCK_OWE_SHUTDOWN);
		} else if (len != -EAGAIN && len != -EWOULDBLOCK) {
			vsock_count(&v->counters.host_errors, 1);
			vsock_conn_reset(v, c);
		}
		return true;
	}
	conn_hdr(c, VIRTIO_VSOCK_OP_RW, (uint32_t)len, 0, &h);
	push_rx(v, &h, (uint32_t)len, pushed);
	c->tx_cnt += (uint32_t)len;
	return true;
}

/* Every connection's owed packets while the guest has buffers, after the
 * resets owed for packets of no connection. */
static void send_owing(struct virtio_vsock *v, unsigned int *pushed)
{
	struct vsock_conn *c;

	while (v->nr_replies == 0 && (c = TAILQ_FIRST(&v->owing))) {
		if (!send_owed(v, c, pushed))
			break;
		TAILQ_REMOVE(&v->owing, c, owing_link);
		c->owing = false;
		if (c->state == VSOCK_CLOSING)
			vsock_conn_close(v, c); /* its RST went */
		else
			vsock_conn_watch(v, c); /* answered: its data may flow */
	}
}

void vsock_deliver(struct virtio_vsock *v)
{
	struct virtq *q = &v->queues[VSOCK_RX_QUEUE];
	unsigned int pushed = 0;
	struct vsock_conn *c;

	if (!v->active)
		return;
	while (v->nr_replies > 0 && pop_rx(v, &pushed)) {
		push_rx(v, &v->replies[v->first_reply], 0, &pushed);
		v->first_reply = (v->first_reply + 1) % VSOCK_MAX_REPLIES;
		v->nr_replies--;
	}
	if (v->tx_blocked && v->nr_replies < VSOCK_MAX_REPLIES) {
		v->tx_blocked = false;
		vsock_wake(v); /* the guest's packets may go on */
	}
	send_owing(v, &pushed);
	/* A queue's worth of host data per turn, a packet per connection in
	 * turn; the rest on the next. */
	for (unsigned int budget = VSOCK_QUEUE_SIZE; budget > 0 && (c = TAILQ_FIRST(&v->ready));
	     budget--) {
		TAILQ_REMOVE(&v->ready, c, ready_link);
		c->in_ready = false;
		if (!to_guest(v, c, &pushed)) {
			TAILQ_INSERT_HEAD(&v->ready, c, ready_link);
			c->in_ready = true;
			break;
		}
		vsock_conn_watch(v, c);
	}
	if (TAILQ_FIRST(&v->ready) && TAILQ_FIRST(&v->ready)->in_ready && pushed > 0)
		vsock_wake(v); /* budget spent: the rest on the loop's next turn */
	send_owing(v, &pushed); /* the ends of file just read */
	if (pushed > 0)
		virtio_signal_used(&v->vdev, q);
}
