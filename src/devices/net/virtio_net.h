/* virtio-net: one interface, its receive and transmit queues served from
 * the VMM's event loop against a backend (backend.h).
 *
 * Backpressure both ways, so nothing is buffered without bound: transmit
 * stops taking the guest's frames while the backend would block, and waits
 * for its fd to be writable; receive reads the backend only while the guest
 * has buffers, and otherwise waits for the guest's kick, the peer's frames
 * waiting in the socket. Each turn serves at most a queue's worth of frames
 * and then lets the loop go round, so a flooding guest or peer cannot hold
 * the loop. A peer that goes away takes the link down (the guest sees its
 * carrier drop); the guest's frames are then dropped and counted.
 *
 * Threads: the transport's calls (activate, queue_notify, reset) come from
 * vCPU threads or the event loop, the backend's events from the loop; one
 * mutex, lock, serialises them all and guards everything below it. */
#ifndef KRUN_DEVICES_NET_VIRTIO_NET_H
#define KRUN_DEVICES_NET_VIRTIO_NET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <linux/virtio_net.h>

#include "base/event_loop.h"
#include "devices/net/backend.h"
#include "virtio/device.h"

#define VIRTIO_NET_RX_QUEUE 0
#define VIRTIO_NET_TX_QUEUE 1
#define VIRTIO_NET_NR_QUEUES 2
#define VIRTIO_NET_QUEUE_SIZE 256
/* With MRG_RXBUF, the guest's receive buffers one frame may spread over: a
 * 64 KiB segment in Linux's smallest (1518-byte) buffers takes 44. A frame
 * that 64 of the guest's buffers do not hold is dropped and counted. */
#define VIRTIO_NET_MAX_MERGED 64

/* Read by log_stats and the tests at any time. */
struct virtio_net_counters {
	_Atomic uint64_t rx_frames, rx_bytes; /* to the guest */
	_Atomic uint64_t tx_frames, tx_bytes; /* from the guest */
	_Atomic uint64_t rx_merged;    /* frames over several buffers (MRG_RXBUF) */
	_Atomic uint64_t rx_too_big;   /* the peer's frame past NET_MAX_FRAME */
	_Atomic uint64_t rx_no_room;   /* a frame larger than the guest's buffers */
	_Atomic uint64_t rx_errors;    /* the backend failed a read */
	_Atomic uint64_t tx_too_big;   /* the guest's frame past NET_MAX_FRAME */
	_Atomic uint64_t tx_malformed; /* shorter than its header, or a checksum outside it */
	_Atomic uint64_t tx_link_down; /* dropped: the peer was gone */
	_Atomic uint64_t tx_errors;    /* the backend refused a frame */
	_Atomic uint64_t tx_waits;     /* the backend would block: waited */
	_Atomic uint64_t rx_waits;     /* no guest buffer: the peer waited */
	_Atomic uint64_t link_downs;   /* the peer went away or broke framing */
};

struct virtio_net {
	struct virtio_device vdev;
	struct virtq queues[VIRTIO_NET_NR_QUEUES];
	struct event_loop *loop;
	struct net_backend *backend; /* owned */
	unsigned int index;	     /* ethN */
	bool watched;		     /* backend->fd is in the loop */

	pthread_mutex_t lock;
	/* under lock: */
	struct virtio_net_config config; /* mac, status */
	bool active;
	bool mergeable;	 /* MRG_RXBUF: a frame may take several receive buffers */
	bool rx_wanted;	 /* the guest may have receive buffers */
	bool tx_waiting; /* more to send once the backend's fd is writable */
	uint32_t armed;	 /* the events the fd's one-shot watch waits for */
	struct virtq_chain *rx_chain, *tx_chain;
	struct virtq_chain *rx_more;	/* a frame's later buffers, one at a time */
	struct virtq_used_entry rx_used[VIRTIO_NET_MAX_MERGED];
	uint8_t *rx_buf;	/* NET_VNET_HDR_LEN + NET_MAX_FRAME + 1 */
	size_t rx_pending;	/* a frame in rx_buf waiting for more buffers: its length */
	struct iovec *tx_iov;	/* a chain's buffers, after a spare one */
	uint8_t *tx_buf;	/* NET_MAX_FRAME: a frame whose checksum we finish */
	struct virtio_net_counters counters;
};

/* An interface with this MAC offering these virtio-net features (the
 * NET_FEATURE_* bits are virtio-net's own), served through backend (which
 * it then owns, also on failure) and watched in loop. 0 or -errno. */
int virtio_net_init(struct virtio_net *n, unsigned int index, const uint8_t mac[6],
		    uint32_t features, struct net_backend *backend, struct event_loop *loop);
void virtio_net_destroy(struct virtio_net *n);

#endif
