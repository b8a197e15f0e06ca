/* The vsock device's connections on the host's side: the table, each
 * connection's host socket and its watch, the bytes the host socket could
 * not take yet, the listeners' new connections. Event loop thread, under
 * the device's lock (internal.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/vsock/internal.h"

/* A listener's epoll data: its endpoint's index with this bit; a
 * connection's is its pointer, which never has it (user space). */
#define LISTENER_BIT (1ull << 63)

static unsigned int bucket(uint32_t host_port, uint32_t guest_port)
{
	return (host_port * 2654435761u ^ guest_port) % VSOCK_CONN_BUCKETS;
}

struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t host_port,
				   uint32_t guest_port)
{
	struct vsock_conn *c = v->buckets[bucket(host_port, guest_port)];

	while (c && (c->host_port != host_port || c->guest_port != guest_port))
		c = c->hash_next;
	return c;
}

struct vsock_conn *vsock_conn_new(struct virtio_vsock *v, const struct vsock_endpoint *ep,
				  uint32_t host_port, uint32_t guest_port, int fd,
				  enum vsock_conn_state state)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLONESHOT };

	if (c)
		ev.data.u64 = (uintptr_t)c;
	if (!c || epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		LOG_RATELIMITED(LOG_WARN, "vsock: cannot follow a connection to port %u: %s",
				ep->port, strerror(c ? errno : ENOMEM));
		free(c);
		close(fd);
		return NULL;
	}
	*c = (struct vsock_conn){ .ep = ep, .host_port = host_port, .guest_port = guest_port,
				  .fd = fd, .state = state };
	unsigned int b = bucket(host_port, guest_port);
	c->hash_next = v->buckets[b];
	v->buckets[b] = c;
	v->nr_conns++;
	if (state == VSOCK_CONNECTING_GUEST)
		v->nr_pending++;
	return c;
}

static void close_host(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* which takes it out of the epoll set */
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = 0;
	if (c->in_ready)
		TAILQ_REMOVE(&v->ready, c, ready_link);
	c->in_ready = false;
	if (c->state == VSOCK_CONNECTING_GUEST)
		v->nr_pending--;
	c->state = VSOCK_CLOSING;
	vsock_arm_listeners(v);
}

void vsock_conn_close(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct vsock_conn **p = &v->buckets[bucket(c->host_port, c->guest_port)];

	if (c->dead)
		return;
	close_host(v, c);
	if (c->owing)
		TAILQ_REMOVE(&v->owing, c, owing_link);
	while (*p != c)
		p = &(*p)->hash_next;
	*p = c->hash_next;
	v->nr_conns--;
	c->dead = true;
	c->dead_next = v->dead;
	v->dead = c;
	vsock_arm_listeners(v);
}

void vsock_conn_reset(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->state == VSOCK_CLOSING)
		return;
	close_host(v, c);
	c->owed = 0;
	vsock_owe(v, c, VSOCK_OWE_RST);
}

void vsock_reap(struct virtio_vsock *v)
{
	while (v->dead) {
		struct vsock_conn *c = v->dead;
		v->dead = c->dead_next;
		free(c);
	}
}

uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

void vsock_conn_watch(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t want = 0;

	if (c->state == VSOCK_CLOSING)
		return;
	if (c->state == VSOCK_CONNECTING_HOST || c->buf_len > 0)
		want |= EPOLLOUT;
	if (c->state == VSOCK_ESTABLISHED && !c->in_ready && !c->host_eof &&
	    !(c->owed & (VSOCK_OWE_REQUEST | VSOCK_OWE_RESPONSE)) &&
	    !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) && vsock_peer_credit(c) > 0)
		want |= EPOLLIN;
	if (want == c->armed || want == 0)
		return;
	struct epoll_event ev = { .events = want | EPOLLONESHOT, .data.u64 = (uintptr_t)c };
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->armed = want;
}

/* Whatever is left of the guest's bytes, once the host took them all. */
static void drained(struct virtio_vsock *v, struct vsock_conn *c)
{
	free(c->buf);
	c->buf = NULL;
	c->buf_head = 0;
	vsock_conn_shutdown(v, c);
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

void vsock_conn_write(struct virtio_vsock *v, struct vsock_conn *c, const struct iovec *iov,
		      unsigned int n, uint32_t len)
{
	ssize_t sent = 0;

	c->rx_cnt += len;
	/* Straight from the guest's buffers while none wait before them. */
	if (c->buf_len == 0 && (sent = send_iov(c->fd, iov, n)) < 0) {
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

void vsock_conn_shutdown(struct virtio_vsock *v, struct vsock_conn *c)
{
	const uint32_t both = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;

	if (c->state == VSOCK_CLOSING || c->buf_len > 0)
		return;
	if ((c->guest_shutdown & both) == both) {
		/* The clean close: the guest waits for our RST. */
		vsock_conn_reset(v, c);
		return;
	}
	if (c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
		shutdown(c->fd, SHUT_WR);
	vsock_conn_watch(v, c);
}

/* A host port for a connection from the host: one no connection to the
 * guest's port uses, above the well-known range. */
static uint32_t host_port_for(struct virtio_vsock *v, uint32_t guest_port)
{
	do {
		v->next_host_port = v->next_host_port < 1024 ? 1024 : v->next_host_port + 1;
	} while (vsock_conn_find(v, v->next_host_port, guest_port));
	return v->next_host_port;
}

static void accept_host(struct virtio_vsock *v, unsigned int index)
{
	const struct vsock_endpoint *ep = v->endpoints[index];

	v->listening[index] = false; /* its one-shot watch fired */
	while (v->nr_pending < VSOCK_MAX_PENDING && v->nr_conns < v->max_conns) {
		int fd = ep->ops->accept(ep);
		if (fd < 0) {
			if (fd != -EAGAIN)
				LOG_RATELIMITED(LOG_WARN, "vsock port %u: cannot accept: %s",
						ep->port, strerror(-fd));
			break;
		}
		struct vsock_conn *c = vsock_conn_new(v, ep, host_port_for(v, ep->port), ep->port,
						      fd, VSOCK_CONNECTING_GUEST);
		if (c)
			vsock_owe(v, c, VSOCK_OWE_REQUEST);
	}
}

void vsock_arm_listeners(struct virtio_vsock *v)
{
	if (v->nr_pending >= VSOCK_MAX_PENDING || v->nr_conns >= v->max_conns)
		return;
	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		const struct vsock_endpoint *ep = v->endpoints[i];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT,
					  .data.u64 = LISTENER_BIT | i };
		if (ep->listen_fd < 0 || v->listening[i])
			continue;
		if (epoll_ctl(v->epoll_fd, EPOLL_CTL_MOD, ep->listen_fd, &ev) == 0)
			v->listening[i] = true;
	}
}

int vsock_watch_listeners(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < v->nr_endpoints; i++) {
		struct epoll_event ev = { .events = EPOLLONESHOT, .data.u64 = LISTENER_BIT | i };
		if (v->endpoints[i]->listen_fd >= 0 &&
		    epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, v->endpoints[i]->listen_fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

/* The host socket of a connection the guest asked for finished connecting. */
static void connected(struct virtio_vsock *v, struct vsock_conn *c)
{
	int ret = c->ep->ops->finish_connect(c->ep, c->fd);

	if (ret < 0) {
		vsock_count(&v->counters.refused, 1);
		vsock_conn_reset(v, c);
		return;
	}
	c->state = VSOCK_ESTABLISHED;
	vsock_count(&v->counters.connections, 1);
	vsock_owe(v, c, VSOCK_OWE_RESPONSE);
}

void vsock_host_event(struct virtio_vsock *v, uint64_t data, uint32_t events)
{
	struct vsock_conn *c = (struct vsock_conn *)(uintptr_t)data;

	if (data & LISTENER_BIT) {
		if ((data & ~LISTENER_BIT) < v->nr_endpoints)
			accept_host(v, (unsigned int)(data & ~LISTENER_BIT));
		vsock_arm_listeners(v);
		return;
	}
	if (c->dead || c->state == VSOCK_CLOSING)
		return; /* closed earlier in this batch */
	c->armed = 0;
	if (c->state == VSOCK_CONNECTING_HOST) {
		connected(v, c);
	} else {
		if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->buf_len > 0)
			flush(v, c);
		if (c->state == VSOCK_ESTABLISHED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			vsock_mark_ready(v, c);
	}
	vsock_conn_watch(v, c);
}
