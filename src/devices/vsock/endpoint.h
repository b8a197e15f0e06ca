/* Where a vsock port leads on the host: one ops table per kind, so that
 * every kind plugs into the device the same way. A unix socket (unix.c),
 * connected to for the guest's connections, or listened on for the host's;
 * TSI (tsi.c), whose guest says in its first bytes where the connection
 * goes (a request), and hears back before any of the host's bytes (a
 * prefix).
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

/* The longest request an endpoint may read from the guest's first bytes
 * (TSI's: a 40-byte header and a unix path of up to 107 bytes), and how
 * long the guest has to send it whole. Past either the connection is reset. */
#define VSOCK_REQUEST_MAX (40u + 107u)
#define VSOCK_REQUEST_TIMEOUT_NS (10ull * 1000000000ull)
/* The most bytes a connection may owe the guest before the host's (its
 * prefix: TSI's reply). */
#define VSOCK_PREFIX_MAX 4096u

struct vsock_endpoint;
struct vsock_conn; /* the device's, opaque to endpoints */
struct virtio_vsock;

/* What a request made of a connection. */
struct vsock_request {
	/* the host socket; -1 for none: the stream ends once its prefix
	 * (which then says why) has reached the guest */
	int fd;
	bool connecting; /* fd is connecting: finish_connect once it is writable */
};

/* finish_connect's answer for a connection that ends after its prefix:
 * the device closes the host socket. */
#define VSOCK_END_AFTER_PREFIX 1

struct vsock_endpoint_ops {
	/* For the guest's connection request, an endpoint has connect, or
	 * request. connect: *fd a new socket towards the host side; 0
	 * connected, -EINPROGRESS connecting (wait for it to be writable,
	 * then finish_connect), another -errno refused. */
	int (*connect)(const struct vsock_endpoint *ep, int *fd);
	/* request: the guest's connection is accepted at once, and its first
	 * bytes (len so far, at most VSOCK_REQUEST_MAX) come here: 0 for more,
	 * -errno for a malformed request (reset), else how many bytes the
	 * request took, *req saying what follows (the bytes after it go to
	 * req->fd). Before returning, the endpoint may give c a prefix. */
	int (*request)(const struct vsock_endpoint *ep, struct vsock_conn *c,
		       const uint8_t *bytes, uint32_t len, struct vsock_request *req);
	/* After connecting, fd writable: 0 connected, VSOCK_END_AFTER_PREFIX
	 * (c's prefix says why), or -errno (reset). */
	int (*finish_connect)(const struct vsock_endpoint *ep, struct vsock_conn *c, int fd);
	/* A listening endpoint's next host connection: its fd, -EAGAIN for
	 * none waiting, another -errno. */
	int (*accept)(const struct vsock_endpoint *ep);
	/* The VM is over: remove what the endpoint made on the host. */
	void (*release_host)(struct vsock_endpoint *ep);
	void (*destroy)(struct vsock_endpoint *ep);
	/* Optional: the endpoint's counters, in the device's end-of-VM log. */
	void (*log_stats)(const struct vsock_endpoint *ep);
	/* Optional, for an endpoint that holds host resources for a while
	 * (TSI's accepted connections): its next deadline (monotonic ns, 0 for
	 * none), and the device's timer fired at now: drop what is past it. */
	uint64_t (*next_deadline)(const struct vsock_endpoint *ep);
	void (*expire)(struct vsock_endpoint *ep, uint64_t now);
};

struct vsock_endpoint {
	const struct vsock_endpoint_ops *ops;
	uint32_t port;	/* the guest's vsock port */
	bool listen;	/* the host connects, the guest listens */
	int listen_fd;	/* a listening endpoint's socket (watched by the device), else -1 */
	const char *kind; /* "unix", "TSI", for log lines */
	/* the device serving it, set by virtio_vsock_init: an endpoint with
	 * connections of its own making (TSI's listeners) re-arms them there */
	struct virtio_vsock *device;
};

/* Bytes c owes the guest before any of its host socket's, sent within the
 * guest's credit (copied): 0, or -ENOSPC past VSOCK_PREFIX_MAX, -ENOMEM. */
int vsock_conn_prefix(struct vsock_conn *c, const void *bytes, uint32_t len);

/* A unix endpoint for port at path (listening there with listen): 0 and
 * *out, or -errno (logged). */
int vsock_unix_endpoint_open(uint32_t port, const char *path, bool listen,
			     struct vsock_endpoint **out);

#endif
