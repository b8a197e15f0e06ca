/* The user-mode interface (src/devices/net/user.c, slirp_loop.c) driven
 * with frames as a guest sends them: ARP and DHCP answered by the stack, a
 * TCP connection and a UDP exchange with 10.0.2.2 reaching sockets of the
 * test's on the host's 127.0.0.1, published ports (TCP and UDP) taking the
 * host's connection or datagram to the guest, a port already taken, a guest that reads nothing (frames
 * dropped and counted, never queued without bound), the bound on the
 * guest's connections and on the out-of-order TCP data the stack keeps for
 * it (tcp_guard.c), and an ordinary transfer through it. */
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "devices/net/slirp_loop.h"
#include "user_net_guest.h"

static uint8_t gateway_mac[6];

/* A TCP listener on 127.0.0.1 at a free port: its fd, *port set. */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("listener");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port free now on 127.0.0.1. */
static uint16_t free_port(void)
{
	uint16_t port;

	close(listen_loopback(&port));
	return port;
}

static void arp_for_gateway(struct user_guest *g)
{
	uint8_t f[64];

	CHECK_EQ_INT(guest_send(g, f, arp_request(f, GATEWAY_IP)), 0);
	CHECK(guest_wait(g, is_arp_reply, 2000));
	CHECK_EQ_INT(get32(g->frame + 28), GATEWAY_IP);		 /* the sender: 10.0.2.2 */
	CHECK(memcmp(g->frame + 32, guest_mac, 6) == 0);	 /* to us */
	memcpy(gateway_mac, g->frame + 22, 6);
}

static void dhcp_offers_the_first_lease(struct user_guest *g)
{
	uint8_t f[400];

	CHECK_EQ_INT(guest_send(g, f, dhcp_discover(f)), 0);
	CHECK(guest_wait(g, is_dhcp_offer, 2000));
	CHECK_EQ_INT(get32(g->frame + 42 + 16), GUEST_IP); /* yiaddr */
	CHECK_EQ_INT(get32(g->frame + 42 + 4), 0x12345678); /* our xid */
}

/* A connection from the guest's port sport to the host's loopback at
 * 10.0.2.2:port: the SYN becomes a connection of the VMM's to 127.0.0.1,
 * which the listener accepts; the guest gets SYN-ACK and acknowledges it.
 * The accepted socket (-1: none), *isn the stack's initial sequence number;
 * the guest's first byte is 1001 (tcp_syn). */
static int tcp_connect_loopback(struct user_guest *g, int listener, uint16_t port,
				uint16_t sport, uint32_t *isn)
{
	uint8_t f[64];
	int conn = -1;

	CHECK_EQ_INT(guest_send(g, f, tcp_syn(f, gateway_mac, GATEWAY_IP, sport, port)), 0);
	CHECK(guest_wait(g, is_syn_ack, 2000));
	CHECK_EQ_INT(get16(g->frame + 34), port);
	CHECK_EQ_INT(get16(g->frame + 36), sport);
	*isn = get32(g->frame + 38);
	CHECK_EQ_INT(guest_send(g, f, tcp_segment(f, gateway_mac, GATEWAY_IP, sport, port, 1001,
						*isn + 1, 0x10, NULL, 0)), 0);
	for (int i = 0; i < 100 && conn < 0; i++) {
		conn = accept(listener, NULL, NULL);
		guest_idle(g, 5);
	}
	CHECK(conn >= 0);
	return conn;
}

static void tcp_to_host_loopback(struct user_guest *g)
{
	uint16_t port;
	int listener = listen_loopback(&port);
	uint32_t isn;
	int conn = tcp_connect_loopback(g, listener, port, 40000, &isn);

	if (conn >= 0)
		close(conn);
	close(listener);
}

/* A UDP socket on 127.0.0.1 at a free port: its fd, *port set. */
static int udp_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("udp socket");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A datagram to 10.0.2.2:PORT reaches the host's 127.0.0.1:PORT, and the
 * answer comes back to the guest's port. */
static void udp_to_host_loopback(struct user_guest *g)
{
	uint16_t port;
	int fd = udp_loopback(&port);
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	uint8_t f[128];
	char buf[16] = "";
	ssize_t n = -1;

	CHECK_EQ_INT(guest_send(g, f, udp_datagram(f, gateway_mac, GATEWAY_IP, 40100, port,
						   "ping", 4)), 0);
	for (int i = 0; i < 100 && n < 0; i++) {
		guest_idle(g, 5);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	}
	CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);
	CHECK_EQ_INT(sendto(fd, "pong", 4, 0, (struct sockaddr *)&from, flen), 4);
	CHECK(guest_wait(g, is_udp, 2000));
	CHECK_EQ_INT(get16(g->frame + 34), port);
	CHECK_EQ_INT(get16(g->frame + 36), 40100);
	CHECK(g->len >= 46 && memcmp(g->frame + 42, "pong", 4) == 0);
	close(fd);
}

/* Fragments never reach the stack (it would hold them, unbounded): the
 * first of a datagram (MF) and a later one (an offset) are dropped and
 * counted, and nothing reaches the host's socket; the whole datagram
 * after them does. */
static void fragments_dropped(struct user_guest *g)
{
	const struct slirp_loop_counters *c = net_user_counters(g->b);
	uint64_t before = c->fragments_dropped;
	uint16_t port;
	int fd = udp_loopback(&port);
	uint8_t f[128];
	char buf[16] = "";
	ssize_t n = -1;

	for (int i = 0; i < 2; i++) {
		size_t len = udp_datagram(f, gateway_mac, GATEWAY_IP, 40200, port, "frag", 4);
		f[14 + 6] = i == 0 ? 0x20 : 0x00; /* MF; then offset 8 bytes */
		f[14 + 7] = i == 0 ? 0x00 : 0x01;
		put16(f + 14 + 10, 0);
		put16(f + 14 + 10, csum_fold(csum_add(0, f + 14, 20)));
		CHECK_EQ_INT(guest_send(g, f, len), 0);
	}
	guest_idle(g, 50);
	CHECK_EQ_INT(c->fragments_dropped - before, 2);
	CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
	CHECK_EQ_INT(guest_send(g, f, udp_datagram(f, gateway_mac, GATEWAY_IP, 40200, port,
						   "whole", 5)), 0);
	for (int i = 0; i < 100 && n < 0; i++) {
		guest_idle(g, 5);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	}
	CHECK(n == 5 && memcmp(buf, "whole", 5) == 0);
	CHECK_EQ_INT(c->fragments_dropped - before, 2);
	close(fd);
}

/* A host connection to the published port reaches the guest as a SYN to
 * its port 80 (the stack knows its MAC from its ARP request). */
static void published_port(void)
{
	uint16_t port = free_port();
	struct vm_port_fwd fwd = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port,
				   .guest_port = 80 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct user_guest *g = calloc(1, sizeof(*g));
	int c;

	CHECK_EQ_INT(guest_open(g, &fwd, 1), 0);
	arp_for_gateway(g);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
	CHECK(guest_wait(g, is_syn, 2000));
	CHECK_EQ_INT(get32(g->frame + 30), GUEST_IP);
	CHECK_EQ_INT(get16(g->frame + 36), 80);
	close(c);

	/* /udp: a datagram to the host's port reaches the guest's. */
	struct user_guest *u = calloc(1, sizeof(*u));
	struct vm_port_fwd ufwd = { .udp = true, .host_addr = htonl(INADDR_LOOPBACK),
				    .host_port = free_port(), .guest_port = 53 };
	a.sin_port = htons(ufwd.host_port);
	CHECK_EQ_INT(guest_open(u, &ufwd, 1), 0);
	arp_for_gateway(u);
	c = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ_INT(sendto(c, "query", 5, 0, (struct sockaddr *)&a, sizeof(a)), 5);
	CHECK(guest_wait(u, is_udp, 2000));
	CHECK_EQ_INT(get32(u->frame + 30), GUEST_IP);
	CHECK_EQ_INT(get16(u->frame + 36), 53);
	CHECK(u->len >= 47 && memcmp(u->frame + 42, "query", 5) == 0);
	close(c);
	guest_close(u);
	free(u);

	/* The same port again, taken now: the interface is not made. */
	struct user_guest *again = calloc(1, sizeof(*again));
	CHECK_EQ_INT(guest_open(again, &fwd, 1), -EADDRINUSE);
	event_loop_destroy(&again->loop);
	free(again);
	guest_close(g);
	free(g);
}

/* A guest that sends and never reads: the stack's answers fill the frame
 * queue, the rest are dropped and counted. */
static void guest_that_reads_nothing(struct user_guest *g)
{
	const struct slirp_loop_counters *c = net_user_counters(g->b);
	uint8_t f[64];
	int sent = 0;

	for (int i = 0; i < 20000 && c->to_guest_dropped == 0; i++) {
		int ret = guest_send(g, f, arp_request(f, GATEWAY_IP));
		sent += ret == 0;
		if (ret == -EAGAIN || i % 32 == 31)
			event_loop_run_once(&g->loop, 1);
	}
	printf("a guest that reads nothing: %d ARP requests sent, %llu answers dropped\n", sent,
	       (unsigned long long)c->to_guest_dropped);
	CHECK(c->to_guest_dropped > 0);
	/* What waits for the guest is what the queue holds: drain it. */
	int queued = 0;
	while (g->b->ops->recv(g->b, g->frame, sizeof(g->frame)) >= 0)
		queued++;
	printf("  %d frames were queued for the guest\n", queued);
	CHECK(queued > 0 && queued < sent);
}

/* The stack's ACK guest_wait looks for: to the guest's port ack_port,
 * acknowledging up to ack_wanted. */
static uint16_t ack_port;
static uint32_t ack_wanted;

static bool is_wanted_ack(const uint8_t *f, size_t len)
{
	return is_ipv4(f, len, 6) && len >= 54 && get16(f + 36) == ack_port && (f[47] & 0x10) &&
	       get32(f + 42) == ack_wanted;
}

/* One byte at seq, seq + step, ... on the connection, count of them: how
 * many the frame queue took. */
static int send_bytes(struct user_guest *g, uint16_t sport, uint16_t port, uint32_t seq,
		      uint32_t step, uint32_t ack, int count)
{
	uint8_t f[64], byte = 'x';
	int sent = 0;

	for (int k = 0; k < count; k++) {
		int ret = guest_send(g, f, tcp_segment(f, gateway_mac, GATEWAY_IP, sport, port,
						       seq + step * (uint32_t)k, ack, 0x18, &byte, 1));
		sent += ret == 0;
		if (ret == -EAGAIN || k % 32 == 31)
			event_loop_run_once(&g->loop, 1);
	}
	guest_idle(g, 50);
	return sent;
}

/* In order from seq, len bytes of c, and the stack's ACK of seq + len. */
static void fill(struct user_guest *g, uint16_t sport, uint16_t port, uint32_t seq, uint32_t ack,
		 size_t len, char c)
{
	uint8_t f[128], data[64];

	memset(data, c, len);
	CHECK_EQ_INT(guest_send(g, f, tcp_segment(f, gateway_mac, GATEWAY_IP, sport, port, seq,
						ack, 0x18, data, len)), 0);
	ack_port = sport;
	ack_wanted = seq + (uint32_t)len;
	CHECK(guest_wait(g, is_wanted_ack, 2000));
}

/* What conn has to read within ms: its byte count. */
static size_t drain(struct user_guest *g, int conn, int ms)
{
	char buf[256];
	size_t got = 0;
	ssize_t n;

	for (int i = 0; i < ms / 5; i++) {
		guest_idle(g, 5);
		while ((n = recv(conn, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	return got;
}

/* A hostile guest's one-byte segments at every other sequence number, each
 * leaving a hole in front of it: the stack takes the first
 * TCP_GUARD_HELD_PER_FLOW, the rest are held back and counted, and the
 * VMM's heap stays put (48 MiB for 30,000 before the guard). Filling the
 * holes gets them all acknowledged, and the connection takes out-of-order
 * segments again. A segment with a bad checksum is dropped and counted. */
static void out_of_order_segments(struct user_guest *g)
{
	const struct slirp_loop_counters *c = net_user_counters(g->b);
	uint64_t held_back = c->tcp_held_back, malformed = c->tcp_malformed;
	uint16_t port;
	int listener = listen_loopback(&port);
	uint32_t isn;
	int conn = tcp_connect_loopback(g, listener, port, 40001, &isn);
	const int k = TCP_GUARD_HELD_PER_FLOW;

	struct mallinfo2 before = mallinfo2();
	int sent = send_bytes(g, 40001, port, 1002, 2, isn + 1, 30000);
	struct mallinfo2 after = mallinfo2();
	ssize_t grew = (ssize_t)after.uordblks - (ssize_t)before.uordblks;
	printf("out of order: %d segments sent, %llu held back, heap grew %zd KiB\n", sent,
	       (unsigned long long)(c->tcp_held_back - held_back), grew / 1024);
	CHECK_EQ_INT(c->tcp_held_back - held_back, sent - k);
	if (before.uordblks || after.uordblks) /* ASan's allocator reports nothing */
		CHECK(grew < 1024 * 1024);

	/* 2k bytes from 1001 cover every hole and every byte taken. */
	fill(g, 40001, port, 1001, isn + 1, 2 * (size_t)k, 'y');
	held_back = c->tcp_held_back;
	CHECK_EQ_INT(send_bytes(g, 40001, port, 1002 + 2 * (uint32_t)k, 2, isn + 1, 10), 10);
	CHECK_EQ_INT(c->tcp_held_back, held_back);
	fill(g, 40001, port, 1001 + 2 * (uint32_t)k, isn + 1, 20, 'z');

	/* A bad checksum: dropped before the stack, which acknowledges the
	 * same byte sent whole after it. */
	uint8_t f[64], byte = '!';
	size_t len = tcp_segment(f, gateway_mac, GATEWAY_IP, 40001, port, 1021 + 2 * (uint32_t)k,
				 isn + 1, 0x18, &byte, 1);
	f[34 + 16] ^= 0x40;
	CHECK_EQ_INT(guest_send(g, f, len), 0);
	guest_idle(g, 20);
	CHECK_EQ_INT(c->tcp_malformed - malformed, 1);
	fill(g, 40001, port, 1021 + 2 * (uint32_t)k, isn + 1, 1, '!');
	CHECK_EQ_INT(drain(g, conn, 200), 2 * (size_t)k + 20 + 1);
	CHECK_EQ_INT(c->tcp_held_back, held_back);
	if (conn >= 0)
		close(conn);
	close(listener);
}

/* The stack's heap for 20,000 one-byte segments that follow one it drops,
 * each in order after the one before: the first a byte without the ACK
 * flag, then one acknowledging data the stack never sent, then one half
 * the sequence space away. Had any moved the guard's model, the rest would
 * have passed as in order and waited in the stack's queue behind the hole. */
static void refused_then_contiguous(struct user_guest *g)
{
	const struct slirp_loop_counters *c = net_user_counters(g->b);
	uint16_t port;
	int listener = listen_loopback(&port);
	uint8_t f[64], byte = 'r';

	for (int attack = 0; attack < 3; attack++) {
		uint16_t sport = (uint16_t)(40010 + attack);
		uint64_t held_back = c->tcp_held_back;
		uint32_t isn;
		int conn = tcp_connect_loopback(g, listener, port, sport, &isn);
		size_t len = tcp_segment(f, gateway_mac, GATEWAY_IP, sport, port,
					 attack == 2 ? 1001 + 0x80000000u : 1001,
					 attack == 1 ? isn + 100000 : isn + 1,
					 attack == 0 ? 0x08 : 0x18, &byte, 1);
		CHECK_EQ_INT(guest_send(g, f, len), 0);
		struct mallinfo2 before = mallinfo2();
		int sent = send_bytes(g, sport, port, 1002, 1, isn + 1, 20000);
		struct mallinfo2 after = mallinfo2();
		ssize_t grew = (ssize_t)after.uordblks - (ssize_t)before.uordblks;
		printf("after a refused segment: %d sent, %llu held back, heap grew %zd KiB\n",
		       sent, (unsigned long long)(c->tcp_held_back - held_back), grew / 1024);
		/* the one half the space away is held back too */
		CHECK_EQ_INT(c->tcp_held_back - held_back,
			     sent - TCP_GUARD_HELD_PER_FLOW + (attack == 2));
		if (before.uordblks || after.uordblks)
			CHECK(grew < 1024 * 1024);
		if (conn >= 0)
			close(conn);
	}
	close(listener);
}

/* An ordinary transfer, 1 MiB in 1,460-byte segments, at most 32 KiB ahead
 * of the stack's ACK: all of it reaches the host's socket, in order, and
 * the guard holds nothing back. */
static void in_order_transfer(struct user_guest *g)
{
	const struct slirp_loop_counters *c = net_user_counters(g->b);
	uint64_t held_back = c->tcp_held_back, malformed = c->tcp_malformed;
	const uint32_t total = 1 << 20;
	uint16_t port;
	int listener = listen_loopback(&port);
	uint32_t isn, sent = 0, acked = 0, got = 0;
	int conn = tcp_connect_loopback(g, listener, port, 40002, &isn);
	static uint8_t f[1600], data[1460], buf[65536];
	bool intact = true;
	uint64_t end = monotonic_ns() + 20000000000ull;

	while (conn >= 0 && got < total && monotonic_ns() < end) {
		while (sent < total && sent - acked < 32768) {
			uint32_t n = total - sent < sizeof(data) ? total - sent : sizeof(data);
			for (uint32_t i = 0; i < n; i++)
				data[i] = (uint8_t)((sent + i) * 7);
			int ret = guest_send(g, f, tcp_segment(f, gateway_mac, GATEWAY_IP, 40002, port,
							       1001 + sent, isn + 1, 0x18, data, n));
			if (ret < 0)
				break; /* the queue to the stack is full: its turn first */
			sent += n;
		}
		event_loop_run_once(&g->loop, 1);
		ssize_t n;
		while ((n = g->b->ops->recv(g->b, g->frame, sizeof(g->frame))) >= 0) {
			if (is_ipv4(g->frame, (size_t)n, 6) && n >= 54 &&
			    get16(g->frame + 36) == 40002 && (g->frame[47] & 0x10) &&
			    (int32_t)(get32(g->frame + 42) - 1001 - acked) > 0)
				acked = get32(g->frame + 42) - 1001;
		}
		while ((n = recv(conn, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				intact &= buf[i] == (uint8_t)((got + (uint32_t)i) * 7);
			got += (uint32_t)n;
		}
	}
	printf("in order: %u bytes sent, %u acknowledged, %u arrived\n", sent, acked, got);
	CHECK_EQ_INT(got, total);
	CHECK(intact);
	CHECK_EQ_INT(c->tcp_held_back, held_back);
	CHECK_EQ_INT(c->tcp_malformed, malformed);
	if (conn >= 0)
		close(conn);
	close(listener);
}

/* RLIMIT_NOFILE leaving room for 3 sockets: the fourth SYN is refused. */
static void connection_bound(void)
{
	struct rlimit old, low;
	uint16_t port;
	int listener = listen_loopback(&port);
	struct user_guest *g = calloc(1, sizeof(*g));
	uint8_t f[64];

	getrlimit(RLIMIT_NOFILE, &old);
	low = (struct rlimit){ 256 + 3, old.rlim_max };
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
	CHECK_EQ_INT(guest_open(g, NULL, 0), 0);
	setrlimit(RLIMIT_NOFILE, &old);
	arp_for_gateway(g);
	for (uint16_t i = 0; i < 5; i++)
		CHECK_EQ_INT(guest_send(g, f, tcp_syn(f, gateway_mac, GATEWAY_IP, 41000 + i, port)),
			     0);
	guest_idle(g, 200);
	const struct slirp_loop_counters *c = net_user_counters(g->b);
	CHECK_EQ_INT(c->new_flows_refused, 2);
	CHECK(c->peak_sockets <= 3);
	int accepted = 0, conn;
	while ((conn = accept(listener, NULL, NULL)) >= 0) {
		accepted++;
		close(conn);
	}
	CHECK_EQ_INT(accepted, 3);
	guest_close(g);
	free(g);
	close(listener);
}

int main(void)
{
	struct user_guest *g = calloc(1, sizeof(*g));

	CHECK_EQ_INT(guest_open(g, NULL, 0), 0);
	arp_for_gateway(g);
	dhcp_offers_the_first_lease(g);
	tcp_to_host_loopback(g);
	udp_to_host_loopback(g);
	fragments_dropped(g);
	guest_that_reads_nothing(g);
	out_of_order_segments(g);
	refused_then_contiguous(g);
	in_order_transfer(g);
	guest_close(g);
	free(g);
	published_port();
	connection_bound();
	return CHECK_DONE();
}
