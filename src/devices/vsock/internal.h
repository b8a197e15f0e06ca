/* What the files of the vsock device share: a connection's state and the
 * calls between the guest's side (packet.c), the host's (conn.c), the path
 * to the guest (deliver.c), the raw pump (raw.c) and the requests of
 * endpoints that read one (request.c). Everything here runs on the event
 * loop's thread with the device's lock held. */
#ifndef KRUN_DEVICES_VSOCK_INTERNAL_H
#define KRUN_DEVICES_VSOCK_INTERNAL_H

#include "devices/vsock/virtio_vsock.h"

enum vsock_conn_state {
	/* answered, its first bytes collected for its endpoint's request op;
	 * no host socket yet */
	VSOCK_AWAIT_REQUEST,
	VSOCK_CONNECTING_HOST,	/* the guest asked; the host socket is connecting */
	VSOCK_CONNECTING_GUEST, /* a host connection offered to the guest's listener */
	VSOCK_ESTABLISHED,
	VSOCK_CLOSING,		/* host socket closed; a RST owed, then freed */
};

/* Epoll data of the device's own fds beside its connections' pointers
 * (user space, which never have the top bit): listeners (conn.c) and the
 * requests' timer. */
#define VSOCK_EPOLL_BIT (1ull << 63)
#define VSOCK_TIMER_DATA (VSOCK_EPOLL_BIT | 0xffffffffull)

/* Control packets a connection owes the guest, sent in this order. */
#define VSOCK_OWE_REQUEST (1u << 0)
#define VSOCK_OWE_RESPONSE (1u << 1)
#define VSOCK_OWE_CREDIT (1u << 2)
#define VSOCK_OWE_SHUTDOWN (1u << 3)
#define VSOCK_OWE_RST (1u << 4)

struct vsock_conn;

/* How an established connection's bytes move: the raw pump both ways
 * (vsock_raw_side: conn.c, deliver.c) is every connection's today; a
 * framing of TSI's (datagrams, a listener's records) will be another
 * table, set by its endpoint's request op. */
struct vsock_side_ops {
	/* The guest's payload, len bytes in iov (rx_cnt counted them). */
	void (*from_guest)(struct virtio_vsock *v, struct vsock_conn *c, const struct iovec *iov,
			   unsigned int n, uint32_t len);
	/* One packet of the host's for the guest, its prefix sent: false when
	 * the guest had no receive buffer. */
	bool (*to_guest)(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed);
	/* The host socket's events (its one-shot watch fired). */
	void (*host_event)(struct virtio_vsock *v, struct vsock_conn *c, uint32_t events);
	/* The guest sent shutdown flags (in guest_shutdown), or what they wait
	 * for may have happened. */
	void (*guest_shutdown)(struct virtio_vsock *v, struct vsock_conn *c);
	/* The host socket is about to be closed (c->fd, -1 if it never was
	 * attached, is still open): free what the side holds. */
	void (*close)(struct virtio_vsock *v, struct vsock_conn *c);
	/* Optional: true while the side wants no host event even with the
	 * guest's credit (a TSI listener holding all it may). */
	bool (*paused)(const struct vsock_conn *c);
};
extern const struct vsock_side_ops vsock_raw_side;

struct vsock_conn {
	struct vsock_conn *hash_next;
	TAILQ_ENTRY(vsock_conn) owing_link, ready_link, awaiting_link;
	struct vsock_conn *dead_next;
	const struct vsock_endpoint *ep;
	const struct vsock_side_ops *side;
	void *side_data; /* the side's own (TSI's listener), NULL for the raw pump */
	uint32_t host_port, guest_port;
	int fd; /* the host socket, -1 once closed */
	enum vsock_conn_state state;
	uint32_t armed; /* the events its one-shot watch waits for */
	uint32_t owed;	/* VSOCK_OWE_* */
	bool owing, in_ready, dead;
	bool host_eof;		 /* the host socket said end of file */
	bool requested;		 /* answered at once, for its endpoint's request op */
	bool ends_after_prefix;	 /* no host socket: the stream ends after the prefix */
	uint32_t guest_shutdown; /* VIRTIO_VSOCK_SHUTDOWN_* the guest sent */

	/* guest to host: counted as the spec's rx_cnt and fwd_cnt */
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_told;
	uint8_t *buf; /* VSOCK_BUF_ALLOC bytes while some wait for the host */
	uint32_t buf_head, buf_len;

	/* host to guest: what we sent, what the guest said it has room for */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;

	/* VSOCK_AWAIT_REQUEST: the guest's first bytes, and until when */
	uint64_t request_deadline;
	uint32_t req_len;
	uint8_t req[VSOCK_REQUEST_MAX];
	/* owed to the guest before the host's bytes (vsock_conn_prefix) */
	uint8_t *prefix;
	uint32_t prefix_len, prefix_sent;
};

/* conn.c: the table, the host sockets */
struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t host_port,
				   uint32_t guest_port);
/* A connection over host socket fd (taken, closed on failure), watched in
 * the device's epoll; NULL when out of memory or the watch failed. */
struct vsock_conn *vsock_conn_new(struct virtio_vsock *v, const struct vsock_endpoint *ep,
				  uint32_t host_port, uint32_t guest_port, int fd,
				  enum vsock_conn_state state);
/* Close the host socket, forget the connection (freed by vsock_reap). */
void vsock_conn_close(struct virtio_vsock *v, struct vsock_conn *c);
/* Close the host socket and owe the guest a RST, after which it is freed. */
void vsock_conn_reset(struct virtio_vsock *v, struct vsock_conn *c);
void vsock_reap(struct virtio_vsock *v);
/* Arm the host socket's watch for what the connection waits for now. */
void vsock_conn_watch(struct virtio_vsock *v, struct vsock_conn *c);
/* A host socket for c (taken, closed on failure): watched in the
 * device's epoll, unarmed. false when the watch failed. */
bool vsock_conn_attach(struct virtio_vsock *v, struct vsock_conn *c, int fd);
/* An event of the device's epoll; the listeners' watches re-armed. */
void vsock_host_event(struct virtio_vsock *v, uint64_t data, uint32_t events);
void vsock_arm_listeners(struct virtio_vsock *v);
/* Add the listening endpoints' sockets to the device's epoll, unarmed. */
int vsock_watch_listeners(struct virtio_vsock *v);
/* How many bytes the guest has room for. */
uint32_t vsock_peer_credit(const struct vsock_conn *c);

/* deliver.c: to the guest */
/* The chain's readable (or writable) buffers from byte skip on, cap bytes
 * at most, into out: how many. */
unsigned int vsock_chain_iov(const struct virtq_chain *chain, bool writable, uint32_t skip,
			     uint32_t cap, struct iovec *out);
void vsock_owe(struct virtio_vsock *v, struct vsock_conn *c, uint32_t what);
/* A RST answering hdr, a packet of no connection. */
void vsock_reply_rst(struct virtio_vsock *v, const struct virtio_vsock_hdr *hdr);
/* The host socket is readable: read it when the guest has buffers. */
void vsock_mark_ready(struct virtio_vsock *v, struct vsock_conn *c);
/* Everything owed, then host data, while the guest has receive buffers. */
void vsock_deliver(struct virtio_vsock *v);
/* The guest may be short of credit news: owe it an update. */
void vsock_credit_news(struct virtio_vsock *v, struct vsock_conn *c);
/* Whether c's prefix can go to the guest now (some left, credit for it). */
bool vsock_prefix_ready(const struct vsock_conn *c);
/* One packet of len bytes for c, within the guest's credit (c has some):
 * how many went, or -1 when the guest had no receive buffer with room. */
int vsock_send_bytes(struct virtio_vsock *v, struct vsock_conn *c, const void *bytes,
		     uint32_t len, unsigned int *pushed);
/* The raw side's to_guest: one packet of the host socket's bytes. */
bool vsock_raw_to_guest(struct virtio_vsock *v, struct vsock_conn *c, unsigned int *pushed);

/* request.c: a requesting endpoint's connections */
/* A request for ep: the connection, answered at once, waits for its bytes. */
void vsock_request_open(struct virtio_vsock *v, const struct vsock_endpoint *ep,
			const struct virtio_vsock_hdr *h);
/* The guest's payload on a connection awaiting its request. */
void vsock_request_bytes(struct virtio_vsock *v, struct vsock_conn *c, const struct iovec *iov,
			 unsigned int n, uint32_t len);
/* c leaves VSOCK_AWAIT_REQUEST (whole, or closed). */
void vsock_request_done(struct virtio_vsock *v, struct vsock_conn *c);
/* The deadline timer fired: reset the connections past theirs, and the
 * endpoints drop what is past theirs (their expire op). */
void vsock_request_expire(struct virtio_vsock *v);
/* The timer, for the earliest deadline of the requests' and the endpoints'
 * (an endpoint calls it when it takes a new one). */
void vsock_timer_arm(struct virtio_vsock *v);

/* virtio_vsock.c: have the loop serve the device again soon. */
void vsock_wake(struct virtio_vsock *v);

/* packet.c: from the guest */
void vsock_transmit(struct virtio_vsock *v);

static inline void vsock_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

#endif
