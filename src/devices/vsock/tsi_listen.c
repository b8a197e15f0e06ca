/* TSI's published listeners (tsi_listen.h): the mapped host ports, bound
 * at start (UDP ones too, for tsi_dgram.c) and listening while the guest
 * publishes; a LISTEN stream's
 * side, which accepts the host's connections, holds them and tells the
 * guest their ids in records (the stream's prefix); ACCEPT's claim; the
 * held connections' expiry. Only mapped ports are ever exposed, and
 * never with SO_REUSEPORT, so two VMs cannot share a host port. */
#include "devices/vsock/tsi_listen.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "base/clock.h"
#include "base/log.h"
#include "devices/vsock/internal.h"

/* splitmix64: ids the guest cannot tell from random, at no system call
 * (the event loop's filter has no getrandom). */
static uint32_t next_id(struct tsi_listeners *l)
{
	uint64_t z = (l->ids += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(z ^ (z >> 31));
}

static struct tsi_held *find_held(struct tsi_listeners *l, uint32_t id)
{
	for (unsigned int i = 0; i < TSI_MAX_HELD; i++) {
		if (l->held[i].port && l->held[i].id == id)
			return &l->held[i];
	}
	return NULL;
}

/* A held connection let go of (claimed: its fd taken, or closed): its
 * listener may be watched again. */
static void release(struct tsi_listeners *l, struct tsi_held *h)
{
	struct tsi_port *port = h->port;

	h->port = NULL;
	h->fd = -1;
	port->held--;
	l->nr_held--;
	if (port->stream && l->ep->device)
		vsock_conn_watch(l->ep->device, port->stream);
}

static bool full(const struct tsi_port *port)
{
	return port->held >= port->max_held || port->owner->nr_held >= TSI_MAX_HELD;
}

/* The host's connections, while the bounds allow: each held under a new id
 * and told to the guest. */
static void take_connections(struct virtio_vsock *v, struct vsock_conn *c, struct tsi_port *port)
{
	struct tsi_listeners *l = port->owner;

	while (!full(port)) {
		struct sockaddr_storage peer = { 0 };
		socklen_t len = sizeof(peer);
		struct tsi_incoming rec = { 0 };
		struct tsi_held *h = NULL;
		int one = 1;
		int fd = accept4(port->fd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == ECONNABORTED)
				continue; /* the client gave up first */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				LOG_RATELIMITED(LOG_WARN, "vsock TSI: cannot accept on host port %u: "
						"%s", port->fwd.host_port, strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (unsigned int i = 0; !h; i++) {
			if (!l->held[i].port)
				h = &l->held[i];
		}
		do
			rec.id = next_id(l);
		while (find_held(l, rec.id));
		tsi_wire_addr(&peer, &rec.peer);
		if (vsock_conn_prefix(c, &rec, sizeof(rec)) < 0) {
			LOG_RATELIMITED(LOG_WARN, "vsock TSI: no room to tell the guest of a "
					"connection to host port %u: closed", port->fwd.host_port);
			close(fd);
			return;
		}
		*h = (struct tsi_held){ .port = port, .id = rec.id, .fd = fd,
					.deadline = monotonic_ns() + TSI_HELD_NS };
		rec.id = htole32(rec.id);
		port->held++;
		l->nr_held++;
		vsock_count(&l->counters->incoming, 1);
		vsock_timer_arm(v);
	}
}

/* --- the LISTEN stream's side ---------------------------------------------- */

/* Bytes on a LISTEN stream: the guest broke the protocol. */
static void listen_from_guest(struct virtio_vsock *v, struct vsock_conn *c,
			      const struct iovec *iov, unsigned int n, uint32_t len)
{
	struct tsi_port *port = c->side_data;

	(void)iov;
	(void)n;
	(void)len;
	vsock_count(&port->owner->counters->malformed, 1);
	LOG_RATELIMITED(LOG_WARN, "vsock TSI: bytes on the listener of guest port %u: reset",
			port->fwd.guest_port);
	vsock_conn_reset(v, c);
}

/* Records are the prefix; nothing else goes to the guest. */
static bool listen_to_guest(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed)
{
	(void)v;
	(void)c;
	(void)pushed;
	return true;
}

static void listen_host_event(struct virtio_vsock *v, struct vsock_conn *c, uint32_t events)
{
	if (events & EPOLLIN)
		take_connections(v, c, c->side_data);
}

/* The guest closed its listener (or half of it: a listener has no use
 * for the other half). */
static void listen_guest_shutdown(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->guest_shutdown)
		vsock_conn_reset(v, c);
}

/* Not published any more: the host port stops listening but stays bound
 * (shutdown of a listener keeps an explicitly bound port), the
 * connections it held are closed, and a later LISTEN listens again. */
static void listen_close(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct tsi_port *port = c->side_data;
	struct tsi_listeners *l;

	if (!port)
		return; /* closed already (a reset, then the end) */
	l = port->owner;
	/* c->fd is a dup: closing it would not take it out of the epoll set */
	if (c->fd >= 0)
		epoll_ctl(v->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	shutdown(port->fd, SHUT_RDWR);
	port->stream = NULL;
	c->side_data = NULL;
	for (unsigned int i = 0; i < TSI_MAX_HELD; i++) {
		if (l->held[i].port == port) {
			close(l->held[i].fd);
			release(l, &l->held[i]);
		}
	}
	vsock_timer_arm(v);
}

static bool listen_paused(const struct vsock_conn *c)
{
	return full(c->side_data);
}

static const struct vsock_side_ops tsi_listen_side = {
	.from_guest = listen_from_guest,
	.to_guest = listen_to_guest,
	.host_event = listen_host_event,
	.guest_shutdown = listen_guest_shutdown,
	.close = listen_close,
	.paused = listen_paused,
};

/* --- the endpoint's calls -------------------------------------------------- */

_Static_assert(offsetof(struct sockaddr_in, sin_port) == offsetof(struct sockaddr_in6, sin6_port),
	       "a port is where either family has it");

struct tsi_port *tsi_port_find(struct tsi_listeners *l, uint16_t guest_port, bool udp)
{
	for (unsigned int i = 0; i < l->nr_ports; i++) {
		if (l->ports[i].fwd.guest_port == guest_port && l->ports[i].fwd.udp == udp)
			return &l->ports[i];
	}
	return NULL;
}

int tsi_listen(struct tsi_listeners *l, struct vsock_conn *c, const struct tsi_parsed *p,
	       int *fd)
{
	uint16_t guest_port = ntohs(((const struct sockaddr_in *)&p->addr)->sin_port);
	struct tsi_port *port;
	unsigned int backlog = p->arg < TSI_MAX_BACKLOG ? p->arg : TSI_MAX_BACKLOG;

	*fd = -1;
	port = tsi_port_find(l, guest_port, false);
	/* A host IPv4 port cannot reach a V6ONLY listener; one listener per
	 * guest port (another is only the guest's). */
	if (!port || port->stream ||
	    (p->addr.ss_family == AF_INET6 && (p->flags & TSI_FLAG_V6ONLY))) {
		vsock_count(&l->counters->unpublished, 1);
		return 0;
	}
	if (listen(port->fd, (int)backlog) < 0 || (*fd = fcntl(port->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		int err = -errno;
		shutdown(port->fd, SHUT_RDWR);
		return err;
	}
	port->stream = c;
	port->max_held = backlog == 0 ? 1 : backlog < TSI_HELD_PER_LISTENER ?
					    backlog : TSI_HELD_PER_LISTENER;
	c->side = &tsi_listen_side;
	c->side_data = port;
	vsock_count(&l->counters->published, 1);
	return 0;
}

int tsi_accept(struct tsi_listeners *l, uint32_t id)
{
	struct tsi_held *h = find_held(l, id);
	int fd;

	if (!h)
		return -ENOENT;
	fd = h->fd;
	release(l, h);
	vsock_count(&l->counters->accepted, 1);
	return fd;
}

uint64_t tsi_listeners_deadline(const struct tsi_listeners *l)
{
	uint64_t at = 0;

	for (unsigned int i = 0; i < TSI_MAX_HELD; i++) {
		if (l->held[i].port && (!at || l->held[i].deadline < at))
			at = l->held[i].deadline;
	}
	return at;
}

void tsi_listeners_expire(struct tsi_listeners *l, uint64_t now)
{
	for (unsigned int i = 0; i < TSI_MAX_HELD; i++) {
		struct tsi_held *h = &l->held[i];
		if (!h->port || h->deadline > now)
			continue;
		LOG_RATELIMITED(LOG_WARN, "vsock TSI: a connection to host port %u was not "
				"accepted by the guest in %llu s: closed", h->port->fwd.host_port,
				(unsigned long long)(TSI_HELD_NS / 1000000000u));
		close(h->fd);
		release(l, h);
		vsock_count(&l->counters->expired, 1);
	}
}

/* --- set-up ---------------------------------------------------------------- */

static int bind_port(struct tsi_port *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port->fwd.host_port),
				   .sin_addr.s_addr = port->fwd.host_addr };
	char addr[INET_ADDRSTRLEN];
	int one = 1, err;

	/* TCP's SO_REUSEADDR: a port in TIME_WAIT from an earlier VM is free
	 * again; on Linux it never lets two TCP sockets listen on one port. On
	 * UDP it would let two bind one: never there. */
	port->fd = socket(AF_INET, (port->fwd.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
					   SOCK_CLOEXEC, 0);
	if (port->fd >= 0 &&
	    (port->fwd.udp ||
	     setsockopt(port->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0) &&
	    bind(port->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return 0;
	err = errno;
	LOG_ERR("vsock TSI: cannot bind host port %s:%u/%s (the guest's port %u): %s",
		inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof(addr)), port->fwd.host_port,
		port->fwd.udp ? "udp" : "tcp", port->fwd.guest_port, strerror(err));
	return -err;
}

int tsi_listeners_open(struct tsi_listeners *l, const struct vsock_endpoint *ep,
		       struct tsi_counters *counters, const struct vm_port_fwd *fwds,
		       unsigned int n)
{
	*l = (struct tsi_listeners){ .ep = ep, .counters = counters };
	if (getrandom(&l->ids, sizeof(l->ids), GRND_NONBLOCK) != sizeof(l->ids))
		l->ids = monotonic_ns(); /* no entropy yet: ids need only be unlike */
	for (unsigned int i = 0; i < TSI_MAX_HELD; i++)
		l->held[i].fd = -1;
	for (unsigned int i = 0; i < n; i++) {
		struct tsi_port *port = &l->ports[l->nr_ports];
		int ret;
		*port = (struct tsi_port){ .owner = l, .fwd = fwds[i] };
		l->nr_ports++;
		if ((ret = bind_port(port)) < 0)
			return ret; /* the caller closes what was bound */
	}
	return 0;
}

void tsi_listeners_close(struct tsi_listeners *l)
{
	for (unsigned int i = 0; i < TSI_MAX_HELD; i++) {
		if (l->held[i].port)
			close(l->held[i].fd);
	}
	for (unsigned int i = 0; i < l->nr_ports; i++) {
		if (l->ports[i].fd >= 0)
			close(l->ports[i].fd);
	}
	l->nr_ports = 0;
}
