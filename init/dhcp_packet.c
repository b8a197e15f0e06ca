#include "dhcp_packet.h"

#include <string.h>

#define IP_HEADER_LEN 20 /* ours carry no IP options */
#define UDP_HEADER_LEN 8
#define PACKET_TTL 64

/* The BOOTP message (RFC 2131 figure 1), by offset. */
#define BOOTP_OP 0
#define BOOTP_HTYPE 1
#define BOOTP_HLEN 2
#define BOOTP_XID 4
#define BOOTP_FLAGS 10
#define BOOTP_YIADDR 16
#define BOOTP_CHADDR 28
#define BOOTP_SNAME 44
#define BOOTP_SNAME_LEN 64
#define BOOTP_FILE 108
#define BOOTP_FILE_LEN 128
#define BOOTP_COOKIE 236
#define BOOTP_OPTIONS 240
/* The shortest message relays and old servers accept (RFC 1542). */
#define BOOTP_MIN_LEN 300

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define HTYPE_ETHER 1
#define FLAG_BROADCAST 0x8000
#define DHCP_COOKIE 0x63825363

enum {
	OPT_PAD = 0,
	OPT_SUBNET_MASK = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_DOMAIN_NAME = 15,
	OPT_MTU = 26,
	OPT_REQUESTED_IP = 50,
	OPT_OVERLOAD = 52,
	OPT_MESSAGE_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_PARAMETER_LIST = 55,
	OPT_MAX_MESSAGE_SIZE = 57,
	OPT_RAPID_COMMIT = 80,
	OPT_END = 255,
};

/* Overload (option 52): which fixed fields hold options too. */
#define OVERLOAD_FILE 1
#define OVERLOAD_SNAME 2

/* The smallest MTU IPv4 allows (RFC 2132 section 5.1). */
#define MTU_MIN 68

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The Internet checksum's running sum of len bytes as big-endian words. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Wrap the BOOTP message already at buf + IP_HEADER_LEN + UDP_HEADER_LEN,
 * msg_len bytes, into the broadcast from 0.0.0.0:68 to 255.255.255.255:67
 * that a client without an address sends. */
static size_t wrap_ipv4_udp(uint8_t *buf, size_t msg_len)
{
	uint8_t *ip = buf, *udp = buf + IP_HEADER_LEN;
	size_t udp_len = UDP_HEADER_LEN + msg_len, total = IP_HEADER_LEN + udp_len;

	memset(ip, 0, IP_HEADER_LEN);
	ip[0] = 0x45; /* version 4, 5 words */
	put16(ip + 2, total);
	ip[8] = PACKET_TTL;
	ip[9] = IPPROTO_UDP;
	put32(ip + 16, INADDR_BROADCAST); /* source stays 0.0.0.0 */
	put16(ip + 10, csum_finish(csum_add(0, ip, IP_HEADER_LEN)));

	put16(udp, DHCP_CLIENT_PORT);
	put16(udp + 2, DHCP_SERVER_PORT);
	put16(udp + 4, udp_len);
	put16(udp + 6, 0);
	/* the pseudo-header: both addresses (all of the second's bits set),
	 * the protocol and the UDP length */
	uint32_t sum = 0xffff + 0xffff + IPPROTO_UDP + udp_len;
	uint16_t csum = csum_finish(csum_add(sum, udp, udp_len));
	put16(udp + 6, csum ? csum : 0xffff); /* 0 would mean "none" */
	return total;
}

/* The client's message with options (ending before OPT_END), padded to the
 * BOOTP minimum, in its packet. */
static size_t build_message(uint8_t *buf, size_t size, uint32_t xid,
			    const uint8_t mac[DHCP_MAC_LEN], const uint8_t *options,
			    size_t options_len)
{
	size_t msg_len = BOOTP_OPTIONS + options_len + 1;
	if (msg_len < BOOTP_MIN_LEN)
		msg_len = BOOTP_MIN_LEN;
	if (size < IP_HEADER_LEN + UDP_HEADER_LEN + msg_len)
		return 0;

	uint8_t *msg = buf + IP_HEADER_LEN + UDP_HEADER_LEN;
	memset(msg, 0, msg_len);
	msg[BOOTP_OP] = BOOTREQUEST;
	msg[BOOTP_HTYPE] = HTYPE_ETHER;
	msg[BOOTP_HLEN] = DHCP_MAC_LEN;
	put32(msg + BOOTP_XID, xid);
	/* the client cannot receive unicast to an address it lacks */
	put16(msg + BOOTP_FLAGS, FLAG_BROADCAST);
	memcpy(msg + BOOTP_CHADDR, mac, DHCP_MAC_LEN);
	put32(msg + BOOTP_COOKIE, DHCP_COOKIE);
	memcpy(msg + BOOTP_OPTIONS, options, options_len);
	msg[BOOTP_OPTIONS + options_len] = OPT_END;
	return wrap_ipv4_udp(buf, msg_len);
}

/* What both messages ask for: the options this client applies, and
 * replies no larger than it receives. */
#define COMMON_OPTIONS \
	OPT_PARAMETER_LIST, 5, OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS, OPT_DOMAIN_NAME, OPT_MTU, \
		OPT_MAX_MESSAGE_SIZE, 2, DHCP_PACKET_MAX >> 8, DHCP_PACKET_MAX & 0xff

size_t dhcp_build_discover(uint8_t *buf, size_t size, uint32_t xid,
			   const uint8_t mac[DHCP_MAC_LEN])
{
	static const uint8_t options[] = {
		OPT_MESSAGE_TYPE, 1, DHCP_DISCOVER, OPT_RAPID_COMMIT, 0, COMMON_OPTIONS,
	};
	return build_message(buf, size, xid, mac, options, sizeof(options));
}

size_t dhcp_build_request(uint8_t *buf, size_t size, uint32_t xid,
			  const uint8_t mac[DHCP_MAC_LEN], struct in_addr requested,
			  struct in_addr server)
{
	uint8_t options[] = {
		OPT_MESSAGE_TYPE, 1, DHCP_REQUEST, OPT_REQUESTED_IP, 4, 0, 0, 0, 0,
		OPT_SERVER_ID, 4, 0, 0, 0, 0, COMMON_OPTIONS,
	};
	memcpy(options + 5, &requested, 4);
	memcpy(options + 11, &server, 4);
	return build_message(buf, size, xid, mac, options, sizeof(options));
}

/* What the options read so far said beyond the reply's fields. */
struct parse_state {
	bool seen[256]; /* the first instance of an option is the one read */
	uint8_t overload;
	bool has_mask;
};

/* The prefix length of a contiguous mask, or -1. */
static int mask_prefix(uint32_t mask)
{
	int prefix = 0;
	while (prefix < 32 && (mask & (0x80000000u >> prefix)))
		prefix++;
	return prefix < 32 && (mask << prefix) ? -1 : prefix;
}

/* A domain name as resolv.conf may carry it: host-name characters only, so
 * that a server cannot add lines of its own. Trailing NULs, which some
 * servers add, are dropped. */
static int take_domain(char *domain, const uint8_t *data, size_t len)
{
	while (len && data[len - 1] == '\0')
		len--;
	if (len == 0 || len > DHCP_DOMAIN_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return -1;
	}
	memcpy(domain, data, len);
	domain[len] = '\0';
	return 0;
}

/* One option: 0, or -1 when one this client reads has the wrong shape. */
static int take_option(struct dhcp_reply *r, struct parse_state *st, uint8_t code,
		       const uint8_t *data, uint8_t len)
{
	if (st->seen[code])
		return 0;
	st->seen[code] = true;

	switch (code) {
	case OPT_MESSAGE_TYPE:
		if (len != 1)
			return -1;
		r->type = data[0];
		return 0;
	case OPT_SERVER_ID:
		if (len != 4)
			return -1;
		memcpy(&r->server_id, data, 4);
		return 0;
	case OPT_SUBNET_MASK: {
		int prefix = len == 4 ? mask_prefix(get32(data)) : -1;
		if (prefix <= 0)
			return -1;
		r->prefix_len = prefix;
		st->has_mask = true;
		return 0;
	}
	case OPT_ROUTER:
		if (len == 0 || len % 4)
			return -1;
		memcpy(&r->router, data, 4);
		r->has_router = r->router.s_addr != INADDR_ANY;
		return 0;
	case OPT_DNS:
		if (len == 0 || len % 4)
			return -1;
		for (size_t i = 0; i < len && r->dns_count < DHCP_MAX_DNS; i += 4) {
			memcpy(&r->dns[r->dns_count], data + i, 4);
			if (r->dns[r->dns_count].s_addr != INADDR_ANY)
				r->dns_count++;
		}
		return 0;
	case OPT_DOMAIN_NAME:
		return take_domain(r->domain, data, len);
	case OPT_MTU:
		if (len != 2 || get16(data) < MTU_MIN)
			return -1;
		r->mtu = get16(data);
		return 0;
	case OPT_OVERLOAD:
		if (len != 1 || data[0] < 1 || data[0] > (OVERLOAD_FILE | OVERLOAD_SNAME))
			return -1;
		st->overload = data[0];
		return 0;
	case OPT_RAPID_COMMIT:
		if (len != 0)
			return -1;
		r->rapid_commit = true;
		return 0;
	default:
		return 0; /* not ours to read */
	}
}

/* The options in area, which must close with an end option. */
static int walk_options(const uint8_t *area, size_t size, struct parse_state *st,
			struct dhcp_reply *r)
{
	size_t i = 0;
	while (i < size) {
		uint8_t code = area[i];
		if (code == OPT_END)
			return 0;
		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (size - i < 2 || area[i + 1] > size - i - 2)
			return -1; /* the length or the data runs past the area */
		if (take_option(r, st, code, area + i + 2, area[i + 1]))
			return -1;
		i += 2 + area[i + 1];
	}
	return -1;
}

/* An address a server may hand a client: not 0/8, loopback, multicast,
 * reserved or broadcast. */
static bool usable_unicast(struct in_addr addr)
{
	uint8_t first = ntohl(addr.s_addr) >> 24;
	return first != 0 && first != 127 && first < 224;
}

/* The prefix of the address's class, for a reply without a mask. */
static unsigned int class_prefix(struct in_addr addr)
{
	uint8_t first = ntohl(addr.s_addr) >> 24;
	return first < 128 ? 8 : first < 192 ? 16 : 24;
}

static int parse_message(const uint8_t *msg, size_t len, uint32_t xid,
			 const uint8_t mac[DHCP_MAC_LEN], struct dhcp_reply *r)
{
	struct parse_state st = { 0 };

	if (len < BOOTP_OPTIONS || msg[BOOTP_OP] != BOOTREPLY || msg[BOOTP_HTYPE] != HTYPE_ETHER ||
	    msg[BOOTP_HLEN] != DHCP_MAC_LEN || get32(msg + BOOTP_XID) != xid ||
	    memcmp(msg + BOOTP_CHADDR, mac, DHCP_MAC_LEN) ||
	    get32(msg + BOOTP_COOKIE) != DHCP_COOKIE)
		return -1;
	memset(r, 0, sizeof(*r));
	if (walk_options(msg + BOOTP_OPTIONS, len - BOOTP_OPTIONS, &st, r))
		return -1;
	if ((st.overload & OVERLOAD_FILE) &&
	    walk_options(msg + BOOTP_FILE, BOOTP_FILE_LEN, &st, r))
		return -1;
	if ((st.overload & OVERLOAD_SNAME) &&
	    walk_options(msg + BOOTP_SNAME, BOOTP_SNAME_LEN, &st, r))
		return -1;

	memcpy(&r->addr, msg + BOOTP_YIADDR, 4);
	switch (r->type) {
	case DHCP_NAK:
		return 0;
	case DHCP_OFFER:
		if (!st.seen[OPT_SERVER_ID])
			return -1;
		/* fall through */
	case DHCP_ACK:
		if (!usable_unicast(r->addr))
			return -1;
		if (!st.has_mask)
			r->prefix_len = class_prefix(r->addr);
		return 0;
	default:
		return -1;
	}
}

int dhcp_parse_reply(const uint8_t *pkt, size_t len, uint32_t xid,
		     const uint8_t mac[DHCP_MAC_LEN], struct dhcp_reply *reply)
{
	if (len < IP_HEADER_LEN || pkt[0] >> 4 != 4)
		return -1;
	size_t header_len = (pkt[0] & 0xf) * 4, total = get16(pkt + 2);
	/* a link may pad a short frame: the IP length says where it ends */
	if (header_len < IP_HEADER_LEN || total > len || total < header_len + UDP_HEADER_LEN)
		return -1;
	/* fragments are not reassembled: a reply fits DHCP_PACKET_MAX */
	if ((get16(pkt + 6) & 0x3fff) || pkt[9] != IPPROTO_UDP ||
	    csum_finish(csum_add(0, pkt, header_len)) != 0)
		return -1;

	/* The UDP checksum is not checked: a virtio-net or veth peer hands over
	 * frames whose offloaded checksum is not filled in yet, which a packet
	 * socket sees as they are. Every field is checked instead. */
	const uint8_t *udp = pkt + header_len;
	size_t udp_len = get16(udp + 4);
	if (udp_len < UDP_HEADER_LEN || udp_len > total - header_len ||
	    get16(udp) != DHCP_SERVER_PORT || get16(udp + 2) != DHCP_CLIENT_PORT)
		return -1;
	return parse_message(udp + UDP_HEADER_LEN, udp_len - UDP_HEADER_LEN, xid, mac, reply);
}
