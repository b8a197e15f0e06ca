/* DHCP messages as they travel (RFC 2131, 2132, 4039): the client's DISCOVER
 * and REQUEST built as whole IPv4/UDP packets for a packet socket, and the
 * server's OFFER, ACK or NAK checked and read out of one. Pure: no system
 * calls, so the unit tests check every bound.
 *
 * The server is a peer the guest need not trust: a reply is read only
 * within the bytes received, every option's length is checked against its
 * area and its kind, and a reply that breaks any rule (a truncated header
 * or option, no end option, a known option of the wrong length, a wrong
 * transaction id or hardware address) is ignored whole. */
#ifndef KRUN_INIT_DHCP_PACKET_H
#define KRUN_INIT_DHCP_PACKET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

/* Message types (option 53). */
enum {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
};

#define DHCP_MAC_LEN 6
/* resolv.conf's own limit (glibc's and musl's MAXNS) */
#define DHCP_MAX_DNS 3
/* a domain name's longest spelling */
#define DHCP_DOMAIN_MAX 253
/* The largest packet the client asks for (option 57) and receives: an
 * Ethernet MTU, which every DHCP server's reply fits. */
#define DHCP_PACKET_MAX 1500

/* What a reply says; only the fields its options carried are set. */
struct dhcp_reply {
	uint8_t type;	    /* DHCP_OFFER, DHCP_ACK or DHCP_NAK */
	bool rapid_commit;  /* option 80: an ACK to a DISCOVER */
	struct in_addr addr; /* yiaddr: the client's address */
	struct in_addr server_id;
	unsigned int prefix_len; /* from the subnet mask, else the class's */
	bool has_router;
	struct in_addr router; /* the first router (option 3) */
	unsigned int dns_count;
	struct in_addr dns[DHCP_MAX_DNS];
	uint16_t mtu;				/* 0: none given */
	char domain[DHCP_DOMAIN_MAX + 1]; /* option 15; "": none */
};

/* Build a DISCOVER (with rapid commit) or a REQUEST for requested from
 * server, as an IPv4 packet from 0.0.0.0:68 to 255.255.255.255:67 that asks
 * for a broadcast reply. Both return the packet's length, or 0 when size
 * is too small for it. */
size_t dhcp_build_discover(uint8_t *buf, size_t size, uint32_t xid,
			   const uint8_t mac[DHCP_MAC_LEN]);
size_t dhcp_build_request(uint8_t *buf, size_t size, uint32_t xid,
			  const uint8_t mac[DHCP_MAC_LEN], struct in_addr requested,
			  struct in_addr server);

/* Read an IPv4 packet of len bytes as a reply to transaction xid of the
 * client with hardware address mac. 0 with reply filled, or -1 when the
 * packet is not such a reply or breaks a rule (reply is then undefined).
 * An OFFER or ACK carries a usable unicast address and a NAK none; an OFFER
 * names its server. Option overload (52) is followed into the file and
 * sname fields. */
int dhcp_parse_reply(const uint8_t *pkt, size_t len, uint32_t xid,
		     const uint8_t mac[DHCP_MAC_LEN], struct dhcp_reply *reply);

#endif
