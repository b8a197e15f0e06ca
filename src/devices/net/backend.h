/* Where a virtio-net interface's frames go on the host: one ops table, one
 * file per kind (unixstream.c, unixgram.c, tap.c), all non-blocking, so
 * that the device (virtio_net.c) can serve them from the event loop and
 * wait for the fd instead.
 *
 * The device calls a backend with its own lock held, from the event loop's
 * thread or a vCPU's (a register write): one call at a time. So frames move
 * with readv, writev and write only, what a vCPU's seccomp filter allows
 * (src/vmm/sandbox_rules.c). */
#ifndef KRUN_DEVICES_NET_BACKEND_H
#define KRUN_DEVICES_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/event_loop.h"
#include "config/vm_config.h"

/* The largest frame either way, without a virtio-net header: an Ethernet
 * header and a 64 KiB packet, what a segmentation offload or passt's
 * 65520-byte MTU gives. Anything longer is dropped and counted. */
#define NET_MAX_FRAME 65550
/* struct virtio_net_hdr_v1: every frame's header under VIRTIO_F_VERSION_1. */
#define NET_VNET_HDR_LEN 12

struct net_backend;
struct slirp_loop_counters;

struct net_backend_ops {
	/* Send one frame of len bytes: iov[0..n), with the virtio-net header
	 * first when the backend's vnet_hdr is set. iov[-1] is the backend's
	 * to use (a length prefix). 0: sent, or taken whole to be sent by
	 * flush; -EAGAIN: nothing taken, wait for the fd to be writable;
	 * -EPIPE: the peer is gone; another -errno: this frame is lost. */
	int (*send)(struct net_backend *b, struct iovec *iov, unsigned int n, size_t len);
	/* Send what send() took and could not write yet: 0 nothing is left,
	 * -EAGAIN some is, -EPIPE the peer is gone. NULL: send never leaves any. */
	int (*flush)(struct net_backend *b);
	/* The next frame into buf (cap bytes, at least NET_MAX_FRAME + 1, with
	 * room for a virtio-net header first when vnet_hdr is set): its length.
	 * buf is the same at every call, and keeps what an earlier one left in
	 * it. -EAGAIN: no whole frame yet; -EMSGSIZE: a frame longer than
	 * NET_MAX_FRAME was dropped; -EPROTO: the peer broke the framing and is
	 * not read again (logged); -EPIPE: the peer is gone. */
	ssize_t (*recv)(struct net_backend *b, void *buf, size_t cap);
	/* The guest's driver took these virtio-net features: let the host
	 * hand it only the offloads it took. NULL: nothing to do. */
	int (*set_offloads)(struct net_backend *b, uint64_t features);
	/* The VM is over (the event loop's thread): remove what the backend
	 * made on the host. NULL: nothing. */
	void (*release_host)(struct net_backend *b);
	void (*destroy)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	int fd;		/* non-blocking; watched by the device */
	bool vnet_hdr;	/* frames carry the virtio-net header both ways */
	const char *kind; /* "unixstream", ... for log lines */
};

/* Each backend from the interface's configuration, on the thread that
 * builds the VM: 0 and *out, or -errno with the reason logged. index: the
 * interface's (its ethN). */
int net_unixstream_open(const struct vm_net *cfg, unsigned int index, struct net_backend **out);
int net_unixgram_open(const struct vm_net *cfg, unsigned int index, struct net_backend **out);
int net_tap_open(const struct vm_net *cfg, unsigned int index, struct net_backend **out);
/* The user-mode interface (user.c): the whole configuration for its
 * published ports, served from loop. */
int net_user_open(const struct vm_config *cfg, unsigned int index, struct event_loop *loop,
		  struct net_backend **out);
/* What its stack did so far (slirp_loop.h), read on the loop's thread. */
const struct slirp_loop_counters *net_user_counters(struct net_backend *b);

/* Shared by the socket backends: fd non-blocking; -errno (logged). */
int net_set_nonblocking(int fd, unsigned int index);

#endif
