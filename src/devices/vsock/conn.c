/* The vsock device's connections on the host's side: the table, each
 * connection's host socket and its watch, its connect finishing, the
 * listeners' new connections (the bytes that flow once connected: raw.c).
 * Event loop thread, under the device's lock (internal.h). */
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
 * connection's is its pointer, which never has it (user space); the
 * timer's VSOCK_TIMER_DATA (internal.h). */
#define LISTENER_BIT VSOCK_EPOLL_BIT

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

static bool watch(struct virtio_vsock *v, struct vsock_conn *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLONESHOT, .data.u64 = (uintptr_t)c };

	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return true;
	LOG_RATELIMITED(LOG_WARN, "vsock: cannot follow a connection to port %u: %s",
			c->ep->port, strerror(errno));
	close(fd);
	return false;
}

bool vsock_conn_attach(struct virtio_vsock *v, struct vsock_conn *c, int fd)
{
	if (!watch(v, c, fd))
		return false;
	c->fd = fd;
	c->armed = 0;
	return true;
}

struct vsock_conn *vsock_conn_new(struct virtio_vsock *v, const struct vsock_endpoint *ep,
				  uint32_t host_port, uint32_t guest_port, int fd,
				  enum vsock_conn_state state)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (!c) {
		LOG_RATELIMITED(LOG_WARN, "vsock: no memory for a connection to port %u",
				ep->port);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*c = (struct vsock_conn){ .ep = ep, .side = &vsock_raw_side, .host_port = host_port,
				  .guest_port = guest_port, .fd = -1, .state = state };
	if (fd >= 0 && !vsock_conn_attach(v, c, fd)) {
		free(c);
		return NULL;
	}
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
	c->side->close(v, c);
	if (c->fd >= 0)
		close(c->fd); /* which takes it out of the epoll set (a side whose fd is a
			       * dup takes it out itself) */
	c->fd = -1;
	free(c->prefix);
	c->prefix = NULL;
	c->prefix_len = c->prefix_sent = 0;
	if (c->state == VSOCK_AWAIT_REQUEST)
		vsock_request_done(v, c);
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
	/* A prefix goes as soon as the guest has room, with no host event. */
	if (vsock_prefix_ready(c))
		vsock_mark_ready(v, c);
	if (c->fd < 0)
		return;
	if (c->state == VSOCK_CONNECTING_HOST || c->buf_len > 0)
		want |= EPOLLOUT;
	if (c->state == VSOCK_ESTABLISHED && !c->in_ready && !c->host_eof &&
	    c->prefix_sent == c->prefix_len &&
	    !(c->owed & (VSOCK_OWE_REQUEST | VSOCK_OWE_RESPONSE)) &&
	    !(c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) && vsock_peer_credit(c) > 0 &&
	    !(c->side->paused && c->side->paused(c)))
		want |= EPOLLIN;
	if (want == c->armed || want == 0)
		return;
	struct epoll_event ev = { .events = want | EPOLLONESHOT, .data.u64 = (uintptr_t)c };
	if (epoll_ctl(v->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->armed = want;
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

/* The host socket of a connection the guest asked for finished connecting:
 * the guest hears so (a connection answered at a request heard already,
 * and gets what the endpoint's prefix says). */
static void connected(struct virtio_vsock *v, struct vsock_conn *c)
{
	int ret = c->ep->ops->finish_connect(c->ep, c, c->fd);

	if (ret < 0) {
		vsock_count(&v->counters.refused, 1);
		vsock_conn_reset(v, c);
		return;
	}
	c->state = VSOCK_ESTABLISHED;
	if (ret == VSOCK_END_AFTER_PREFIX) {
		/* The guest's held bytes have nowhere to go: taken, so that
		 * its credit comes back, and dropped. */
		c->fwd_cnt += c->buf_len;
		c->side->close(v, c);
		close(c->fd);
		c->fd = -1;
		c->ends_after_prefix = true;
		return;
	}
	vsock_count(&v->counters.connections, 1);
	if (!c->requested)
		vsock_owe(v, c, VSOCK_OWE_RESPONSE);
	else if (c->guest_shutdown)
		c->side->guest_shutdown(v, c); /* a half-close that waited for the connect */
}

void vsock_host_event(struct virtio_vsock *v, uint64_t data, uint32_t events)
{
	struct vsock_conn *c = (struct vsock_conn *)(uintptr_t)data;

	if (data == VSOCK_TIMER_DATA) {
		vsock_request_expire(v);
		return;
	}
	if (data & LISTENER_BIT) {
		if ((data & ~LISTENER_BIT) < v->nr_endpoints)
			accept_host(v, (unsigned int)(data & ~LISTENER_BIT));
		vsock_arm_listeners(v);
		return;
	}
	if (c->dead || c->state == VSOCK_CLOSING)
		return; /* closed earlier in this batch */
	c->armed = 0;
	if (c->state == VSOCK_CONNECTING_HOST)
		connected(v, c);
	else
		c->side->host_event(v, c, events);
	vsock_conn_watch(v, c);
}
