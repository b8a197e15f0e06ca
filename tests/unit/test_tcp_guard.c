/* The guard in front of libslirp (src/devices/net/tcp_guard.c) driven
 * alone, with the stack's side played by the test: what moves its model of
 * a connection and what must not (a segment libslirp would refuse, data
 * beyond the window), what gives the charge back (an ACK past the holes, a
 * reset either way), the bound over all connections, and which flow goes
 * when the table is full. test_user_net.c runs it in front of libslirp. */
#include <stdlib.h>

#include "check.h"
#include "devices/net/tcp_guard.h"
#include "user_net_guest.h"

static const uint8_t stack_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
#define REMOTE_PORT 80
#define STACK_ISN 5000u

static uint8_t f[2048];

/* A guest segment on the connection from sport: the guard's verdict. */
static enum tcp_guard_verdict guest(struct tcp_guard *g, uint16_t sport, uint32_t seq,
				    uint32_t ack, uint8_t flags, size_t len)
{
	static uint8_t data[1500];

	memset(data, 'g', len);
	return tcp_guard_from_guest(g, f, tcp_segment(f, stack_mac, GATEWAY_IP, sport, REMOTE_PORT,
						      seq, ack, flags, data, len));
}

/* A segment of the stack's to the guest's port sport, with its window. */
static void stack(struct tcp_guard *g, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags,
		  uint16_t win)
{
	size_t len = tcp_segment(f, stack_mac, GATEWAY_IP, sport, REMOTE_PORT, seq, ack, flags,
				 NULL, 0);

	/* the other way round: from 10.0.2.2:80 to the guest's port */
	put32(f + 14 + 12, GATEWAY_IP);
	put32(f + 14 + 16, GUEST_IP);
	put16(f + 34, REMOTE_PORT);
	put16(f + 36, sport);
	put16(f + 34 + 14, win);
	tcp_guard_to_guest(g, f, len);
}

/* SYN, the stack's SYN-ACK (acknowledging 1001) with win: the guest's
 * first byte is 1001, the stack's next STACK_ISN + 1. */
static void open_flow(struct tcp_guard *g, uint16_t sport, uint16_t win)
{
	CHECK_EQ_INT(guest(g, sport, 1000, 0, 0x02, 0), TCP_GUARD_FORWARD);
	stack(g, sport, STACK_ISN, 1001, 0x12, win);
}

/* One-byte segments at seq, seq + step, ...: how many were forwarded. */
static int burst(struct tcp_guard *g, uint16_t sport, uint32_t seq, uint32_t step, int count)
{
	int forwarded = 0;

	for (int i = 0; i < count; i++)
		forwarded += guest(g, sport, seq + step * (uint32_t)i, STACK_ISN + 1, 0x18, 1) ==
			     TCP_GUARD_FORWARD;
	return forwarded;
}

/* Segments libslirp would drop never reach it, and never move the model. */
static void malformed(void)
{
	struct tcp_guard g;
	size_t len;

	CHECK_EQ_INT(tcp_guard_init(&g, 4), 0);
	open_flow(&g, 50000, 65535);
	len = tcp_segment(f, stack_mac, GATEWAY_IP, 50000, REMOTE_PORT, 1001, STACK_ISN + 1, 0x18,
			  "a", 1);
	f[34 + 20] = 'b'; /* the segment's checksum no longer matches */
	CHECK_EQ_INT(tcp_guard_from_guest(&g, f, len), TCP_GUARD_MALFORMED);
	len = tcp_segment(f, stack_mac, GATEWAY_IP, 50000, REMOTE_PORT, 1001, STACK_ISN + 1, 0x18,
			  "a", 1);
	f[14 + 10] ^= 1; /* the header's */
	CHECK_EQ_INT(tcp_guard_from_guest(&g, f, len), TCP_GUARD_MALFORMED);
	CHECK_EQ_INT(tcp_guard_from_guest(&g, f, 40), TCP_GUARD_MALFORMED); /* cut short */
	len = tcp_segment(f, stack_mac, GATEWAY_IP, 50000, REMOTE_PORT, 1001, STACK_ISN + 1, 0x18,
			  "a", 1);
	f[34 + 12] = 0xf0; /* a data offset past the segment */
	CHECK_EQ_INT(tcp_guard_from_guest(&g, f, len), TCP_GUARD_MALFORMED);
	len = udp_datagram(f, stack_mac, GATEWAY_IP, 50000, 53, "q", 1);
	CHECK_EQ_INT(tcp_guard_from_guest(&g, f, len), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(tcp_guard_from_guest(&g, f, arp_request(f, GATEWAY_IP)), TCP_GUARD_FORWARD);
	/* none of them moved contig: 1002 on is still out of order */
	CHECK_EQ_INT(burst(&g, 50000, 1002, 1, TCP_GUARD_HELD_PER_FLOW + 1),
		     TCP_GUARD_HELD_PER_FLOW);
	tcp_guard_destroy(&g);
}

/* An in-order segment libslirp drops (no ACK flag, an ACK of data it never
 * sent) or trims (beyond its window) must not move contig: else the next
 * ones would pass as in order and wait in its queue uncounted. */
static void refused_data_keeps_contig(void)
{
	struct tcp_guard g;

	CHECK_EQ_INT(tcp_guard_init(&g, 4), 0);
	open_flow(&g, 50001, 65535);
	CHECK_EQ_INT(guest(&g, 50001, 1001, STACK_ISN + 1, 0x08, 100), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(guest(&g, 50001, 1001, STACK_ISN + 1000, 0x18, 100), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(guest(&g, 50001, 1001, STACK_ISN + 1, 0x11, 0), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(burst(&g, 50001, 1101, 1, TCP_GUARD_HELD_PER_FLOW + 1),
		     TCP_GUARD_HELD_PER_FLOW);

	/* A window of 100: 200 bytes from 1001 take it to 1101, no further. */
	open_flow(&g, 50002, 100);
	CHECK_EQ_INT(guest(&g, 50002, 1001, STACK_ISN + 1, 0x18, 200), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(guest(&g, 50002, 1101, STACK_ISN + 1, 0x18, 10), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(burst(&g, 50002, 1201, 1, TCP_GUARD_HELD_PER_FLOW + 1),
		     TCP_GUARD_HELD_PER_FLOW);
	/* The same ports again, a new connection: what the stack sent on the
	 * old one (up to STACK_ISN + 100000) no longer counts, an ACK of 50000
	 * is of data the new one never sent. */
	open_flow(&g, 50004, 65535);
	stack(&g, 50004, STACK_ISN + 100000, 1001, 0x10, 65535);
	open_flow(&g, 50004, 65535);
	CHECK_EQ_INT(guest(&g, 50004, 1001, STACK_ISN + 50000, 0x18, 100), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(burst(&g, 50004, 1101, 1, TCP_GUARD_HELD_PER_FLOW + 1),
		     TCP_GUARD_HELD_PER_FLOW);
	/* in-order data the stack may take moves contig: these are in order */
	open_flow(&g, 50003, 65535);
	CHECK_EQ_INT(burst(&g, 50003, 1001, 1, 3 * TCP_GUARD_HELD_PER_FLOW),
		     3 * TCP_GUARD_HELD_PER_FLOW);
	tcp_guard_destroy(&g);
}

/* The charge comes back when the stack's ACK passes the last hole, or a
 * reset ends the connection: the stack's, or the guest's inside the window. */
static void charge_given_back(void)
{
	struct tcp_guard g;
	const int k = TCP_GUARD_HELD_PER_FLOW;

	CHECK_EQ_INT(tcp_guard_init(&g, 4), 0);
	open_flow(&g, 50004, 65535);
	CHECK_EQ_INT(burst(&g, 50004, 1002, 2, k + 1), k);
	CHECK(g.held_bytes > 0);
	stack(&g, 50004, STACK_ISN + 1, 1001 + 2 * (uint32_t)k - 1, 0x10, 65535); /* short of it */
	CHECK_EQ_INT(burst(&g, 50004, 2000, 2, 1), 0);
	stack(&g, 50004, STACK_ISN + 1, 1001 + 2 * (uint32_t)k, 0x10, 65535);
	CHECK_EQ_INT(g.held_bytes, 0);
	CHECK_EQ_INT(burst(&g, 50004, 2000, 2, k + 1), k);

	stack(&g, 50004, STACK_ISN + 1, 0, 0x04, 0); /* the stack's reset */
	CHECK_EQ_INT(g.held_bytes, 0);
	CHECK_EQ_INT(g.nr_flows, 0);

	/* the guest's reset: beyond the window, or with data at its right
	 * edge (trimmed away), kept; inside it released */
	open_flow(&g, 50005, 1000);
	CHECK_EQ_INT(burst(&g, 50005, 1002, 2, k), k);
	CHECK_EQ_INT(guest(&g, 50005, 1001 + 1001, STACK_ISN + 1, 0x04, 0), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(guest(&g, 50005, 1001 + 1000, STACK_ISN + 1, 0x14, 1), TCP_GUARD_FORWARD);
	CHECK(g.held_bytes > 0);
	CHECK_EQ_INT(guest(&g, 50005, 1001, STACK_ISN + 1, 0x04, 0), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(g.held_bytes, 0);
	CHECK_EQ_INT(g.nr_flows, 0);

	/* A segment half the sequence space away is held back: counted, its
	 * end would have made an ACK short of the near one's pass for
	 * beyond them all. */
	open_flow(&g, 50007, 65535);
	CHECK_EQ_INT(guest(&g, 50007, 1011, STACK_ISN + 1, 0x18, 1), TCP_GUARD_FORWARD);
	CHECK_EQ_INT(guest(&g, 50007, 1001 + 0x80000000u, STACK_ISN + 1, 0x18, 1),
		     TCP_GUARD_HELD_BACK);
	CHECK_EQ_INT(guest(&g, 50007, 1001 + 0x7ffffff0u, STACK_ISN + 1, 0x18, 1),
		     TCP_GUARD_HELD_BACK);
	stack(&g, 50007, STACK_ISN + 1, 1005, 0x10, 65535);
	CHECK(g.held_bytes > 0);
	stack(&g, 50007, STACK_ISN + 1, 1012, 0x10, 65535);
	CHECK_EQ_INT(g.held_bytes, 0);

	/* data of a connection the guard does not know: out of order until
	 * the stack's ACK says where it stands */
	CHECK_EQ_INT(burst(&g, 50006, 1001, 1, k + 1), k);
	stack(&g, 50006, STACK_ISN + 1, 1001 + (uint32_t)k, 0x10, 65535);
	CHECK_EQ_INT(g.held_bytes, 0);
	CHECK_EQ_INT(burst(&g, 50006, 1001 + (uint32_t)k, 1, 2 * k), 2 * k);
	tcp_guard_destroy(&g);
}

/* All connections together stay under TCP_GUARD_HELD_BYTES. */
static void bound_over_all(void)
{
	struct tcp_guard g;
	int forwarded = 0, flows = 2 * (int)(TCP_GUARD_HELD_BYTES / TCP_GUARD_SEGMENT_COST /
					     TCP_GUARD_HELD_PER_FLOW);

	CHECK_EQ_INT(tcp_guard_init(&g, 1024), 0);
	for (int i = 0; i < flows; i++) {
		open_flow(&g, (uint16_t)(20000 + i), 65535);
		forwarded += burst(&g, (uint16_t)(20000 + i), 1002, 2, TCP_GUARD_HELD_PER_FLOW);
	}
	printf("%d flows with holes: %d segments forwarded, %zu bytes charged\n", flows,
	       forwarded, g.held_bytes);
	CHECK(g.held_bytes <= TCP_GUARD_HELD_BYTES);
	CHECK(forwarded < flows * TCP_GUARD_HELD_PER_FLOW / 2 + 1);
	CHECK(forwarded > flows * TCP_GUARD_HELD_PER_FLOW / 3);
	tcp_guard_destroy(&g);
}

/* A full table lets the least recently used flow with nothing held go; with
 * every flow holding, the least recently used goes and its charge stays. */
static void eviction(void)
{
	struct tcp_guard g;
	const int k = TCP_GUARD_HELD_PER_FLOW;

	CHECK_EQ_INT(tcp_guard_init(&g, 2), 0); /* 4 flows */
	open_flow(&g, 50010, 65535);
	CHECK_EQ_INT(burst(&g, 50010, 1002, 2, k), k);
	for (uint16_t p = 50011; p < 50017; p++)
		open_flow(&g, p, 65535);
	CHECK_EQ_INT(g.nr_flows, 4);
	/* 50010 was kept, still full: a new flow would take this one */
	CHECK_EQ_INT(burst(&g, 50010, 3000, 2, 1), 0);

	for (uint16_t p = 50014; p < 50017; p++)
		CHECK_EQ_INT(burst(&g, p, 1002, 2, 1), 1);
	size_t charged = g.held_bytes;
	open_flow(&g, 50020, 65535); /* every flow holds: 50010, the oldest, goes */
	CHECK_EQ_INT(g.held_bytes, charged);
	CHECK_EQ_INT(burst(&g, 50010, 3000, 2, 1), 1); /* a stranger now: taken */
	tcp_guard_destroy(&g);
}

int main(void)
{
	malformed();
	refused_data_keeps_contig();
	charge_given_back();
	bound_over_all();
	eviction();
	return CHECK_DONE();
}
