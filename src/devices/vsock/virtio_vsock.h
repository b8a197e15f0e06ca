/* virtio-vsock: the guest (CID 3) and the host (CID 2) over stream
 * sockets, each guest port mapped to a host endpoint (endpoint.h), served
 * from the VMM's event loop with no thread of its own.
 *
 * Flow control is the spec's credit: the device never sends a connection
 * more bytes than the guest's advertised buffer has room for, and resets a
 * connection whose guest sends more than ours (VSOCK_BUF_ALLOC) has. Bytes
 * the host socket cannot take yet wait in that buffer; a host peer that
 * does not read stalls its own connection only, and a guest that does not
 * read stops the device reading that connection's host socket only.
 *
 * Threads: the transport's calls (activate, queue_notify, reset) come from
 * vCPU threads or the loop; they only set flags and wake the loop through
 * wake_fd, so that every socket call is the loop's (its seccomp filter has
 * them, a vCPU's does not). The loop's handlers do the work. One mutex,
 * lock, serialises the transport's calls with the handlers and guards
 * everything below it. */
#ifndef KRUN_DEVICES_VSOCK_VIRTIO_VSOCK_H
#define KRUN_DEVICES_VSOCK_VIRTIO_VSOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/queue.h>
#include <linux/virtio_vsock.h>

#include "base/event_loop.h"
#include "devices/vsock/endpoint.h"
#include "virtio/device.h"

#define VSOCK_GUEST_CID 3
#define VSOCK_HOST_CID 2
#define VSOCK_RX_QUEUE 0
#define VSOCK_TX_QUEUE 1
#define VSOCK_EVENT_QUEUE 2
#define VSOCK_NR_QUEUES 3
#define VSOCK_QUEUE_SIZE 256
#define VSOCK_HDR_LEN ((uint32_t)sizeof(struct virtio_vsock_hdr))
/* A packet's payload, either way (the guest driver's own largest). */
#define VSOCK_MAX_PAYLOAD (64u << 10)
/* Our receive buffer per connection, the credit the guest gets: what the
 * host socket has not taken yet is held here, allocated only while some is. */
#define VSOCK_BUF_ALLOC (256u << 10)
/* Connections at once (fewer when RLIMIT_NOFILE leaves less room). */
#define VSOCK_MAX_CONNS 1024
/* Host connections accepted on a listening port and offered to the guest,
 * not answered yet, all ports together: past this the listeners are not
 * read, and the host's connections wait in their backlog. */
#define VSOCK_MAX_PENDING 64
/* Resets owed to the guest for packets of no connection, waiting for its
 * receive buffers: at this many the device stops reading its packets. */
#define VSOCK_MAX_REPLIES 64
#define VSOCK_CONN_BUCKETS 256

/* Read by log_stats and the tests at any time. */
struct vsock_counters {
	_Atomic uint64_t rx_packets, rx_bytes; /* to the guest (rx_bytes: payload) */
	_Atomic uint64_t tx_packets, tx_bytes; /* from the guest */
	_Atomic uint64_t connections;	       /* established, either way */
	_Atomic uint64_t refused;	       /* the guest's requests answered RST */
	_Atomic uint64_t malformed;	       /* packets with a bad header (RST) */
	_Atomic uint64_t unreadable;	       /* shorter than a header: dropped */
	_Atomic uint64_t credit_violations;    /* beyond our credit, or fwd_cnt lies */
	_Atomic uint64_t resets;	       /* RSTs sent to the guest */
	_Atomic uint64_t host_errors;	       /* host socket failures (RST) */
	_Atomic uint64_t over_limit;	       /* refused: VSOCK_MAX_CONNS */
	_Atomic uint64_t bad_requests;	       /* refused by the endpoint, or too long (RST) */
	_Atomic uint64_t request_timeouts;     /* not whole within VSOCK_REQUEST_TIMEOUT_NS */
};

struct vsock_conn;
TAILQ_HEAD(vsock_conn_list, vsock_conn);

struct virtio_vsock {
	struct virtio_device vdev;
	struct virtq queues[VSOCK_NR_QUEUES];
	struct event_loop *loop;
	struct vsock_endpoint **endpoints; /* owned */
	unsigned int nr_endpoints;
	unsigned int max_conns;
	int wake_fd;  /* eventfd: work for the loop */
	int epoll_fd; /* every host socket of the device, one fd of the loop */
	/* a timerfd in epoll_fd for the requests' deadlines, when an endpoint
	 * reads requests; else -1 */
	int timer_fd;
	bool wake_watched, epoll_watched;
	struct virtio_vsock_config config;

	pthread_mutex_t lock;
	/* under lock: */
	bool active;
	bool reset_pending; /* the driver reset the device: drop every connection */
	bool tx_blocked;    /* the guest's packets wait for room for our replies */
	struct virtq_chain *rx_chain, *tx_chain;
	struct iovec *iov;
	struct vsock_conn *buckets[VSOCK_CONN_BUCKETS];
	unsigned int nr_conns;
	struct vsock_conn_list owing; /* connections with control packets owed */
	struct vsock_conn_list ready; /* host sockets readable, waiting for rx buffers */
	struct vsock_conn_list awaiting; /* VSOCK_AWAIT_REQUEST, oldest first */
	struct vsock_conn *dead;      /* closed, freed at the end of the handler */
	struct virtio_vsock_hdr replies[VSOCK_MAX_REPLIES];
	unsigned int first_reply, nr_replies;
	bool *listening; /* per endpoint: its listener is watched */
	unsigned int nr_pending;
	uint32_t next_host_port;
	struct vsock_counters counters;
};

/* A device whose ports lead to endpoints (which it then owns, also on
 * failure), watched in loop. 0 or -errno (logged). */
int virtio_vsock_init(struct virtio_vsock *v, struct vsock_endpoint **endpoints,
		      unsigned int nr_endpoints, unsigned int max_conns,
		      struct event_loop *loop);
/* The VM is over: the listening endpoints remove their files. */
void virtio_vsock_release_host(struct virtio_vsock *v);
void virtio_vsock_destroy(struct virtio_vsock *v);

#endif
