/* What the files of the vsock device share: a connection's state and the
 * calls between the guest's side (packet.c), the host's (conn.c) and the
 * path to the guest (deliver.c). Everything here runs on the event loop's
 * thread with the device's lock held. */
#ifndef KRUN_DEVICES_VSOCK_INTERNAL_H
#define KRUN_DEVICES_VSOCK_INTERNAL_H

#include "devices/vsock/virtio_vsock.h"

enum vsock_conn_state {
	VSOCK_CONNECTING_HOST,	/* the guest asked; the host socket is connecting */
	VSOCK_CONNECTING_GUEST, /* a host connection offered to the guest's listener */
	VSOCK_ESTABLISHED,
	VSOCK_CLOSING,		/* host socket closed; a RST owed, then freed */
};

/* Control packets a connection owes the guest, sent in this order. */
#define VSOCK_OWE_REQUEST (1u << 0)
#define VSOCK_OWE_RESPONSE (1u << 1)
#define VSOCK_OWE_CREDIT (1u << 2)
#define VSOCK_OWE_SHUTDOWN (1u << 3)
#define VSOCK_OWE_RST (1u << 4)

struct vsock_conn {
	struct vsock_conn *hash_next;
	TAILQ_ENTRY(vsock_conn) owing_link, ready_link;
	struct vsock_conn *dead_next;
	const struct vsock_endpoint *ep;
	uint32_t host_port, guest_port;
	int fd; /* the host socket, -1 once closed */
	enum vsock_conn_state state;
	uint32_t armed; /* the events its one-shot watch waits for */
	uint32_t owed;	/* VSOCK_OWE_* */
	bool owing, in_ready, dead;
	bool host_eof;		 /* the host socket said end of file */
	uint32_t guest_shutdown; /* VIRTIO_VSOCK_SHUTDOWN_* the guest sent */

	/* guest to host: counted as the spec's rx_cnt and fwd_cnt */
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_told;
	uint8_t *buf; /* VSOCK_BUF_ALLOC bytes while some wait for the host */
	uint32_t buf_head, buf_len;

	/* host to guest: what we sent, what the guest said it has room for */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
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
/* The guest's payload (iov, len bytes) to the host, or to the buffer. */
void vsock_conn_write(struct virtio_vsock *v, struct vsock_conn *c, const struct iovec *iov,
		      unsigned int n, uint32_t len);
/* The guest sent the shutdown flags: act on what they, and the buffer, allow. */
void vsock_conn_shutdown(struct virtio_vsock *v, struct vsock_conn *c);
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

/* virtio_vsock.c: have the loop serve the device again soon. */
void vsock_wake(struct virtio_vsock *v);

/* packet.c: from the guest */
void vsock_transmit(struct virtio_vsock *v);

static inline void vsock_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

#endif
