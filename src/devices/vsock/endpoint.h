/* Where a vsock port leads on the host: one ops table per kind, so that
 * more kinds (TSI's inet sockets, later) plug into the device the same way.
 * Today's kind is a unix socket (unix.c), connected to for the guest's
 * connections, or listened on for the host's.
 *
 * Threads: open on the builder's thread, before any sandbox; every other
 * call on the event loop's thread, under the device's lock. Every socket an
 * endpoint hands out is non-blocking and close-on-exec. */
#ifndef KRUN_DEVICES_VSOCK_ENDPOINT_H
#define KRUN_DEVICES_VSOCK_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

/* The host's unix listener's backlog: host connections the kernel queues
 * while the device waits for the guest's answers to earlier ones. */
#define VSOCK_LISTEN_BACKLOG 16

struct vsock_endpoint;

struct vsock_endpoint_ops {
	/* For the guest's connection request: *fd a new socket towards the
	 * host side; 0 connected, -EINPROGRESS connecting (wait for it to be
	 * writable, then finish_connect), another -errno refused. */
	int (*connect)(const struct vsock_endpoint *ep, int *fd);
	/* After -EINPROGRESS, fd writable: 0 connected, or -errno. */
	int (*finish_connect)(const struct vsock_endpoint *ep, int fd);
	/* A listening endpoint's next host connection: its fd, -EAGAIN for
	 * none waiting, another -errno. */
	int (*accept)(const struct vsock_endpoint *ep);
	/* The VM is over: remove what the endpoint made on the host. */
	void (*release_host)(struct vsock_endpoint *ep);
	void (*destroy)(struct vsock_endpoint *ep);
};

struct vsock_endpoint {
	const struct vsock_endpoint_ops *ops;
	uint32_t port;	/* the guest's vsock port */
	bool listen;	/* the host connects, the guest listens */
	int listen_fd;	/* a listening endpoint's socket (watched by the device), else -1 */
	const char *kind; /* "unix", for log lines */
};

/* A unix endpoint for port at path (listening there with listen): 0 and
 * *out, or -errno (logged). */
int vsock_unix_endpoint_open(uint32_t port, const char *path, bool listen,
			     struct vsock_endpoint **out);

#endif
