/* The user-mode interface (src/devices/net/user.c, slirp_loop.c) driven
 * with frames as a guest sends them: ARP and DHCP answered by the stack, a
 * TCP connection and a UDP exchange with 10.0.2.2 reaching sockets of the
 * test's on the host's 127.0.0.1, published ports (TCP and UDP) taking the
 * host's connection or datagram to the guest, a port already taken, a guest that reads nothing (frames
 * dropped and counted, never queued without bound) and the bound on the
 * guest's connections. */
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

/* The host's loopback at 10.0.2.2: the SYN becomes a connection of the
 * VMM's to 127.0.0.1, which the listener accepts; the guest gets SYN-ACK. */
static void tcp_to_host_loopback(struct user_guest *g)
{
	uint16_t port;
	int listener = listen_loopback(&port), conn = -1;
	uint8_t f[64];

	CHECK_EQ_INT(guest_send(g, f, tcp_syn(f, gateway_mac, GATEWAY_IP, 40000, port)), 0);
	CHECK(guest_wait(g, is_syn_ack, 2000));
	CHECK_EQ_INT(get16(g->frame + 34), port);
	CHECK_EQ_INT(get16(g->frame + 36), 40000);
	for (int i = 0; i < 100 && conn < 0; i++) {
		conn = accept(listener, NULL, NULL);
		guest_idle(g, 5);
	}
	CHECK(conn >= 0);
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

/* A connection through the stack to a host listener that reads nothing,
 * then out-of-order one-byte segments, each leaving a hole. */
static void out_of_order_segments(struct user_guest *g)
{
	uint16_t port;
	int listener = listen_loopback(&port), conn = -1;
	uint8_t f[128], byte = 'x';

	CHECK_EQ_INT(guest_send(g, f, tcp_syn(f, gateway_mac, GATEWAY_IP, 40001, port)), 0);
	CHECK(guest_wait(g, is_syn_ack, 2000));
	uint32_t isn = get32(g->frame + 38);
	CHECK_EQ_INT(guest_send(g, f, tcp_segment(f, gateway_mac, GATEWAY_IP, 40001, port, 1001,
						isn + 1, 0x10, NULL, 0)), 0);
	for (int i = 0; i < 100 && conn < 0; i++) {
		conn = accept(listener, NULL, NULL);
		guest_idle(g, 5);
	}
	CHECK(conn >= 0);
	struct mallinfo2 before = mallinfo2();
	int sent = 0;
	for (int k = 0; k < 30000; k++) {
		size_t len = tcp_segment(f, gateway_mac, GATEWAY_IP, 40001, port, 1002 + 2 * k,
					 isn + 1, 0x18, &byte, 1);
		int ret = guest_send(g, f, len);
		sent += ret == 0;
		if (ret == -EAGAIN || k % 32 == 31)
			event_loop_run_once(&g->loop, 1);
	}
	guest_idle(g, 50);
	struct mallinfo2 after = mallinfo2();
	printf("out of order: %d segments sent, heap grew %zd KiB\n", sent,
	       ((ssize_t)after.uordblks - (ssize_t)before.uordblks) / 1024);
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
	guest_close(g);
	free(g);
	published_port();
	connection_bound();
	return CHECK_DONE();
}
