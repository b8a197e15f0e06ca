/* A bound on the out-of-order TCP data libslirp keeps for the guest.
 *
 * libslirp's tcp_input keeps every segment that lands inside the receive
 * window but not at rcv_nxt in its reassembly queue, a whole mbuf each
 * (about 1.6 KiB for a one-byte segment, the frame's length beyond that),
 * until the hole before it is filled, with no bound: a guest sending one
 * byte at every other sequence number holds ~100 MiB per connection. The
 * guard sits in front of it (slirp_loop.c), sees every TCP segment both
 * ways and keeps, per connection, a model of what libslirp holds:
 *
 * - contig: a sequence number up to which libslirp has surely taken the
 *   guest's data in order (never beyond its rcv_nxt): the latest ACK
 *   libslirp sent, or the end of an in-order segment forwarded since that
 *   libslirp cannot have refused, clipped to the right edge it advertised
 *   (it trims data beyond its window).
 * - a segment starting beyond contig may sit in the reassembly queue: it is
 *   forwarded only while the connection has fewer than
 *   TCP_GUARD_HELD_PER_FLOW such segments and all connections together are
 *   charged less than TCP_GUARD_HELD_BYTES; otherwise it is dropped ("held
 *   back") and the guest's TCP sends it again, as after any loss (one
 *   ending a quarter of the sequence space away, outside any window, is
 *   held back too: sequence numbers are compared as distances). What is
 *   charged is given back once libslirp's ACK reaches the end of the
 *   highest of them (the hole was filled, the queue delivered), or when
 *   libslirp resets the connection or accepts the guest's reset (either
 *   frees the queue).
 *
 * A guest that follows TCP sends out-of-order segments only after a loss
 * (frames the queue to the stack dropped), so its transfers never meet the
 * bound. Every TCP segment's IPv4 header and checksum are checked here,
 * as libslirp would: one it would drop must not move the model, and is
 * dropped before it. libslirp runs with IPv6 off, so IPv6 is not looked at.
 *
 * Threads: everything runs on the event loop's thread, as libslirp does. */
#ifndef KRUN_DEVICES_NET_TCP_GUARD_H
#define KRUN_DEVICES_NET_TCP_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* Out-of-order segments forwarded per connection and not yet delivered. */
#define TCP_GUARD_HELD_PER_FLOW 32
/* All connections' together, each charged its frame's length plus
 * TCP_GUARD_SEGMENT_COST (libslirp's mbuf: 48 MiB measured for 30,000
 * one-byte segments). ~4,000 small segments; fewer large ones, since a
 * guest's frame may be up to 64 KiB long. */
#define TCP_GUARD_HELD_BYTES (8u << 20)
#define TCP_GUARD_SEGMENT_COST 2048u

enum tcp_guard_verdict {
	TCP_GUARD_FORWARD,   /* not TCP, or TCP libslirp may take */
	TCP_GUARD_MALFORMED, /* a TCP segment libslirp would drop: a bad header or checksum */
	TCP_GUARD_HELD_BACK, /* out of order, over the bound */
};

struct tcp_flow;

struct tcp_guard {
	struct tcp_flow *flows; /* capacity of them, allocated once */
	int32_t *buckets;	/* bucket_mask + 1 chain heads, -1: empty */
	uint32_t bucket_mask;
	uint32_t seed; /* of the hash, so that a guest cannot aim at one chain */
	unsigned int capacity, nr_flows;
	int32_t free_list;
	uint64_t clock;	   /* counts frames: the flows' last use, for eviction */
	size_t held_bytes; /* charged for out-of-order segments, all flows */
};

/* A table of 2 x max_sockets connections (max_sockets: the stack's bound on
 * the guest's sockets). 0 or -ENOMEM. */
int tcp_guard_init(struct tcp_guard *g, unsigned int max_sockets);
void tcp_guard_destroy(struct tcp_guard *g);

/* A frame of the guest's, len bytes, before slirp_input: forward it or not. */
enum tcp_guard_verdict tcp_guard_from_guest(struct tcp_guard *g, const uint8_t *frame,
					    size_t len);
/* A frame libslirp sends the guest (its send_packet callback). */
void tcp_guard_to_guest(struct tcp_guard *g, const uint8_t *frame, size_t len);

#endif
