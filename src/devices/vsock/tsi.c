/* The TSI endpoint (tsi.h): each stream's request becomes a host socket of
 * the VMM's, connected without blocking; its reply, the stream's prefix,
 * says how that went, and raw bytes follow both ways. Everything here is
 * the event loop's (endpoint.h): no call waits, no name is resolved. */
#include "devices/vsock/tsi.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "base/log.h"
#include "config/vm_config.h"
#include "devices/vsock/tsi_listen.h"

_Static_assert(VSOCK_REQUEST_MAX == sizeof(struct tsi_request) + TSI_UNIX_PATH_MAX,
	       "the device collects a whole UNIX request");
_Static_assert(sizeof(struct tsi_reply) <= VSOCK_PREFIX_MAX, "a reply fits a prefix");
_Static_assert(VM_TSI_PORT == TSI_PORT_V1, "the configuration's TSI port is the wire's");

struct tsi_endpoint {
	struct vsock_endpoint ep; /* first: the ops cast it back */
	uint32_t features;	  /* VM_TSI_HIJACK_* */
	int root_fd;		  /* O_PATH of the root share, for UNIX; -1 for none */
	struct tsi_counters counters;
	struct tsi_listeners listeners; /* the port map's TCP ports */
};

static struct tsi_endpoint *tsi_of(const struct vsock_endpoint *ep)
{
	return (struct tsi_endpoint *)ep;
}

static void count(_Atomic uint64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* The one place where a destination may be refused (EACCES), before any
 * socket is made: the host's reach is the guest's, as in libkrun, so
 * nothing is refused yet; an egress policy goes here. */
static int egress_policy(const struct sockaddr *dst)
{
	(void)dst;
	return 0;
}

/* The reply, as c's prefix (arg: LISTEN's published): 0, or -errno when
 * it cannot be kept. */
static int reply(struct vsock_conn *c, int error, uint32_t arg, int fd)
{
	struct tsi_reply r = { .error = htole32((uint32_t)error), .arg = htole32(arg) };
	struct sockaddr_storage ss;
	socklen_t len;

	if (fd >= 0) {
		len = sizeof(ss);
		ss.ss_family = AF_UNSPEC;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			tsi_wire_addr(&ss, &r.local);
		len = sizeof(ss);
		ss.ss_family = AF_UNSPEC;
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			tsi_wire_addr(&ss, &r.peer);
	}
	return vsock_conn_prefix(c, &r, sizeof(r));
}

/* A failed request's answer: the error, then the stream's end. */
static int fail(struct tsi_endpoint *t, struct vsock_conn *c, int error, uint32_t used)
{
	int ret = reply(c, error, 0, -1);

	count(error == EACCES ? &t->counters.refused :
	      error == EOPNOTSUPP ? &t->counters.unsupported : &t->counters.failed);
	return ret < 0 ? ret : (int)used;
}

/* A non-blocking connect of a new socket of family to dst (len bytes):
 * the socket, or -errno. TCP_NODELAY: the guest's writes arrive whole,
 * in packets up to 64 KiB, and Nagle would only hold back their tails. */
static int start_connect(int family, const struct sockaddr *dst, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, err;

	if (fd < 0)
		return -errno;
	if ((family != AF_UNIX &&
	     setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) ||
	    (connect(fd, dst, len) < 0 && errno != EINPROGRESS)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The unix socket at path, beneath the root share only (decision (e) of
 * the design): resolved by openat2 with RESOLVE_BENEATH (no "..", no
 * absolute symlink out, no magic link), then connected through the
 * O_PATH fd's /proc/self/fd name, so nothing is resolved twice. */
static int connect_unix(const struct tsi_endpoint *t, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int node, fd;

	if (t->root_fd < 0)
		return -EACCES;
	while (*path == '/')
		path++;
	node = (int)syscall(SYS_openat2, t->root_fd, *path ? path : ".", &how, sizeof(how));
	if (node < 0)
		return errno == EXDEV ? -EACCES : -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d", node);
	fd = start_connect(AF_UNIX, (const struct sockaddr *)&sun, sizeof(sun));
	close(node);
	return fd;
}

static int tsi_request(const struct vsock_endpoint *ep, struct vsock_conn *c,
		       const uint8_t *bytes, uint32_t len, struct vsock_request *req)
{
	struct tsi_endpoint *t = tsi_of(ep);
	struct tsi_parsed p;
	int used = tsi_request_parse(bytes, len, &p), fd, ret;

	if (used <= 0) {
		if (used < 0)
			count(&t->counters.malformed);
		return used;
	}
	switch (p.op) {
	case TSI_OP_CONNECT:
		if (!(t->features & VM_TSI_HIJACK_INET))
			return fail(t, c, EOPNOTSUPP, (uint32_t)used);
		count(&t->counters.connects);
		if (p.error)
			return fail(t, c, p.error, (uint32_t)used);
		if ((fd = egress_policy((const struct sockaddr *)&p.addr)) < 0 ||
		    (fd = start_connect(p.addr.ss_family, (const struct sockaddr *)&p.addr,
					p.addr_len)) < 0)
			return fail(t, c, -fd, (uint32_t)used);
		break;
	case TSI_OP_UNIX:
		if (!(t->features & VM_TSI_HIJACK_UNIX))
			return fail(t, c, EOPNOTSUPP, (uint32_t)used);
		count(&t->counters.connects);
		if ((fd = connect_unix(t, p.path)) < 0)
			return fail(t, c, -fd, (uint32_t)used);
		break;
	case TSI_OP_LISTEN:
		if (!(t->features & VM_TSI_HIJACK_INET))
			return fail(t, c, EOPNOTSUPP, (uint32_t)used);
		if ((ret = tsi_listen(&t->listeners, c, &p, &fd)) < 0)
			return fail(t, c, -ret, (uint32_t)used);
		/* published: the host port's address, then records; if not,
		 * the stream ends and the guest's listener stays its own */
		if ((ret = reply(c, 0, fd >= 0, fd)) < 0) {
			if (fd >= 0)
				close(fd);
			return ret;
		}
		*req = (struct vsock_request){ .fd = fd };
		return used;
	case TSI_OP_ACCEPT:
		/* no reply: the guest's bytes and the host's flow at once; an
		 * id nothing holds resets the stream, as a client that reset */
		if ((fd = tsi_accept(&t->listeners, p.arg)) < 0) {
			count(&t->counters.bad_ids);
			return fd;
		}
		*req = (struct vsock_request){ .fd = fd };
		return used;
	case TSI_OP_DGRAM:
		if (!(t->features & VM_TSI_HIJACK_INET))
			return fail(t, c, EOPNOTSUPP, (uint32_t)used);
		if ((ret = tsi_dgram_open(&t->listeners, c, &p, &fd)) < 0)
			return fail(t, c, -ret, (uint32_t)used);
		/* the host socket's address, then frames both ways */
		if ((ret = reply(c, 0, (uint32_t)ret, fd)) < 0) {
			close(fd);
			return ret;
		}
		*req = (struct vsock_request){ .fd = fd };
		return used;
	default: /* the parser knows no other */
		return -EPROTO;
	}
	/* Connected or not, the reply waits for the socket to be writable. */
	*req = (struct vsock_request){ .fd = fd, .connecting = true };
	return used;
}

/* The host socket is writable: the reply says how its connect went. */
static int tsi_finish_connect(const struct vsock_endpoint *ep, struct vsock_conn *c, int fd)
{
	struct tsi_endpoint *t = tsi_of(ep);
	int err = 0, ret;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		count(&t->counters.failed);
		ret = reply(c, err, 0, -1);
		return ret < 0 ? ret : VSOCK_END_AFTER_PREFIX;
	}
	count(&t->counters.connected);
	return reply(c, 0, 0, fd);
}

static void tsi_log_stats(const struct vsock_endpoint *ep)
{
	const struct tsi_counters *n = &tsi_of(ep)->counters;

	LOG_INF("vsock TSI: %llu connects, %llu connected, %llu failed, %llu refused, %llu "
		"not supported, %llu malformed; listeners %llu published, %llu not; host "
		"connections %llu held, %llu accepted, %llu expired, %llu unknown ids; datagram "
		"sockets %llu, datagrams %llu out, %llu in, %llu dropped, %llu bad frames",
		(unsigned long long)n->connects, (unsigned long long)n->connected,
		(unsigned long long)n->failed, (unsigned long long)n->refused,
		(unsigned long long)n->unsupported, (unsigned long long)n->malformed,
		(unsigned long long)n->published, (unsigned long long)n->unpublished,
		(unsigned long long)n->incoming, (unsigned long long)n->accepted,
		(unsigned long long)n->expired, (unsigned long long)n->bad_ids,
		(unsigned long long)n->dgram_streams, (unsigned long long)n->dgrams_out,
		(unsigned long long)n->dgrams_in, (unsigned long long)n->dgram_drops,
		(unsigned long long)n->bad_frames);
}

static uint64_t tsi_next_deadline(const struct vsock_endpoint *ep)
{
	return tsi_listeners_deadline(&tsi_of(ep)->listeners);
}

static void tsi_expire(struct vsock_endpoint *ep, uint64_t now)
{
	tsi_listeners_expire(&tsi_of(ep)->listeners, now);
}

static void tsi_destroy(struct vsock_endpoint *ep)
{
	struct tsi_endpoint *t = tsi_of(ep);

	if (t->root_fd >= 0)
		close(t->root_fd);
	tsi_listeners_close(&t->listeners);
	free(t);
}

static const struct vsock_endpoint_ops tsi_endpoint_ops = {
	.request = tsi_request,
	.finish_connect = tsi_finish_connect,
	.destroy = tsi_destroy,
	.log_stats = tsi_log_stats,
	.next_deadline = tsi_next_deadline,
	.expire = tsi_expire,
};

int vsock_tsi_endpoint_open(uint32_t features, const char *root, const struct vm_port_fwd *ports,
			    unsigned int nr_ports, struct vsock_endpoint **out)
{
	int ret;

	struct tsi_endpoint *t = calloc(1, sizeof(*t));

	if (!t) {
		LOG_ERR("vsock: cannot allocate TSI's endpoint: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*t = (struct tsi_endpoint){ .ep = { .ops = &tsi_endpoint_ops, .port = TSI_PORT_V1,
					    .listen_fd = -1, .kind = "TSI" },
				    .features = features, .root_fd = -1 };
	if ((features & VM_TSI_HIJACK_UNIX) && root &&
	    (t->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ret = -errno;
		LOG_ERR("vsock: TSI cannot open the root share %s: %s", root, strerror(-ret));
		free(t);
		return ret;
	}
	/* every mapped port bound now: a taken one fails the VM's start */
	if ((ret = tsi_listeners_open(&t->listeners, &t->ep, &t->counters, ports,
				      (features & VM_TSI_HIJACK_INET) ? nr_ports : 0)) < 0) {
		tsi_destroy(&t->ep);
		return ret;
	}
	*out = &t->ep;
	return 0;
}

const struct tsi_counters *vsock_tsi_counters(const struct vsock_endpoint *ep)
{
	return &tsi_of(ep)->counters;
}

struct tsi_listeners *vsock_tsi_listeners(struct vsock_endpoint *ep)
{
	return &tsi_of(ep)->listeners;
}
