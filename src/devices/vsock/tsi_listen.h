/* TSI's published ports (docs/tsi-design.md b.3 "Port map"): the host
 * ports of krun_set_port_map's entries, bound when the VM is built. A TCP
 * one listens only while the guest's listener on the mapped guest port is
 * published through a LISTEN stream; the host connections it accepts are
 * held, each under a random id told to the guest in a tsi_incoming
 * record, until an ACCEPT stream claims it or it expires. A UDP one is
 * the socket of the guest's DGRAM stream bound to the mapped guest port
 * (tsi_dgram.c).
 * Event loop thread, under the device's lock (endpoint.h), except
 * tsi_listeners_open and _close (the builder's thread, before and after). */
#ifndef KRUN_DEVICES_VSOCK_TSI_LISTEN_H
#define KRUN_DEVICES_VSOCK_TSI_LISTEN_H

#include "config/vm_config.h"
#include "devices/vsock/tsi.h"

/* Held host connections: per listener at most min(the guest's backlog,
 * TSI_HELD_PER_LISTENER), TSI_MAX_HELD in all, each TSI_HELD_NS at most;
 * past either bound the listener is not watched and the host kernel's
 * backlog waits. A listen()'s backlog on the host: the guest's, at most
 * TSI_MAX_BACKLOG. */
#define TSI_HELD_PER_LISTENER 16u
#define TSI_MAX_HELD 64u
#define TSI_HELD_NS (10ull * 1000000000ull)
#define TSI_MAX_BACKLOG 128u

struct vsock_conn;
struct tsi_listeners;

/* One mapped host port. */
struct tsi_port {
	struct tsi_listeners *owner;
	struct vm_port_fwd fwd;
	int fd;			   /* bound from the start; TCP: listening while published */
	struct vsock_conn *stream; /* the guest's LISTEN or DGRAM stream using it, or NULL */
	unsigned int held, max_held;
};

struct tsi_held {
	struct tsi_port *port; /* NULL: a free slot */
	uint32_t id;
	int fd;
	uint64_t deadline;
};

struct tsi_listeners {
	const struct vsock_endpoint *ep;
	struct tsi_counters *counters;
	unsigned int nr_ports;
	struct tsi_port ports[VM_MAX_PORT_FWDS];
	unsigned int nr_held;
	struct tsi_held held[TSI_MAX_HELD];
	uint64_t ids; /* the ids' generator's state, seeded from getrandom */
};

/* Bind every entry of fwds (n of them) for ep: 0, or -errno (logged;
 * -EADDRINUSE when a host port is taken). Nothing listens yet. */
int tsi_listeners_open(struct tsi_listeners *l, const struct vsock_endpoint *ep,
		       struct tsi_counters *counters, const struct vm_port_fwd *fwds,
		       unsigned int n);
void tsi_listeners_close(struct tsi_listeners *l);

/* The mapped port of guest_port for TCP or UDP, or NULL. */
struct tsi_port *tsi_port_find(struct tsi_listeners *l, uint16_t guest_port, bool udp);

/* A LISTEN request p on stream c: 0 and *fd -1 when not published (the
 * guest port unmapped, V6ONLY, or published by another stream already);
 * 0 and *fd, listening (a dup of the host port's, c's side set to
 * receive its connections), when published; -errno when listen failed. */
int tsi_listen(struct tsi_listeners *l, struct vsock_conn *c, const struct tsi_parsed *p,
	       int *fd);
/* ACCEPT of id: the held connection's fd (taken), or -ENOENT for an id
 * nothing holds (never given, claimed or expired). */
int tsi_accept(struct tsi_listeners *l, uint32_t id);

/* The TSI endpoint's (tsi.c), for the tests that move its deadlines. */
struct tsi_listeners *vsock_tsi_listeners(struct vsock_endpoint *ep);

uint64_t tsi_listeners_deadline(const struct tsi_listeners *l);
void tsi_listeners_expire(struct tsi_listeners *l, uint64_t now);

/* tsi_dgram.c: a DGRAM request p on stream c: 1 when published (*fd a dup
 * of the mapped UDP port's socket: G mapped /udp, no other stream on it,
 * the guest's socket not V6ONLY), 0 when not (*fd a new UDP socket bound
 * to an ephemeral port of the guest's family), c's side set to carry
 * frames; -errno when no socket could be made. */
int tsi_dgram_open(struct tsi_listeners *l, struct vsock_conn *c, const struct tsi_parsed *p,
		   int *fd);

#endif
