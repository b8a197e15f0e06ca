/* The init's DHCP messages (init/dhcp_packet.c) and its KRUN_DHCP setting
 * (init/net.c): the client's packets as a server and the kernel read them,
 * and every way a server's reply can be malformed or not ours, each of which
 * must be ignored whole. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dhcp_packet.h"
#include "net.h"

#define XID 0x1a2b3c4d
static const uint8_t mac[DHCP_MAC_LEN] = { 0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xee };

/* Offsets the tests write at: IP and UDP headers of 20 and 8 bytes, then
 * the BOOTP message. */
#define MSG 28
#define OPTIONS (MSG + 240)

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The one's complement sum, written out here apart from the code under test. */
static uint16_t fold(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? p[i] : p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Where option code lies among the options of the message at msg, or NULL. */
static const uint8_t *find_option(const uint8_t *pkt, size_t len, uint8_t code)
{
	for (size_t i = OPTIONS; i + 1 < len && pkt[i] != 255; i += pkt[i] ? 2 + pkt[i + 1] : 1) {
		if (pkt[i] == code)
			return pkt + i;
	}
	return NULL;
}

static void check_client_packet(const uint8_t *pkt, size_t len, uint8_t type)
{
	CHECK_EQ_INT(len, 20 + 8 + 300); /* padded to the BOOTP minimum */
	CHECK_EQ_INT(pkt[0], 0x45);
	CHECK_EQ_INT(be16(pkt + 2), len);
	CHECK_EQ_INT(pkt[9], 17);
	CHECK(memcmp(pkt + 12, "\0\0\0\0\xff\xff\xff\xff", 8) == 0);
	CHECK_EQ_INT(fold(pkt, 20, 0), 0xffff); /* header checksum */
	/* UDP: ports, length and a checksum over the pseudo-header */
	CHECK_EQ_INT(be16(pkt + 20), 68);
	CHECK_EQ_INT(be16(pkt + 22), 67);
	CHECK_EQ_INT(be16(pkt + 24), len - 20);
	CHECK_EQ_INT(fold(pkt + 20, len - 20, 0xffff + 0xffff + 17 + len - 20), 0xffff);
	CHECK_EQ_INT(pkt[MSG], 1); /* BOOTREQUEST */
	CHECK_EQ_INT(pkt[MSG + 1], 1);
	CHECK_EQ_INT(pkt[MSG + 2], 6);
	CHECK(memcmp(pkt + MSG + 4, "\x1a\x2b\x3c\x4d", 4) == 0);
	CHECK_EQ_INT(be16(pkt + MSG + 10), 0x8000); /* broadcast reply */
	CHECK(memcmp(pkt + MSG + 28, mac, 6) == 0);
	CHECK(memcmp(pkt + MSG + 236, "\x63\x82\x53\x63", 4) == 0);
	const uint8_t *opt = find_option(pkt, len, 53);
	CHECK(opt && opt[1] == 1 && opt[2] == type);
	opt = find_option(pkt, len, 55);
	CHECK(opt && opt[1] == 5 && memcmp(opt + 2, "\x01\x03\x06\x0f\x1a", 5) == 0);
	opt = find_option(pkt, len, 57);
	CHECK(opt && opt[1] == 2 && be16(opt + 2) == DHCP_PACKET_MAX);
}

static void test_build(void)
{
	uint8_t pkt[DHCP_PACKET_MAX];
	size_t len = dhcp_build_discover(pkt, sizeof(pkt), XID, mac);
	check_client_packet(pkt, len, DHCP_DISCOVER);
	const uint8_t *opt = find_option(pkt, len, 80);
	CHECK(opt && opt[1] == 0); /* rapid commit */
	CHECK(find_option(pkt, len, 50) == NULL);

	struct in_addr requested, server;
	inet_pton(AF_INET, "10.0.2.15", &requested);
	inet_pton(AF_INET, "10.0.2.2", &server);
	len = dhcp_build_request(pkt, sizeof(pkt), XID, mac, requested, server);
	check_client_packet(pkt, len, DHCP_REQUEST);
	CHECK(find_option(pkt, len, 80) == NULL);
	opt = find_option(pkt, len, 50);
	CHECK(opt && opt[1] == 4 && memcmp(opt + 2, &requested, 4) == 0);
	opt = find_option(pkt, len, 54);
	CHECK(opt && opt[1] == 4 && memcmp(opt + 2, &server, 4) == 0);

	/* a buffer too small for the packet gets none */
	CHECK_EQ_INT(dhcp_build_discover(pkt, 327, XID, mac), 0);
	CHECK_EQ_INT(dhcp_build_request(pkt, 100, XID, mac, requested, server), 0);
}

/* A server's reply to XID offering 10.0.2.15 with options (opts_len bytes,
 * their end option included by the caller), in its IPv4/UDP packet. */
static size_t reply(uint8_t *pkt, const uint8_t *opts, size_t opts_len)
{
	size_t len = OPTIONS + opts_len;
	memset(pkt, 0, len);
	pkt[0] = 0x45;
	pkt[2] = len >> 8;
	pkt[3] = len;
	pkt[8] = 64;
	pkt[9] = 17;
	memcpy(pkt + 12, "\x0a\x00\x02\x02\xff\xff\xff\xff", 8);
	uint16_t csum = ~fold(pkt, 20, 0);
	pkt[10] = csum >> 8;
	pkt[11] = csum;
	pkt[21] = 67;
	pkt[23] = 68;
	pkt[24] = (len - 20) >> 8;
	pkt[25] = len - 20;
	pkt[MSG] = 2; /* BOOTREPLY */
	pkt[MSG + 1] = 1;
	pkt[MSG + 2] = 6;
	memcpy(pkt + MSG + 4, "\x1a\x2b\x3c\x4d", 4);
	memcpy(pkt + MSG + 16, "\x0a\x00\x02\x0f", 4);
	memcpy(pkt + MSG + 28, mac, 6);
	memcpy(pkt + MSG + 236, "\x63\x82\x53\x63", 4);
	memcpy(pkt + OPTIONS, opts, opts_len);
	return len;
}

#define REPLY(pkt, ...) reply(pkt, (const uint8_t[]){ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }))

/* Parsed from a copy of exactly len bytes, so that the sanitizers' build
 * sees any read past what arrived. */
static int parse(const uint8_t *pkt, size_t len, struct dhcp_reply *r)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, pkt, len);
	int ret = dhcp_parse_reply(copy, len, XID, mac, r);
	free(copy);
	return ret;
}

static bool addr_is(struct in_addr a, const char *text)
{
	char s[INET_ADDRSTRLEN];
	return strcmp(inet_ntop(AF_INET, &a, s, sizeof(s)), text) == 0;
}

#define ACK 53, 1, 5
#define OFFER 53, 1, 2
#define SERVER 54, 4, 10, 0, 2, 2

static void test_parse_lease(void)
{
	uint8_t pkt[DHCP_PACKET_MAX];
	struct dhcp_reply r;
	size_t len = REPLY(pkt, ACK, 80, 0, SERVER, 1, 4, 255, 255, 255, 0, 3, 8, 10, 0, 2, 2,
			   10, 0, 2, 3, 6, 16, 1, 1, 1, 1, 8, 8, 8, 8, 9, 9, 9, 9, 4, 4, 4, 4,
			   26, 2, 0x05, 0xdc, 15, 12, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
			   'c', 'o', 'm', 0, 99, 3, 1, 2, 3, 255);
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK_EQ_INT(r.type, DHCP_ACK);
	CHECK(r.rapid_commit);
	CHECK(addr_is(r.addr, "10.0.2.15"));
	CHECK(addr_is(r.server_id, "10.0.2.2"));
	CHECK_EQ_INT(r.prefix_len, 24);
	CHECK(r.has_router && addr_is(r.router, "10.0.2.2")); /* the first router */
	CHECK_EQ_INT(r.dns_count, 3);			       /* resolv.conf takes three */
	CHECK(addr_is(r.dns[0], "1.1.1.1") && addr_is(r.dns[2], "9.9.9.9"));
	CHECK_EQ_INT(r.mtu, 1500);
	CHECK(strcmp(r.domain, "example.com") == 0); /* its trailing NUL dropped */

	/* link padding past the IP length is not read */
	memset(pkt + len, 0xee, 40);
	CHECK_EQ_INT(parse(pkt, len + 40, &r), 0);

	/* an OFFER; no mask: the class's prefix; pads before the end */
	len = REPLY(pkt, OFFER, SERVER, 0, 0, 255);
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK_EQ_INT(r.type, DHCP_OFFER);
	CHECK(!r.rapid_commit && !r.has_router && r.dns_count == 0 && r.mtu == 0);
	CHECK_EQ_INT(r.prefix_len, 8);
	CHECK(r.domain[0] == '\0');

	/* a NAK needs no address */
	len = REPLY(pkt, 53, 1, 6, SERVER, 255);
	memset(pkt + MSG + 16, 0, 4);
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK_EQ_INT(r.type, DHCP_NAK);

	/* the first of a repeated option counts; a zero router is none */
	len = REPLY(pkt, ACK, 26, 2, 0x05, 0x00, 26, 2, 0x02, 0x40, 3, 4, 0, 0, 0, 0, 255);
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK_EQ_INT(r.mtu, 1280);
	CHECK(!r.has_router);
}

static void test_parse_overload(void)
{
	uint8_t pkt[DHCP_PACKET_MAX];
	struct dhcp_reply r;
	/* options in the file field, then in sname */
	size_t len = REPLY(pkt, ACK, 52, 1, 3, 255);
	memcpy(pkt + MSG + 108, "\x03\x04\x0a\x00\x02\x01\xff", 7);
	memcpy(pkt + MSG + 44, "\x1a\x02\x23\x28\xff", 5);
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK(r.has_router && addr_is(r.router, "10.0.2.1"));
	CHECK_EQ_INT(r.mtu, 9000);

	/* the fields are read only when the overload option says so */
	pkt[OPTIONS + 5] = 1;
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK(r.has_router && r.mtu == 0);
	pkt[OPTIONS + 5] = 0;
	CHECK_EQ_INT(parse(pkt, len, &r), -1); /* no such overload value */
	pkt[OPTIONS + 5] = 4;
	CHECK_EQ_INT(parse(pkt, len, &r), -1);

	/* an overloaded field without its end option */
	pkt[OPTIONS + 5] = 3;
	memset(pkt + MSG + 44, 0, 64);
	memcpy(pkt + MSG + 44 + 60, "\x1a\x02\x23\x28", 4);
	CHECK_EQ_INT(parse(pkt, len, &r), -1);
	/* an option running past its field */
	memset(pkt + MSG + 44, 0, 64);
	memcpy(pkt + MSG + 44 + 61, "\x06\x08\x01", 3);
	CHECK_EQ_INT(parse(pkt, len, &r), -1);
}

/* Replies of the wrong shape, each ignored whole. */
static void test_parse_malformed(void)
{
	uint8_t pkt[DHCP_PACKET_MAX];
	struct dhcp_reply r;
	size_t len;

#define REJECTED(...) \
	do { \
		len = REPLY(pkt, __VA_ARGS__); \
		CHECK_EQ_INT(parse(pkt, len, &r), -1); \
	} while (0)
	REJECTED(ACK);			      /* no end option */
	REJECTED(ACK, 0, 0, 0);		      /* only pads after it */
	REJECTED(ACK, 3);		      /* a code without its length */
	REJECTED(ACK, 6, 8, 1, 1, 1, 1);      /* a length past the packet */
	REJECTED(ACK, 6, 255, 1, 1, 1, 1, 255); /* far past */
	REJECTED(255);			      /* no message type */
	REJECTED(53, 2, 5, 5, 255);	      /* a type of the wrong length */
	REJECTED(53, 1, 3, 255);	      /* a type no server sends */
	REJECTED(OFFER, 255);		      /* an offer without its server */
	REJECTED(ACK, 54, 3, 1, 2, 3, 255);
	REJECTED(ACK, 1, 4, 255, 0, 255, 0, 255); /* a mask with holes */
	REJECTED(ACK, 1, 4, 0, 0, 0, 0, 255);	  /* a mask of nothing */
	REJECTED(ACK, 1, 3, 255, 255, 255, 255);
	REJECTED(ACK, 3, 3, 10, 0, 2, 255);
	REJECTED(ACK, 3, 0, 255);
	REJECTED(ACK, 6, 5, 1, 1, 1, 1, 1, 255);
	REJECTED(ACK, 26, 2, 0, 67, 255); /* an MTU below IPv4's least */
	REJECTED(ACK, 26, 1, 5, 255);
	REJECTED(ACK, 80, 1, 0, 255);
	/* a domain that would add a line to resolv.conf */
	REJECTED(ACK, 15, 9, 'a', '.', 'b', '\n', 'n', 's', ' ', '1', '2', 255);
	REJECTED(ACK, 15, 1, 0, 255);
#undef REJECTED

	/* not ours: another transaction, another client, a request */
	len = REPLY(pkt, ACK, 255);
	CHECK_EQ_INT(parse(pkt, len, &r), 0);
	CHECK_EQ_INT(dhcp_parse_reply(pkt, len, XID + 1, mac, &r), -1);
	uint8_t other_mac[DHCP_MAC_LEN] = { 0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xef };
	CHECK_EQ_INT(dhcp_parse_reply(pkt, len, XID, other_mac, &r), -1);
	struct {
		size_t offset;
		uint8_t value;
	} breaks[] = {
		{ MSG + 0, 1 },	    /* BOOTREQUEST */
		{ MSG + 1, 6 },	    /* not Ethernet */
		{ MSG + 2, 16 },    /* hardware address length */
		{ MSG + 236, 0 },   /* magic cookie */
		{ MSG + 16, 0 },    /* no address offered */
		{ MSG + 16, 127 },  /* loopback */
		{ MSG + 16, 224 },  /* multicast */
		{ 21, 68 },	    /* from another port */
		{ 23, 67 },	    /* to another port */
		{ 9, 6 },	    /* TCP */
		{ 0, 0x65 },	    /* IPv6's version */
		{ 0, 0x44 },	    /* a header shorter than IPv4's */
		{ 6, 0x20 },	    /* a fragment */
		{ 10, 0 },	    /* header checksum */
	};
	uint8_t good[DHCP_PACKET_MAX];
	memcpy(good, pkt, len);
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		memcpy(pkt, good, len);
		pkt[breaks[i].offset] = breaks[i].value;
		if (breaks[i].offset < 20 && breaks[i].offset != 10) {
			/* a header otherwise valid: its checksum redone */
			pkt[10] = pkt[11] = 0;
			uint16_t csum = ~fold(pkt, 20, 0);
			pkt[10] = csum >> 8;
			pkt[11] = csum;
		}
		CHECK_EQ_INT(parse(pkt, len, &r), -1);
	}

	/* lengths that disagree with what arrived */
	memcpy(pkt, good, len);
	pkt[25]++; /* UDP longer than the IP packet */
	CHECK_EQ_INT(parse(pkt, len, &r), -1);
	memcpy(pkt, good, len);
	pkt[24] = pkt[25] = 0; /* UDP shorter than its header */
	pkt[25] = 7;
	CHECK_EQ_INT(parse(pkt, len, &r), -1);
	memcpy(pkt, good, len);
	pkt[24] = 0; /* UDP too short for the BOOTP message */
	pkt[25] = 8 + 239;
	CHECK_EQ_INT(parse(pkt, len, &r), -1);
	/* every truncation of a good reply */
	for (size_t cut = 0; cut < len; cut++)
		CHECK_EQ_INT(parse(good, cut, &r), -1);
}

static void test_dhcp_setting(void)
{
	char names[NET_DHCP_IFACES_MAX][IFNAMSIZ];
	size_t count;

	CHECK_EQ_INT(net_dhcp_ifaces_parse("1", names, NET_DHCP_IFACES_MAX, &count), 0);
	CHECK(count == 1 && strcmp(names[0], "eth0") == 0); /* libkrun's meaning */
	CHECK_EQ_INT(net_dhcp_ifaces_parse("eth1,enp0s3,x", names, NET_DHCP_IFACES_MAX, &count),
		     0);
	CHECK(count == 3 && strcmp(names[0], "eth1") == 0 && strcmp(names[1], "enp0s3") == 0 &&
	      strcmp(names[2], "x") == 0);
	CHECK_EQ_INT(net_dhcp_ifaces_parse("abcdefghijklmno", names, 1, &count), 0);
	CHECK_EQ_INT(count, 1);

	static const char *const bad[] = {
		"", ",", "eth0,", ",eth0", "eth0,,eth1", "abcdefghijklmnop", "a/b", "a:1",
		"a b", ".", "..", "a,b,c",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(net_dhcp_ifaces_parse(bad[i], names, 2, &count), -1);
}

int main(void)
{
	test_build();
	test_parse_lease();
	test_parse_overload();
	test_parse_malformed();
	test_dhcp_setting();
	return CHECK_DONE();
}
