/* A guest on the user-mode interface, for the unit tests: the backend of
 * src/devices/net/user.c opened in an event loop of the test's, frames
 * built as a guest's network stack sends them (ARP, DHCP, TCP) and the
 * stack's answers taken from the device's end. The loop runs on the test's
 * thread, a turn at a time. */
#ifndef KRUN_TESTS_USER_NET_GUEST_H
#define KRUN_TESTS_USER_NET_GUEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "base/clock.h"
#include "base/event_loop.h"
#include "devices/net/backend.h"

#define GUEST_IP 0x0a00020fu   /* 10.0.2.15 */
#define GATEWAY_IP 0x0a000202u /* 10.0.2.2 */

static const uint8_t guest_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0f };

struct user_guest {
	struct event_loop loop;
	struct net_backend *b;
	uint8_t frame[NET_MAX_FRAME + 1]; /* the last frame received */
	size_t len;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
}

/* An IPv4 header at f + 14 for l4_len bytes of proto: 34 bytes in all. */
static inline void ip_header(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst,
			     size_t l4_len)
{
	uint8_t *ip = f + 14;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4_len));
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
}

/* "Who has target_ip?", from the guest's address. */
static inline size_t arp_request(uint8_t *f, uint32_t target_ip)
{
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + 14;

	memset(f, 0, 60);
	eth_header(f, broadcast, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	put32(a + 14, GUEST_IP);
	put32(a + 24, target_ip);
	return 60;
}

/* DHCPDISCOVER from 0.0.0.0:68 to the broadcast address's port 67. */
static inline size_t dhcp_discover(uint8_t *f)
{
	static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t bootp_len = 240 + 4, l4 = 8 + bootp_len;
	uint8_t *udp = f + 34, *bootp = udp + 8;

	memset(f, 0, 34 + l4);
	eth_header(f, broadcast, 0x0800);
	ip_header(f, 17, 0, 0xffffffffu, l4);
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)l4);
	bootp[0] = 1; /* BOOTREQUEST */
	bootp[1] = 1;
	bootp[2] = 6;
	put32(bootp + 4, 0x12345678); /* xid */
	memcpy(bootp + 28, guest_mac, 6);
	put32(bootp + 236, 0x63825363); /* the magic cookie */
	bootp[240] = 53;		/* DHCP message type: DISCOVER */
	bootp[241] = 1;
	bootp[242] = 1;
	bootp[243] = 255;
	return 34 + l4;
}

/* A TCP segment from the guest's port sport to dst:dport, to dst_mac, with
 * flags (0x02 SYN, 0x10 ACK, ...) and len bytes of data. */
static inline size_t tcp_segment(uint8_t *f, const uint8_t *dst_mac, uint32_t dst,
				 uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
				 uint8_t flags, const void *data, size_t len)
{
	uint8_t *tcp = f + 34, pseudo[12];
	size_t l4 = 20 + len;

	memset(f, 0, 34 + 20);
	eth_header(f, dst_mac, 0x0800);
	ip_header(f, 6, GUEST_IP, dst, l4);
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	if (len)
		memcpy(tcp + 20, data, len);
	put32(pseudo, GUEST_IP);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (uint16_t)l4);
	put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, l4)));
	return 34 + l4;
}

/* A TCP SYN from the guest's port sport (sequence 1000) to dst:dport. */
static inline size_t tcp_syn(uint8_t *f, const uint8_t *dst_mac, uint32_t dst, uint16_t sport,
			     uint16_t dport)
{
	return tcp_segment(f, dst_mac, dst, sport, dport, 1000, 0, 0x02, NULL, 0);
}

/* A UDP datagram from the guest's port sport to dst:dport, to dst_mac,
 * without a checksum (0, as IPv4 allows). */
static inline size_t udp_datagram(uint8_t *f, const uint8_t *dst_mac, uint32_t dst,
				  uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	size_t l4 = 8 + len;
	uint8_t *udp = f + 34;

	memset(f, 0, 34 + l4);
	eth_header(f, dst_mac, 0x0800);
	ip_header(f, 17, GUEST_IP, dst, l4);
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)l4);
	memcpy(udp + 8, data, len);
	return 34 + l4;
}

/* A DNS query for "localhost" (type A) to the stack's resolver, 10.0.2.3. */
static inline size_t dns_query(uint8_t *f, const uint8_t *dst_mac)
{
	static const uint8_t query[] = { 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0,
					 0, 1, 0, 1 };

	return udp_datagram(f, dst_mac, 0x0a000203u, 40053, 53, query, sizeof(query));
}

static inline int guest_send(struct user_guest *g, uint8_t *f, size_t len)
{
	struct iovec iov[2] = { { 0 }, { f, len } }; /* iov[-1] is the backend's */

	return g->b->ops->send(g->b, &iov[1], 1, len);
}

/* Run the loop until a frame arrives that match accepts (others are
 * skipped), for up to ms: whether one did, in g->frame. */
static inline bool guest_wait(struct user_guest *g, bool (*match)(const uint8_t *, size_t),
			      int ms)
{
	uint64_t end = monotonic_ns() + (uint64_t)ms * 1000000;

	while (monotonic_ns() < end) {
		ssize_t n = g->b->ops->recv(g->b, g->frame, sizeof(g->frame));
		if (n >= 0) {
			g->len = (size_t)n;
			if (match(g->frame, g->len))
				return true;
			continue;
		}
		event_loop_run_once(&g->loop, 10);
	}
	return false;
}

/* Turns of the loop for ms, the guest reading nothing. */
static inline void guest_idle(struct user_guest *g, int ms)
{
	uint64_t end = monotonic_ns() + (uint64_t)ms * 1000000;

	while (monotonic_ns() < end)
		event_loop_run_once(&g->loop, 5);
}

static inline bool is_arp_reply(const uint8_t *f, size_t len)
{
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2;
}

static inline bool is_ipv4(const uint8_t *f, size_t len, uint8_t proto)
{
	return len >= 34 + 8 && get16(f + 12) == 0x0800 && f[23] == proto;
}

static inline bool is_dhcp_offer(const uint8_t *f, size_t len)
{
	return is_ipv4(f, len, 17) && len >= 42 + 244 && get16(f + 36) == 68 && f[42] == 2;
}

static inline bool is_syn_ack(const uint8_t *f, size_t len)
{
	return is_ipv4(f, len, 6) && len >= 54 && (f[47] & 0x12) == 0x12;
}

static inline bool is_udp(const uint8_t *f, size_t len)
{
	return is_ipv4(f, len, 17);
}

static inline bool is_syn(const uint8_t *f, size_t len)
{
	return is_ipv4(f, len, 6) && len >= 54 && (f[47] & 0x12) == 0x02;
}

/* The user-mode interface with these published ports, as the VMM builds it. */
static inline int guest_open(struct user_guest *g, const struct vm_port_fwd *fwds, unsigned int n)
{
	static struct vm_config cfg;
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_nets = 1;
	cfg.nets[0] = (struct vm_net){ .backend = VM_NET_USER, .fd = -1 };
	memcpy(cfg.nets[0].mac, guest_mac, 6);
	if (n > 0)
		memcpy(cfg.port_fwds, fwds, n * sizeof(*fwds));
	cfg.nr_port_fwds = n;
	if ((ret = event_loop_init(&g->loop)) < 0)
		return ret;
	return net_user_open(&cfg, 0, &g->loop, &g->b);
}

static inline void guest_close(struct user_guest *g)
{
	g->b->ops->destroy(g->b);
	event_loop_destroy(&g->loop);
}

#endif
