/* TSI's datagram streams (docs/tsi-design.md b.2, DGRAM): after the
 * reply, both ways are frames, a struct tsi_dgram header and its payload.
 * The guest's frames are collected (one at a time, at most a header and
 * TSI_DGRAM_MAX bytes) and each sent with one sendto to its destination; a
 * frame with a bad length or address resets the stream; a datagram the
 * host socket does not take at once (EAGAIN, or refused, unreachable) is
 * dropped, as a network would, and counted. The host's datagrams are read
 * only when the guest has credit for a whole frame, so that a frame never
 * waits half sent; one is read at a time, and goes in as many packets as
 * the guest's receive buffers need. Event loop thread, under the device's
 * lock (internal.h). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <netinet/in.h>

#include "base/log.h"
#include "devices/vsock/internal.h"
#include "devices/vsock/tsi_listen.h"

#define FRAME_HDR ((uint32_t)sizeof(struct tsi_dgram))
#define FRAME_MAX (FRAME_HDR + TSI_DGRAM_MAX)
#define NEXT_UNKNOWN UINT32_MAX

struct dgram {
	struct tsi_counters *counters;
	struct tsi_port *port; /* the mapped port whose socket (a dup) this is, or NULL */
	int family;	       /* the host socket's */
	/* the guest's frame being collected: FRAME_MAX bytes while one is */
	uint8_t *in;
	uint32_t in_len, in_want; /* in_want: the whole frame's, once its header is in */
	/* a host datagram framed for the guest, going out */
	uint8_t *out;
	uint32_t out_len, out_sent;
	/* the next host datagram's length, when the guest's credit was short */
	uint32_t next_len;
};

/* The destination as the host socket's family takes it: an IPv4 one
 * v4-mapped on an IPv6 socket (which a V6ONLY socket refuses itself). */
static socklen_t destination(const struct dgram *d, struct tsi_parsed *p)
{
	if (p->addr.ss_family == AF_INET && d->family == AF_INET6) {
		struct sockaddr_in sin = *(struct sockaddr_in *)&p->addr;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->addr;
		*sin6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = sin.sin_port };
		sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &sin.sin_addr, 4);
		return sizeof(*sin6);
	}
	return p->addr_len;
}

/* The collected frame, to its destination. */
static void send_frame(struct dgram *d, int fd)
{
	struct tsi_parsed p;
	int len = tsi_frame_parse(d->in, &p);
	socklen_t addr_len = destination(d, &p);

	if (p.error || p.addr.ss_family != d->family ||
	    sendto(fd, d->in + FRAME_HDR, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (struct sockaddr *)&p.addr, addr_len) < 0) {
		vsock_count(&d->counters->dgram_drops, 1);
		LOG_RATELIMITED(LOG_DEBUG, "vsock TSI: a datagram of the guest's dropped: %s",
				strerror(p.error ? p.error : p.addr.ss_family != d->family ?
							      EAFNOSUPPORT : errno));
		return;
	}
	vsock_count(&d->counters->dgrams_out, 1);
}

/* len bytes of iov from byte skip on, into dst: how many there were. */
static uint32_t gather(uint8_t *dst, uint32_t len, const struct iovec *iov, unsigned int n,
		       uint32_t skip)
{
	uint32_t got = 0;

	for (unsigned int i = 0; i < n && got < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= (uint32_t)iov[i].iov_len;
			continue;
		}
		uint32_t take = (uint32_t)iov[i].iov_len - skip;
		if (take > len - got)
			take = len - got;
		memcpy(dst + got, (const uint8_t *)iov[i].iov_base + skip, take);
		got += take;
		skip = 0;
	}
	return got;
}

/* The guest's bytes: frames collected and sent, each byte taken at once
 * (the credit flows); a bad header resets the stream. */
static void dgram_from_guest(struct virtio_vsock *v, struct vsock_conn *c,
			     const struct iovec *iov, unsigned int n, uint32_t len)
{
	struct dgram *d = c->side_data;
	uint32_t done = 0;

	c->fwd_cnt += len;
	if (!d->in && !(d->in = malloc(FRAME_MAX))) {
		LOG_RATELIMITED(LOG_WARN, "vsock TSI: no memory for a datagram: reset");
		vsock_conn_reset(v, c);
		return;
	}
	while (done < len) {
		uint32_t want = (d->in_len < FRAME_HDR ? FRAME_HDR : d->in_want) - d->in_len;
		uint32_t got = gather(d->in + d->in_len, want < len - done ? want : len - done, iov,
				      n, done);

		if (got == 0)
			break; /* (the device hands len bytes: never) */
		d->in_len += got;
		done += got;
		if (d->in_len == FRAME_HDR) {
			struct tsi_parsed p;
			int payload = tsi_frame_parse(d->in, &p);
			if (payload < 0) {
				vsock_count(&d->counters->bad_frames, 1);
				LOG_RATELIMITED(LOG_WARN, "vsock TSI: a datagram frame with a bad "
						"length or address: reset");
				vsock_conn_reset(v, c);
				return;
			}
			d->in_want = FRAME_HDR + (uint32_t)payload;
		}
		if (d->in_len >= FRAME_HDR && d->in_len == d->in_want) {
			send_frame(d, c->fd);
			d->in_len = 0;
		}
	}
	vsock_credit_news(v, c);
}

/* The next host datagram, framed, if the guest has credit for it whole:
 * false when it has not (or none waits). */
static bool read_datagram(struct virtio_vsock *v, struct vsock_conn *c, struct dgram *d)
{
	struct sockaddr_storage src = { 0 };
	socklen_t src_len = sizeof(src);
	struct tsi_dgram f = { 0 };
	ssize_t len = recv(c->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);

	if (len < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* an ICMP error of an earlier send: the datagram is gone */
			vsock_count(&d->counters->dgram_drops, 1);
			vsock_mark_ready(v, c);
		}
		return false;
	}
	if (len > TSI_DGRAM_MAX)
		len = TSI_DGRAM_MAX; /* cannot be over UDP; the rest would be cut */
	if (vsock_peer_credit(c) < FRAME_HDR + (uint32_t)len) {
		d->next_len = (uint32_t)len; /* paused until the credit grows */
		return false;
	}
	d->next_len = NEXT_UNKNOWN;
	if (!d->out && !(d->out = malloc(FRAME_MAX))) {
		LOG_RATELIMITED(LOG_WARN, "vsock TSI: no memory for a datagram: reset");
		vsock_conn_reset(v, c);
		return false;
	}
	len = recvfrom(c->fd, d->out + FRAME_HDR, TSI_DGRAM_MAX, MSG_DONTWAIT | MSG_TRUNC,
		       (struct sockaddr *)&src, &src_len);
	if (len < 0)
		return false;
	if (len > TSI_DGRAM_MAX)
		len = TSI_DGRAM_MAX;
	f.len = htole32((uint32_t)len);
	tsi_wire_addr(&src, &f.addr);
	memcpy(d->out, &f, sizeof(f));
	d->out_len = FRAME_HDR + (uint32_t)len;
	d->out_sent = 0;
	vsock_count(&d->counters->dgrams_in, 1);
	return true;
}

static bool dgram_to_guest(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed)
{
	struct dgram *d = c->side_data;
	int sent;

	if (d->out_len == 0 &&
	    (c->state != VSOCK_ESTABLISHED || (c->guest_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) ||
	     !read_datagram(v, c, d)))
		return true; /* its watch says when it may go on */
	if ((sent = vsock_send_bytes(v, c, d->out + d->out_sent, d->out_len - d->out_sent,
				     pushed)) < 0)
		return false;
	d->out_sent += (uint32_t)sent;
	if (d->out_sent == d->out_len)
		d->out_len = d->out_sent = 0;
	else
		vsock_mark_ready(v, c); /* the rest in the next receive buffer */
	return true;
}

static void dgram_host_event(struct virtio_vsock *v, struct vsock_conn *c, uint32_t events)
{
	if (events & (EPOLLIN | EPOLLERR))
		vsock_mark_ready(v, c);
}

/* The guest closed its socket. */
static void dgram_guest_shutdown(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->guest_shutdown)
		vsock_conn_reset(v, c);
}

static void dgram_close(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct dgram *d = c->side_data;

	if (!d)
		return; /* closed already (a reset, then the end) */
	if (d->port) {
		/* c->fd is a dup of the mapped port's, which stays bound */
		if (c->fd >= 0)
			epoll_ctl(v->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
		d->port->stream = NULL;
	}
	free(d->in);
	free(d->out);
	free(d);
	c->side_data = NULL;
}

/* Nothing to read while a frame goes out, or while the guest's credit is
 * short of the next one. */
static bool dgram_paused(const struct vsock_conn *c)
{
	const struct dgram *d = c->side_data;

	return d->out_len > 0 ||
	       (d->next_len != NEXT_UNKNOWN && vsock_peer_credit(c) < FRAME_HDR + d->next_len);
}

static const struct vsock_side_ops tsi_dgram_side = {
	.from_guest = dgram_from_guest,
	.to_guest = dgram_to_guest,
	.host_event = dgram_host_event,
	.guest_shutdown = dgram_guest_shutdown,
	.close = dgram_close,
	.paused = dgram_paused,
};

/* A UDP socket of family bound to an ephemeral port (V6ONLY as the
 * guest's): the fd or -errno. Never SO_REUSEADDR. */
static int ephemeral(int family, bool v6only)
{
	struct sockaddr_storage any = { .ss_family = (sa_family_t)family };
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = v6only, err;

	if (fd < 0)
		return -errno;
	if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (struct sockaddr *)&any, family == AF_INET ? sizeof(struct sockaddr_in) :
								  sizeof(struct sockaddr_in6)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int tsi_dgram_open(struct tsi_listeners *l, struct vsock_conn *c, const struct tsi_parsed *p,
		   int *fd)
{
	uint16_t guest_port = ntohs(((const struct sockaddr_in *)&p->addr)->sin_port);
	bool v6only = p->addr.ss_family == AF_INET6 && (p->flags & TSI_FLAG_V6ONLY);
	struct tsi_port *port = guest_port ? tsi_port_find(l, guest_port, true) : NULL;
	struct dgram *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	*d = (struct dgram){ .counters = l->counters, .family = p->addr.ss_family,
			     .next_len = NEXT_UNKNOWN };
	/* the mapped port's socket is IPv4: not for a V6ONLY guest socket */
	if (port && !port->stream && !v6only) {
		if ((*fd = fcntl(port->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			int err = -errno;
			free(d);
			return err;
		}
		d->port = port;
		d->family = AF_INET;
		port->stream = c;
	} else if ((*fd = ephemeral(d->family, v6only)) < 0) {
		int err = *fd;
		free(d);
		return err;
	}
	c->side = &tsi_dgram_side;
	c->side_data = d;
	vsock_count(&l->counters->dgram_streams, 1);
	return d->port != NULL;
}
