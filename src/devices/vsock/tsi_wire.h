/* TSI's wire protocol, version 1 (docs/tsi-design.md b.2): what the guest
 * kernel (include/uapi/linux/tsi.h in our patch, the same layout) and the
 * VMM say on a vsock stream to TSI_PORT_V1. The guest always connects;
 * its first bytes are a tsi_request (a UNIX request's path after it), the
 * VMM's first a tsi_reply (none after ACCEPT), then raw bytes, or
 * tsi_dgram frames, or tsi_incoming records. Little-endian (ports and
 * flowinfo in network order, as in a sockaddr), no padding: the asserts
 * below hold the layout. Changing it changes the guest's side too. */
#ifndef KRUN_DEVICES_VSOCK_TSI_WIRE_H
#define KRUN_DEVICES_VSOCK_TSI_WIRE_H

#include <stddef.h>
#include <linux/types.h>

/* "TSI" and the version in the low byte: a future version is another
 * port, which an older VMM resets. */
#define TSI_PORT_V1 0x54534901u

enum tsi_op {
	TSI_OP_CONNECT = 1, /* a stream to addr: reply, then raw bytes */
	TSI_OP_LISTEN = 2,  /* publish the guest's listener on addr: reply, then records */
	TSI_OP_ACCEPT = 3,  /* claim the held host connection arg: raw bytes, no reply */
	TSI_OP_DGRAM = 4,   /* a UDP socket bound like addr: reply, then frames */
	TSI_OP_UNIX = 5,    /* a unix stream to the path after the request: reply, raw */
};

#define TSI_FLAG_V6ONLY (1u << 0) /* LISTEN, DGRAM: the guest's socket is V6ONLY */
#define TSI_UNIX_PATH_MAX 107u	  /* sun_path less its NUL */
#define TSI_DGRAM_MAX 65527u	  /* a UDP datagram's payload over IPv4 or IPv6 */

struct tsi_addr {
	__le16 family; /* 0 (none: all zero), AF_INET 2, AF_INET6 10 */
	__be16 port;
	__be32 flowinfo;  /* IPv6; 0 otherwise */
	__u8 addr[16];	  /* IPv4 in the first 4 bytes, the rest 0 */
	__le32 scope_id;  /* IPv6 link-local: refused (ENETUNREACH) unless 0 */
	__le32 zero;
};

struct tsi_request {
	__le16 op;    /* enum tsi_op */
	__le16 flags; /* LISTEN, DGRAM: TSI_FLAG_V6ONLY; others 0 */
	__le32 arg;   /* LISTEN: backlog; ACCEPT: id; UNIX: the path's length, 1..107 */
	struct tsi_addr addr; /* CONNECT: where; LISTEN, DGRAM: the guest's bound address */
};

struct tsi_reply {
	__le32 error; /* 0, or a positive Linux errno */
	__le32 arg;   /* LISTEN, DGRAM: 1 published, 0 not */
	struct tsi_addr local; /* the host socket's getsockname */
	struct tsi_addr peer;  /* CONNECT: the host socket's getpeername */
};

struct tsi_incoming {
	__le32 id; /* a host connection the VMM accepted and holds, for ACCEPT */
	__le32 zero;
	struct tsi_addr peer;
};

struct tsi_dgram {
	__le32 len; /* the payload's, at most TSI_DGRAM_MAX */
	struct tsi_addr addr; /* guest to VMM: the destination; VMM to guest: the source */
};

_Static_assert(sizeof(struct tsi_addr) == 32, "tsi_addr is 32 bytes");
_Static_assert(offsetof(struct tsi_addr, port) == 2 && offsetof(struct tsi_addr, flowinfo) == 4 &&
		       offsetof(struct tsi_addr, addr) == 8 &&
		       offsetof(struct tsi_addr, scope_id) == 24 &&
		       offsetof(struct tsi_addr, zero) == 28,
	       "tsi_addr's layout");
_Static_assert(sizeof(struct tsi_request) == 40, "tsi_request is 40 bytes");
_Static_assert(offsetof(struct tsi_request, flags) == 2 && offsetof(struct tsi_request, arg) == 4 &&
		       offsetof(struct tsi_request, addr) == 8,
	       "tsi_request's layout");
_Static_assert(sizeof(struct tsi_reply) == 72, "tsi_reply is 72 bytes");
_Static_assert(offsetof(struct tsi_reply, arg) == 4 && offsetof(struct tsi_reply, local) == 8 &&
		       offsetof(struct tsi_reply, peer) == 40,
	       "tsi_reply's layout");
_Static_assert(sizeof(struct tsi_incoming) == 40 && offsetof(struct tsi_incoming, peer) == 8,
	       "tsi_incoming's layout");
_Static_assert(sizeof(struct tsi_dgram) == 36 && offsetof(struct tsi_dgram, addr) == 4,
	       "tsi_dgram's layout");

#endif
