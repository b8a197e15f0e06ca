/* Connections to an endpoint that reads a request (TSI): the guest's
 * connection is answered at once; its first bytes, at most
 * VSOCK_REQUEST_MAX within VSOCK_REQUEST_TIMEOUT_NS, go to the endpoint's
 * request op, which says where the connection leads (a host socket,
 * connecting or connected, or none) and may give it a prefix, bytes owed
 * to the guest before the host's. A request that is malformed, too long
 * or late is answered with a RST and counted. One timerfd for all the
 * deadlines, armed for the oldest (they come in order: each is its
 * connection's start plus the same time). Event loop thread, under the
 * device's lock. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/iov.h"
#include "base/log.h"
#include "devices/vsock/internal.h"

int vsock_conn_prefix(struct vsock_conn *c, const void *bytes, uint32_t len)
{
	uint32_t kept = c->prefix_len - c->prefix_sent;
	uint8_t *p;

	if (len > VSOCK_PREFIX_MAX - kept)
		return -ENOSPC;
	if (!(p = malloc(kept + len)))
		return -ENOMEM;
	if (kept)
		memcpy(p, c->prefix + c->prefix_sent, kept);
	memcpy(p + kept, bytes, len);
	free(c->prefix);
	c->prefix = p;
	c->prefix_len = kept + len;
	c->prefix_sent = 0;
	return 0;
}

/* The timer for the earliest deadline: the oldest waiting connection's
 * (they come in order), an endpoint's; or none. */
void vsock_timer_arm(struct virtio_vsock *v)
{
	struct vsock_conn *oldest = TAILQ_FIRST(&v->awaiting);
	struct itimerspec when = { 0 };
	uint64_t at = oldest ? oldest->request_deadline : 0;

	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		const struct vsock_endpoint *ep = v->endpoints[i];
		uint64_t next = ep->ops->next_deadline ? ep->ops->next_deadline(ep) : 0;
		if (next && (!at || next < at))
			at = next;
	}
	if (at) {
		uint64_t now = monotonic_ns();
		uint64_t in = at > now ? at - now : 1;
		when.it_value.tv_sec = (time_t)(in / 1000000000u);
		when.it_value.tv_nsec = (long)(in % 1000000000u);
	}
	if (v->timer_fd >= 0 && timerfd_settime(v->timer_fd, 0, &when, NULL) < 0)
		LOG_RATELIMITED(LOG_WARN, "vsock: cannot arm the requests' timer: %s",
				strerror(errno));
}

void vsock_request_open(struct virtio_vsock *v, const struct vsock_endpoint *ep,
			const struct virtio_vsock_hdr *h)
{
	struct vsock_conn *c = vsock_conn_new(v, ep, le32toh(h->dst_port), le32toh(h->src_port),
					      -1, VSOCK_AWAIT_REQUEST);
	bool first = !TAILQ_FIRST(&v->awaiting);

	if (!c) {
		vsock_reply_rst(v, h);
		return;
	}
	c->requested = true;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->request_deadline = monotonic_ns() + VSOCK_REQUEST_TIMEOUT_NS;
	TAILQ_INSERT_TAIL(&v->awaiting, c, awaiting_link);
	if (first)
		vsock_timer_arm(v);
	vsock_owe(v, c, VSOCK_OWE_RESPONSE);
}

void vsock_request_done(struct virtio_vsock *v, struct vsock_conn *c)
{
	bool was_oldest = TAILQ_FIRST(&v->awaiting) == c;

	TAILQ_REMOVE(&v->awaiting, c, awaiting_link);
	if (was_oldest)
		vsock_timer_arm(v);
}

void vsock_request_expire(struct virtio_vsock *v)
{
	uint64_t now = monotonic_ns(), ticks;
	struct vsock_conn *c;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		LOG_RATELIMITED(LOG_WARN, "vsock: cannot read the requests' timer: %s",
				strerror(errno));
	while ((c = TAILQ_FIRST(&v->awaiting)) && c->request_deadline <= now) {
		vsock_count(&v->counters.request_timeouts, 1);
		LOG_RATELIMITED(LOG_WARN, "vsock port %u: no whole request from the guest in "
				"%llu s: reset", c->host_port,
				(unsigned long long)(VSOCK_REQUEST_TIMEOUT_NS / 1000000000u));
		vsock_conn_reset(v, c); /* which takes it off the list */
	}
	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		if (v->endpoints[i]->ops->expire)
			v->endpoints[i]->ops->expire(v->endpoints[i], now);
	}
	vsock_timer_arm(v);
}

/* The bytes past the request's: after the request's own leftovers, the
 * packet's past what was collected, to the connection's side. */
static void pass_on(struct virtio_vsock *v, struct vsock_conn *c, uint32_t used,
		    uint32_t collected, uint32_t len)
{
	uint8_t rest[VSOCK_REQUEST_MAX];
	uint32_t left = c->req_len - used;

	/* Copied out: the side's first call may reset c, and its data stays. */
	memcpy(rest, c->req + used, left);
	if (left > 0)
		c->side->from_guest(v, c, &(struct iovec){ rest, left }, 1, left);
	if (collected < len && c->state != VSOCK_CLOSING) {
		unsigned int n = vsock_chain_iov(v->tx_chain, false, VSOCK_HDR_LEN + collected,
						 len - collected, v->iov);
		c->side->from_guest(v, c, v->iov, n, len - collected);
	}
}

/* The endpoint's answer: the connection goes on as it says. */
static void follow(struct virtio_vsock *v, struct vsock_conn *c, const struct vsock_request *req)
{
	vsock_request_done(v, c);
	if (req->fd < 0) {
		c->state = VSOCK_ESTABLISHED;
		c->ends_after_prefix = true;
		if (c->prefix_len == 0) {
			c->host_eof = true;
			vsock_owe(v, c, VSOCK_OWE_SHUTDOWN);
		}
		return;
	}
	c->state = req->connecting ? VSOCK_CONNECTING_HOST : VSOCK_ESTABLISHED;
	if (!vsock_conn_attach(v, c, req->fd)) {
		vsock_count(&v->counters.host_errors, 1);
		vsock_conn_reset(v, c);
		return;
	}
	if (c->state == VSOCK_ESTABLISHED)
		vsock_count(&v->counters.connections, 1);
}

void vsock_request_bytes(struct virtio_vsock *v, struct vsock_conn *c, const struct iovec *iov,
			 unsigned int n, uint32_t len)
{
	uint32_t room = VSOCK_REQUEST_MAX - c->req_len;
	uint32_t take = len < room ? len : room;
	struct vsock_request req = { .fd = -1 };
	int used;

	iov_gather(c->req + c->req_len, take, iov, n);
	c->req_len += take;
	used = c->ep->ops->request(c->ep, c, c->req, c->req_len, &req);
	if (used == 0 && c->req_len == VSOCK_REQUEST_MAX)
		used = -EMSGSIZE;
	if (used < 0 || (uint32_t)used > c->req_len) {
		vsock_count(&v->counters.bad_requests, 1);
		LOG_RATELIMITED(LOG_WARN, "vsock port %u: the guest's request was refused (%s): "
				"reset", c->host_port, strerror(used < 0 ? -used : EPROTO));
		vsock_conn_reset(v, c);
		return;
	}
	if (used == 0)
		return; /* more to come; the collected bytes count as held */
	c->fwd_cnt += (uint32_t)used;
	follow(v, c, &req);
	if (c->state != VSOCK_CLOSING)
		pass_on(v, c, (uint32_t)used, take, len);
	if (c->state == VSOCK_CLOSING)
		return;
	vsock_credit_news(v, c);
	if (c->guest_shutdown && c->state == VSOCK_ESTABLISHED)
		c->side->guest_shutdown(v, c);
	vsock_conn_watch(v, c);
}
