/* TSI, the VMM's side (docs/tsi-design.md b.3): the vsock endpoint at
 * TSI_PORT_V1 through which the guest kernel hands the VMM its inet (and,
 * with VM_TSI_HIJACK_UNIX, unix) sockets. Each stream starts with a
 * request (tsi_wire.h), parsed by tsi_request_parse (tsi_request.c, the
 * fuzzers' target), served by the endpoint (tsi.c): CONNECT and UNIX
 * become non-blocking host sockets whose reply, once connected, is the
 * stream's prefix; LISTEN publishes the guest's listener on a mapped host
 * port and ACCEPT claims a connection it took (tsi_listen.c); DGRAM makes
 * a UDP socket, the mapped port's or an ephemeral one, whose datagrams go
 * both ways in frames (tsi_dgram.c). Threads and locks: endpoint.h's. */
#ifndef KRUN_DEVICES_VSOCK_TSI_H
#define KRUN_DEVICES_VSOCK_TSI_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "devices/vsock/endpoint.h"
#include "devices/vsock/tsi_wire.h"

/* A request, checked: where it leads. */
struct tsi_parsed {
	uint16_t op, flags;
	uint32_t arg;
	/* a positive errno the reply gives at once, for a well-formed request
	 * the VMM cannot serve (a link-local IPv6 destination: ENETUNREACH) */
	int error;
	/* CONNECT, LISTEN, DGRAM: the address as a sockaddr (a v4-mapped IPv6
	 * one as IPv4), addr_len 0 for none */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char path[TSI_UNIX_PATH_MAX + 1]; /* UNIX: NUL-terminated */
};

/* The first len bytes of a stream: 0 when more are needed, -EPROTO for a
 * malformed request (an unknown op, flags, family, nonzero padding, a bad
 * path length or a NUL in it), else the request's length with *out. */
int tsi_request_parse(const uint8_t *bytes, uint32_t len, struct tsi_parsed *out);
/* A datagram frame's header from the guest (sizeof(struct tsi_dgram)
 * bytes): its payload's length, the destination in out (addr, addr_len,
 * error as a request's: a link-local one ENETUNREACH), or -EPROTO for a
 * length past TSI_DGRAM_MAX or an address that is none or malformed. */
int tsi_frame_parse(const uint8_t *bytes, struct tsi_parsed *out);
/* A socket's address on the wire: inet ones as they are, any other (unix)
 * as none. */
void tsi_wire_addr(const struct sockaddr_storage *ss, struct tsi_addr *out);

/* What TSI served, in the end-of-VM log; tests read them. */
struct tsi_counters {
	_Atomic uint64_t connects;   /* CONNECT and UNIX requests taken */
	_Atomic uint64_t connected;  /* replied with success */
	_Atomic uint64_t failed;     /* replied with an error (refused, unreachable...) */
	_Atomic uint64_t refused;    /* by the policy (EACCES) or out of the root share */
	_Atomic uint64_t unsupported; /* LISTEN, ACCEPT, DGRAM, or UNIX without its flag */
	_Atomic uint64_t malformed;  /* reset (also bytes on a LISTEN stream) */
	_Atomic uint64_t published;  /* LISTEN requests published on their mapped host port */
	_Atomic uint64_t unpublished; /* LISTEN requests for no mapped port, or a taken one */
	_Atomic uint64_t incoming;   /* host connections accepted and held for the guest */
	_Atomic uint64_t accepted;   /* claimed by an ACCEPT */
	_Atomic uint64_t expired;    /* held past TSI_HELD_NS: closed */
	_Atomic uint64_t bad_ids;    /* ACCEPTs of an id nothing holds: reset */
	_Atomic uint64_t dgram_streams; /* DGRAM requests served */
	_Atomic uint64_t dgrams_out;  /* datagrams the guest sent, sent on the host */
	_Atomic uint64_t dgrams_in;   /* datagrams the host received, framed to the guest */
	_Atomic uint64_t dgram_drops; /* the guest's, not sent (EAGAIN, unreachable...) */
	_Atomic uint64_t bad_frames;  /* frames with a bad length or address: reset */
};

/* tsi_dns.c: the host's name servers for the guest's init. At most
 * TSI_DNS_MAX nameserver lines are taken, from the first
 * TSI_RESOLV_CONF_MAX bytes of the file, each an IPv4 or unscoped IPv6
 * address (others skipped); out gets them comma-separated ("" for none).
 * How many. */
#define TSI_DNS_MAX 3
#define TSI_DNS_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define TSI_RESOLV_CONF_MAX 16384
#define TSI_DNS_LIST_MAX (TSI_DNS_MAX * TSI_DNS_ADDR_MAX)
unsigned int tsi_dns_parse(const char *text, size_t len, char *out, size_t size);
unsigned int tsi_dns_host(const char *path, char *out, size_t size);

struct vm_port_fwd;

/* The TSI endpoint for features (VM_TSI_HIJACK_*); with
 * VM_TSI_HIJACK_UNIX, unix paths are resolved beneath root (the root
 * share's directory, opened here, before any sandbox; NULL: none, every
 * UNIX request is refused with EACCES). With VM_TSI_HIJACK_INET, the
 * TCP entries of ports (nr_ports of them, krun_set_port_map's) are bound
 * here, for the guest's listeners to publish. 0 and *out, or -errno
 * (logged; -EADDRINUSE: a mapped host port is taken). */
int vsock_tsi_endpoint_open(uint32_t features, const char *root, const struct vm_port_fwd *ports,
			    unsigned int nr_ports, struct vsock_endpoint **out);
const struct tsi_counters *vsock_tsi_counters(const struct vsock_endpoint *ep);

#endif
