/* The raw pump, every connection's side today (internal.h's
 * vsock_side_ops): the guest's bytes straight to the host socket, or held
 * in the connection's buffer (our credit, VSOCK_BUF_ALLOC) while the socket
 * connects or does not take them; the host's read into the guest's buffers
 * (deliver.c). Event loop thread, under the device's lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/log.h"
#include "devices/vsock/internal.h"

static void raw_shutdown(struct virtio_vsock *v, struct vsock_conn *c);

/* Whatever is left of the guest's bytes, once the host took them all. */
static void drained(struct virtio_vsock *v, struct vsock_conn *c)
{
	free(c->buf);
	c->buf = NULL;
	c->buf_head = 0;
	raw_shutdown(v, c);
}

static ssize_t send_iov(int fd, const struct iovec *iov, unsigned int n)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (sent < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return sent;
}

/* The buffer to the host socket, as much as it takes. */
static void flush(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t first = VSOCK_BUF_ALLOC - c->buf_head;
	struct iovec iov[2] = {
		{ c->buf + c->buf_head, c->buf_len < first ? c->buf_len : first },
		{ c->buf, c->buf_len > first ? c->buf_len - first : 0 },
	};
	ssize_t sent = send_iov(c->fd, iov, iov[1].iov_len ? 2 : 1);

	if (sent < 0) {
		vsock_count(&v->counters.host_errors, 1);
		vsock_conn_reset(v, c);
		return;
	}
	c->buf_head = (c->buf_head + (uint32_t)sent) % VSOCK_BUF_ALLOC;
	c->buf_len -= (uint32_t)sent;
	c->fwd_cnt += (uint32_t)sent;
	vsock_credit_news(v, c);
	if (c->buf_len == 0)
		drained(v, c);
}

/* The guest's bytes from iov, past skip, after those the buffer holds:
 * the credit check left room for them all. false when out of memory. */
static bool hold(struct vsock_conn *c, const struct iovec *iov, unsigned int n, size_t skip)
{
	if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC)))
		return false;
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		while (len > 0) {
			uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
			uint32_t chunk = VSOCK_BUF_ALLOC - tail; /* up to the ring's end */
			if (len < chunk)
				chunk = (uint32_t)len;
			memcpy(c->buf + tail, p, chunk);
			c->buf_len += chunk;
			p += chunk;
			len -= chunk;
		}
	}
	return true;
}

/* The guest's payload to the host socket, or to the buffer while the
 * socket connects or has not taken what came before. */
static void raw_from_guest(struct virtio_vsock *v, struct vsock_conn *c, const struct iovec *iov,
			   unsigned int n, uint32_t len)
{
	ssize_t sent = 0;

	if (c->ends_after_prefix) {
		/* No host socket to take them: consumed, so its credit flows. */
		c->fwd_cnt += len;
		vsock_credit_news(v, c);
		return;
	}
	/* Straight from the guest's buffers while none wait before them. */
	if (c->buf_len == 0 && c->state == VSOCK_ESTABLISHED &&
	    (sent = send_iov(c->fd, iov, n)) < 0) {
		vsock_count(&v->counters.host_errors, 1);
		vsock_conn_reset(v, c);
		return;
	}
	c->fwd_cnt += (uint32_t)sent;
	if ((uint32_t)sent < len && !hold(c, iov, n, (size_t)sent)) {
		LOG_RATELIMITED(LOG_WARN, "vsock: no memory for a connection's buffer: reset");
		vsock_conn_reset(v, c);
		return;
	}
	vsock_credit_news(v, c);
	vsock_conn_watch(v, c);
}

/* What the guest's shutdown flags, and the buffer, allow: a half-close
 * waits until the held bytes went and the socket finished connecting (a
 * shutdown would abort a TCP connect). */
static void raw_shutdown(struct virtio_vsock *v, struct vsock_conn *c)
{
	const uint32_t both = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;

	if (c->state == VSOCK_CLOSING || c->buf_len > 0)
		return;
	if ((c->guest_shutdown & both) == both) {
		/* The clean close: the guest waits for our RST. */
		vsock_conn_reset(v, c);
		return;
	}
	if ((c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) && c->state == VSOCK_ESTABLISHED &&
	    c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	vsock_conn_watch(v, c);
}

static void raw_host_event(struct virtio_vsock *v, struct vsock_conn *c, uint32_t events)
{
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->buf_len > 0)
		flush(v, c);
	if (c->state == VSOCK_ESTABLISHED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		vsock_mark_ready(v, c);
}

static void raw_close(struct virtio_vsock *v, struct vsock_conn *c)
{
	(void)v;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = 0;
}

const struct vsock_side_ops vsock_raw_side = {
	.from_guest = raw_from_guest,
	.to_guest = vsock_raw_to_guest,
	.host_event = raw_host_event,
	.guest_shutdown = raw_shutdown,
	.close = raw_close,
};
