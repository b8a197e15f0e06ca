/* The vsock device's packets from the guest: each header checked, then
 * acted on (a new connection, data for the host, credit, a shutdown, a
 * reset). A packet that breaks the rules is answered with a RST, and ends
 * its connection if it has one. Event loop thread, under the device's lock. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "devices/vsock/internal.h"

/* The header's checks (CIDs, type, length), before any connection is
 * looked at: false for a packet to answer with a RST. */
static bool header_ok(const struct virtio_vsock_hdr *h, uint64_t payload)
{
	return le64toh(h->src_cid) == VSOCK_GUEST_CID && le64toh(h->dst_cid) == VSOCK_HOST_CID &&
	       le16toh(h->type) == VIRTIO_VSOCK_TYPE_STREAM && le32toh(h->len) == payload &&
	       payload <= VSOCK_MAX_PAYLOAD;
}

static const struct vsock_endpoint *port_endpoint(const struct virtio_vsock *v, uint32_t port)
{
	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		if (v->endpoints[i]->port == port && !v->endpoints[i]->listen)
			return v->endpoints[i];
	}
	return NULL;
}

/* The guest connects to the host's port: the endpoint's socket, or a RST. */
static void request(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
	uint32_t host_port = le32toh(h->dst_port), guest_port = le32toh(h->src_port);
	const struct vsock_endpoint *ep = port_endpoint(v, host_port);
	struct vsock_conn *c;
	int fd, ret;

	if (!ep) {
		vsock_count(&v->counters.refused, 1);
		vsock_reply_rst(v, h);
		return;
	}
	if (v->nr_conns >= v->max_conns) {
		vsock_count(&v->counters.over_limit, 1);
		LOG_RATELIMITED(LOG_WARN, "vsock: %u connections already: port %u refused",
				v->nr_conns, host_port);
		vsock_reply_rst(v, h);
		return;
	}
	if (ep->ops->request) {
		vsock_request_open(v, ep, h);
		return;
	}
	if ((ret = ep->ops->connect(ep, &fd)) < 0 && ret != -EINPROGRESS) {
		vsock_count(&v->counters.refused, 1);
		LOG_RATELIMITED(LOG_WARN, "vsock port %u: the host's %s socket refused: %s",
				host_port, ep->kind, strerror(-ret));
		vsock_reply_rst(v, h);
		return;
	}
	c = vsock_conn_new(v, ep, host_port, guest_port, fd,
			   ret == 0 ? VSOCK_ESTABLISHED : VSOCK_CONNECTING_HOST);
	if (!c) {
		vsock_reply_rst(v, h);
		return;
	}
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	if (ret == 0) {
		vsock_count(&v->counters.connections, 1);
		vsock_owe(v, c, VSOCK_OWE_RESPONSE);
	}
	vsock_conn_watch(v, c);
}

/* Every packet of a connection says how much room the guest has; it may
 * not claim to have taken more than was sent. */
static bool credit_ok(struct vsock_conn *c, const struct virtio_vsock_hdr *h)
{
	uint32_t fwd_cnt = le32toh(h->fwd_cnt);

	if (fwd_cnt - c->peer_fwd_cnt > c->tx_cnt - c->peer_fwd_cnt)
		return false;
	c->peer_fwd_cnt = fwd_cnt;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	return true;
}

/* The guest's bytes: a request's, or its side's. A connection answered
 * at its request may send while its host socket connects (held). */
static void data(struct virtio_vsock *v, struct vsock_conn *c, uint32_t len)
{
	bool answered = c->state == VSOCK_ESTABLISHED || c->state == VSOCK_AWAIT_REQUEST ||
			(c->state == VSOCK_CONNECTING_HOST && c->requested);

	if (!answered || (c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		vsock_count(&v->counters.malformed, 1);
		vsock_conn_reset(v, c);
		return;
	}
	if (len > VSOCK_BUF_ALLOC - (c->rx_cnt - c->fwd_cnt)) {
		vsock_count(&v->counters.credit_violations, 1);
		LOG_RATELIMITED(LOG_WARN, "vsock port %u: the guest sent beyond its credit: reset",
				c->host_port);
		vsock_conn_reset(v, c);
		return;
	}
	unsigned int n = vsock_chain_iov(v->tx_chain, false, VSOCK_HDR_LEN, len, v->iov);
	c->rx_cnt += len;
	if (c->state == VSOCK_AWAIT_REQUEST)
		vsock_request_bytes(v, c, v->iov, n, len);
	else
		c->side->from_guest(v, c, v->iov, n, len);
}

/* A packet of an existing connection, its header checked. */
static void conn_packet(struct virtio_vsock *v, struct vsock_conn *c,
			const struct virtio_vsock_hdr *h, uint16_t op)
{
	if (c->state == VSOCK_CLOSING)
		return; /* its RST is on its way */
	if (op == VIRTIO_VSOCK_OP_RST) {
		vsock_conn_close(v, c);
		return;
	}
	if (!credit_ok(c, h)) {
		vsock_count(&v->counters.credit_violations, 1);
		vsock_conn_reset(v, c);
		return;
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_CONNECTING_GUEST)
			break;
		c->state = VSOCK_ESTABLISHED;
		v->nr_pending--;
		vsock_count(&v->counters.connections, 1);
		vsock_arm_listeners(v);
		vsock_conn_watch(v, c);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->guest_shutdown |= le32toh(h->flags) &
				     (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		c->side->guest_shutdown(v, c);
		return;
	case VIRTIO_VSOCK_OP_RW:
		data(v, c, le32toh(h->len));
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		vsock_conn_watch(v, c); /* the room may let the host's bytes go on */
		return;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		vsock_owe(v, c, VSOCK_OWE_CREDIT);
		return;
	}
	/* A second request, a response out of turn, an unknown op. */
	vsock_count(&v->counters.malformed, 1);
	vsock_conn_reset(v, c);
}

/* The popped tx chain. */
static void packet(struct virtio_vsock *v)
{
	struct virtq_chain *chain = v->tx_chain;
	struct virtio_vsock_hdr h;

	if (chain->readable_bytes < VSOCK_HDR_LEN) {
		/* No ports to answer to. */
		vsock_count(&v->counters.unreadable, 1);
		return;
	}
	virtq_chain_gather(chain, &h, VSOCK_HDR_LEN);
	uint64_t payload = chain->readable_bytes - VSOCK_HDR_LEN;
	uint16_t op = le16toh(h.op);
	struct vsock_conn *c = vsock_conn_find(v, le32toh(h.dst_port), le32toh(h.src_port));

	vsock_count(&v->counters.tx_packets, 1);
	vsock_count(&v->counters.tx_bytes, payload);
	if (!header_ok(&h, payload)) {
		vsock_count(&v->counters.malformed, 1);
		LOG_RATELIMITED(LOG_WARN, "vsock: a malformed packet from the guest (op %u, "
				"%llu bytes): reset", op, (unsigned long long)payload);
		if (c)
			vsock_conn_reset(v, c);
		else
			vsock_reply_rst(v, &h);
	} else if (c) {
		conn_packet(v, c, &h, op);
	} else if (op == VIRTIO_VSOCK_OP_REQUEST) {
		request(v, &h);
	} else {
		vsock_reply_rst(v, &h); /* none for a RST */
	}
}

void vsock_transmit(struct virtio_vsock *v)
{
	struct virtq *q = &v->queues[VSOCK_TX_QUEUE];
	unsigned int pushed = 0;

	if (!v->active)
		return;
	for (;;) {
		/* Answers wait for the guest's buffers: so do its packets. */
		if (v->nr_replies == VSOCK_MAX_REPLIES) {
			v->tx_blocked = true;
			break;
		}
		if (pushed == VSOCK_QUEUE_SIZE) {
			vsock_wake(v); /* a queue's worth: the rest on the loop's next turn */
			break;
		}
		if (virtio_pop(&v->vdev, q, v->tx_chain) != 1)
			break;
		packet(v);
		virtq_push(q, v->tx_chain->head, 0);
		pushed++;
	}
	if (pushed > 0)
		virtio_signal_used(&v->vdev, q);
}
