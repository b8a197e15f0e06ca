/* The user-mode interface (our extension, krun_add_net_user): the VMM as
 * the guest's router, libslirp served from the event loop (slirp_loop.h).
 *
 * The backend ops table carries it unchanged. libslirp hands frames over
 * by callback and must run on one thread, while the device calls its
 * backend from vCPU threads too, whose seccomp filter allows no socket
 * calls. So the device's end is one end of a datagram socket pair, moved
 * with unixgram.c's own send and recv; the stack serves the other end in
 * the loop. That pair's buffers are the only queue between the two, and
 * bounded both ways: a guest that sends faster than the stack reads waits
 * (the device's backpressure), frames for a guest that takes none fill the
 * stack's side and are then dropped and counted. */
#include "devices/net/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fd_budget.h"
#include "base/log.h"
#include "devices/net/slirp_loop.h"

/* Each way's queue: 911 full-size (1514-byte) frames, as the kernel counts. */
#define USER_QUEUE_BYTES (1 << 20)
/* The most sockets of the VMM the guest may have the stack open. */
#define USER_MAX_SOCKETS 1024
/* The fds left to the rest of the VMM (virtio-fs counts its own). */
#define USER_FD_HEADROOM 256

struct user_net {
	struct net_backend b;	     /* first: the ops cast it back; b.fd is the device's end */
	struct net_backend *frames; /* unixgram's ops on b.fd */
	struct slirp_loop stack;
	bool has_stack;
};

static struct user_net *user_of(struct net_backend *b)
{
	return (struct user_net *)b;
}

static int user_send(struct net_backend *b, struct iovec *iov, unsigned int n, size_t len)
{
	struct net_backend *f = user_of(b)->frames;

	return f->ops->send(f, iov, n, len);
}

static ssize_t user_recv(struct net_backend *b, void *buf, size_t cap)
{
	struct net_backend *f = user_of(b)->frames;

	return f->ops->recv(f, buf, cap);
}

const struct slirp_loop_counters *net_user_counters(struct net_backend *b)
{
	return &user_of(b)->stack.counters;
}

/* The end of the VM (the event loop's thread): what the stack did. */
static void user_release_host(struct net_backend *b)
{
	struct user_net *u = user_of(b);
	const struct slirp_loop_counters *c = &u->stack.counters;

	LOG_INF("net eth%u (user): %llu frames from the guest routed; %llu frames for the guest "
		"dropped (it took none), %llu new connections refused at the bound of %u, %llu IPv4 "
		"fragments dropped, %llu TCP segments dropped for a bad header or checksum, %llu "
		"out-of-order TCP segments held back; at most %u sockets at once", u->stack.index,
		(unsigned long long)c->guest_frames, (unsigned long long)c->to_guest_dropped,
		(unsigned long long)c->new_flows_refused, u->stack.max_sockets,
		(unsigned long long)c->fragments_dropped, (unsigned long long)c->tcp_malformed,
		(unsigned long long)c->tcp_held_back, c->peak_sockets);
}

static void user_destroy(struct net_backend *b)
{
	struct user_net *u = user_of(b);

	if (u->has_stack)
		slirp_loop_destroy(&u->stack);
	if (u->frames)
		u->frames->ops->destroy(u->frames);
	if (b->fd >= 0)
		close(b->fd);
	free(u);
}

static const struct net_backend_ops user_ops = {
	.send = user_send,
	.recv = user_recv,
	.release_host = user_release_host,
	.destroy = user_destroy,
};

static int publish(struct user_net *u, const struct vm_port_fwd *p)
{
	struct in_addr host = { p->host_addr }, guest;
	char addr[INET_ADDRSTRLEN];

	inet_pton(AF_INET, SLIRP_GUEST_ADDR, &guest);
	errno = 0;
	if (slirp_add_hostfwd(u->stack.slirp, p->udp, host, p->host_port, guest,
			      p->guest_port) == 0)
		return 0;
	int err = errno ? errno : EADDRINUSE;
	LOG_ERR("net eth%u: cannot publish %s:%u/%s (to the guest's port %u): %s",
		u->stack.index, inet_ntop(AF_INET, &host, addr, sizeof(addr)), p->host_port,
		p->udp ? "udp" : "tcp", p->guest_port, strerror(err));
	return -err;
}

int net_user_open(const struct vm_config *cfg, unsigned int index, struct event_loop *loop,
		  struct net_backend **out)
{
	struct user_net *u = calloc(1, sizeof(*u));
	struct vm_net frames_cfg = { .backend = VM_NET_UNIXGRAM, .fd = -1 };
	int pair[2], size = USER_QUEUE_BYTES, ret;
	char who[64];

	if (!u)
		return -ENOMEM;
	u->b = (struct net_backend){ .ops = &user_ops, .fd = -1, .kind = "user" };
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
		ret = -errno;
		LOG_ERR("net eth%u: cannot make the user-mode stack's frame socket: %s", index,
			strerror(errno));
		free(u);
		return ret;
	}
	u->b.fd = frames_cfg.fd = pair[0];
	for (int i = 0; i < 2; i++)
		if (setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
			LOG_WRN("net eth%u: cannot size the frame queue: %s", index, strerror(errno));
	if ((ret = net_unixgram_open(&frames_cfg, index, &u->frames)) < 0) {
		close(pair[1]);
		goto fail;
	}
	/* The guest's sockets are the VMM's fds. */
	snprintf(who, sizeof(who), "net eth%u: sockets of the user-mode stack", index);
	if ((ret = slirp_loop_init(&u->stack, index, pair[1],
				   fd_budget(who, USER_MAX_SOCKETS, USER_FD_HEADROOM))) < 0)
		goto fail; /* it closed pair[1] */
	u->has_stack = true;
	for (unsigned int i = 0; i < cfg->nr_port_fwds; i++)
		if ((ret = publish(u, &cfg->port_fwds[i])) < 0)
			goto fail;
	if ((ret = slirp_loop_watch(&u->stack, loop)) < 0)
		goto fail;
	*out = &u->b;
	return 0;
fail:
	user_destroy(&u->b);
	return ret;
}
