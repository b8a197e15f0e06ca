/* Frames over a datagram socket, one per datagram (gvproxy, vmnet-helper).
 * Given a path, we bind a socket of our own beside it, so the peer has an
 * address to answer, connect it to the peer, greet gvproxy's vfkit mode
 * with "VFKT" when asked, and enlarge the socket's buffers: a burst of
 * full-size frames would not fit the defaults. */
#include "devices/net/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

/* libkrun's: what a few dozen full-size frames need. */
#define SOCKET_BUF_SIZE (7 << 20)
static const char vfkit_greeting[4] = { 'V', 'F', 'K', 'T' };

struct unixgram {
	struct net_backend b; /* first: the ops cast it back */
	unsigned int index;
	bool owns_fd;
	struct sockaddr_un local; /* our bound address, removed at the end */
};

static struct unixgram *unixgram_of(struct net_backend *b)
{
	return (struct unixgram *)b;
}

/* A peer that went away: every datagram to it is refused. */
static bool peer_gone(int err)
{
	return err == ECONNREFUSED || err == ECONNRESET || err == ENOTCONN || err == EPIPE;
}

static int unixgram_send(struct net_backend *b, struct iovec *iov, unsigned int n, size_t len)
{
	(void)len;
	if (writev(b->fd, iov, n) >= 0)
		return 0;
	if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
		return -EAGAIN;
	return peer_gone(errno) ? -EPIPE : -errno;
}

static ssize_t unixgram_recv(struct net_backend *b, void *buf, size_t cap)
{
	/* One byte more than a frame may have tells a datagram too long. */
	ssize_t n = readv(b->fd, &(struct iovec){ buf, cap < NET_MAX_FRAME + 1 ? cap : NET_MAX_FRAME + 1 }, 1);

	if (n > NET_MAX_FRAME)
		return -EMSGSIZE;
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	if (peer_gone(errno)) {
		LOG_WRN("net eth%u: the peer's socket is gone: %s", unixgram_of(b)->index,
			strerror(errno));
		return -EPIPE;
	}
	return -errno;
}

/* Our socket's name, kept until the end: gvproxy sends every frame to it. */
static void unixgram_release_host(struct net_backend *b)
{
	struct unixgram *g = unixgram_of(b);

	if (g->local.sun_path[0] && unlinkat(AT_FDCWD, g->local.sun_path, 0) < 0)
		LOG_WRN("net eth%u: cannot remove our socket %s: %s", g->index, g->local.sun_path,
			strerror(errno));
	g->local.sun_path[0] = '\0';
}

static void unixgram_destroy(struct net_backend *b)
{
	struct unixgram *g = unixgram_of(b);

	unixgram_release_host(b);
	if (g->owns_fd)
		close(b->fd);
	free(g);
}

static const struct net_backend_ops unixgram_ops = {
	.send = unixgram_send,
	.recv = unixgram_recv,
	.release_host = unixgram_release_host,
	.destroy = unixgram_destroy,
};

static int open_failed(struct unixgram *g, const char *what, const char *path, int err)
{
	LOG_ERR("net eth%u: %s %s: %s", g->index, what, path, strerror(err));
	return -err;
}

/* Our socket, bound beside the peer's and connected to it. */
static int connect_path(struct unixgram *g, const char *path, bool vfkit)
{
	struct sockaddr_un peer = { .sun_family = AF_UNIX };
	char dir[sizeof(peer.sun_path)];
	int bufsize = SOCKET_BUF_SIZE;

	if (strlen(path) >= sizeof(peer.sun_path))
		return open_failed(g, "cannot connect to", path, ENAMETOOLONG);
	memcpy(peer.sun_path, path, strlen(path) + 1);
	memcpy(dir, path, strlen(path) + 1);
	g->local.sun_family = AF_UNIX;
	if (snprintf(g->local.sun_path, sizeof(g->local.sun_path), "%s/krun-net-%d-%u.sock",
		     dirname(dir), (int)getpid(), g->index) >= (int)sizeof(g->local.sun_path)) {
		g->local.sun_path[0] = '\0';
		return open_failed(g, "no room for our socket's name beside", path, ENAMETOOLONG);
	}
	if ((g->b.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return open_failed(g, "cannot make a socket for", path, errno);
	g->owns_fd = true;
	unlink(g->local.sun_path); /* one a crashed VM of the same pid left */
	if (bind(g->b.fd, (struct sockaddr *)&g->local, sizeof(g->local)) < 0) {
		int err = errno;
		g->local.sun_path[0] = '\0';
		return open_failed(g, "cannot bind a socket beside", path, err);
	}
	if (connect(g->b.fd, (struct sockaddr *)&peer, sizeof(peer)) < 0)
		return open_failed(g, "cannot connect to", path, errno);
	if (vfkit && send(g->b.fd, vfkit_greeting, sizeof(vfkit_greeting), 0) < 0)
		return open_failed(g, "cannot greet", path, errno);
	/* Smaller buffers than asked for still work, only slower: a warning. */
	if (setsockopt(g->b.fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)) < 0 ||
	    setsockopt(g->b.fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)) < 0)
		LOG_WRN("net eth%u: cannot enlarge the socket's buffers: %s", g->index,
			strerror(errno));
	return 0;
}

int net_unixgram_open(const struct vm_net *cfg, unsigned int index, struct net_backend **out)
{
	struct unixgram *g = calloc(1, sizeof(*g));
	int ret;

	if (!g) {
		LOG_ERR("net eth%u: cannot allocate its socket: %s", index, strerror(ENOMEM));
		return -ENOMEM;
	}
	g->b = (struct net_backend){ .ops = &unixgram_ops, .fd = cfg->fd, .kind = "unixgram" };
	g->index = index;
	if ((cfg->path && (ret = connect_path(g, cfg->path, cfg->flags & VM_NET_FLAG_VFKIT)) < 0) ||
	    (ret = net_set_nonblocking(g->b.fd, index)) < 0) {
		unixgram_destroy(&g->b);
		return ret;
	}
	*out = &g->b;
	return 0;
}
