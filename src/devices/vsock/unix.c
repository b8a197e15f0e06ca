/* A vsock port's unix endpoint: the guest's connections become connections
 * to a unix socket of the host, or a unix socket the VMM listens on hands
 * its connections to the guest. */
#include "devices/vsock/endpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

struct unix_endpoint {
	struct vsock_endpoint ep; /* first: the ops cast it back */
	struct sockaddr_un addr;
	bool bound; /* the listener's file is ours to remove */
};

static const struct unix_endpoint *unix_of(const struct vsock_endpoint *ep)
{
	return (const struct unix_endpoint *)ep;
}

/* A unix stream socket's connect never waits: it joins the listener's
 * queue, or fails (ECONNREFUSED, EAGAIN when the queue is full). */
static int unix_connect(const struct vsock_endpoint *ep, int *fd)
{
	const struct unix_endpoint *u = unix_of(ep);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	int ret = 0;

	if (s < 0)
		return -errno;
	if (connect(s, (const struct sockaddr *)&u->addr, sizeof(u->addr)) < 0)
		ret = -errno;
	if (ret < 0 && ret != -EINPROGRESS) {
		close(s);
		return ret;
	}
	*fd = s;
	return ret;
}

static int unix_finish_connect(const struct vsock_endpoint *ep, struct vsock_conn *c, int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	(void)ep;
	(void)c;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static int unix_accept(const struct vsock_endpoint *ep)
{
	int fd = accept4(ep->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void unix_release_host(struct vsock_endpoint *ep)
{
	struct unix_endpoint *u = (struct unix_endpoint *)ep;

	if (u->bound) {
		/* unlinkat: the call the event loop's filter has */
		unlinkat(AT_FDCWD, u->addr.sun_path, 0);
		u->bound = false;
	}
}

static void unix_destroy(struct vsock_endpoint *ep)
{
	unix_release_host(ep);
	if (ep->listen_fd >= 0)
		close(ep->listen_fd);
	free(ep);
}

static const struct vsock_endpoint_ops unix_endpoint_ops = {
	.connect = unix_connect,
	.finish_connect = unix_finish_connect,
	.accept = unix_accept,
	.release_host = unix_release_host,
	.destroy = unix_destroy,
};

/* Listen at the endpoint's path, where nothing may be yet (EADDRINUSE):
 * the API checked so, and a file made since is not ours to remove. */
static int unix_listen(struct unix_endpoint *u)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) < 0 ||
	    listen(fd, VSOCK_LISTEN_BACKLOG) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	u->bound = true;
	u->ep.listen_fd = fd;
	return 0;
}

int vsock_unix_endpoint_open(uint32_t port, const char *path, bool listen,
			     struct vsock_endpoint **out)
{
	struct unix_endpoint *u = calloc(1, sizeof(*u));
	int ret;

	if (!u) {
		LOG_ERR("vsock port %u: cannot allocate its endpoint: %s", port, strerror(ENOMEM));
		return -ENOMEM;
	}
	u->ep = (struct vsock_endpoint){ .ops = &unix_endpoint_ops, .port = port, .listen = listen,
					 .listen_fd = -1, .kind = "unix" };
	u->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(u->addr.sun_path)) {
		free(u);
		LOG_ERR("vsock port %u: the path %s is too long for a unix socket", port, path);
		return -EINVAL;
	}
	strcpy(u->addr.sun_path, path);
	if (listen && (ret = unix_listen(u)) < 0) {
		LOG_ERR("vsock port %u: cannot listen on %s: %s", port, path, strerror(-ret));
		free(u);
		return ret;
	}
	*out = &u->ep;
	return 0;
}
