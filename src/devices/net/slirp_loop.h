/* libslirp served from the VMM's event loop: the VMM itself as the guest's
 * router (user.c is the interface's backend around it).
 *
 * libslirp is poll-style (slirp_pollfds_fill names the fds it wants,
 * slirp_pollfds_poll takes what they got) and keeps timers through
 * callbacks. Here its sockets, the stack's end of the frame socket and a
 * timerfd for its timers all sit in an epoll set of our own, whose one fd
 * is what the VMM's loop watches (one handler, however many connections).
 * After every call into libslirp the set is brought back in line with what
 * it asked for in its next fill, and the timerfd with its earliest timer
 * (at most a second away: libslirp's TCP timers run inside its poll).
 *
 * Threads: libslirp is not thread-safe. It is made, given its published
 * ports and freed on the thread that builds and ends the VM; everything
 * else (frames either way, its sockets, its timers) runs on the event
 * loop's thread. The guest's vCPUs never call it: their frames arrive
 * through the frame socket. */
#ifndef KRUN_DEVICES_NET_SLIRP_LOOP_H
#define KRUN_DEVICES_NET_SLIRP_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <slirp/libslirp.h>

#include "base/event_loop.h"
#include "devices/net/tcp_guard.h"

/* Frames from the guest taken per turn of the loop, so that a flooding
 * guest cannot hold it. */
#define SLIRP_LOOP_FRAME_BUDGET 64

struct slirp_loop_counters {
	uint64_t to_guest_dropped;  /* the frame socket was full: the guest's buffers */
	uint64_t new_flows_refused; /* the socket bound was reached */
	uint64_t fragments_dropped; /* IPv4 fragments from the guest (slirp_loop.c) */
	uint64_t tcp_malformed;	    /* TCP segments libslirp would drop (tcp_guard.h) */
	uint64_t tcp_held_back;	    /* out-of-order TCP segments over the bound (tcp_guard.h) */
	uint64_t guest_frames;	    /* handed to libslirp */
	unsigned int peak_sockets;
};

struct slirp_loop {
	Slirp *slirp;
	struct event_loop *loop; /* NULL until slirp_loop_watch */
	unsigned int index;	 /* the interface's ethN, for log lines */
	int epoll_fd;		 /* slirp's sockets, frame_fd, timer_fd */
	int timer_fd;
	int frame_fd; /* the stack's end of the frame socket, non-blocking */
	unsigned int max_sockets; /* past it, frames that open a socket are dropped */

	/* Our view of epoll_fd's set, by fd: the events registered (0: not
	 * there) and what the last wait found. */
	struct slirp_fd_state {
		uint32_t registered, ready, wanted;
		bool listed; /* in live already, while a sync lists them */
	} *fds;
	unsigned int fds_cap;
	/* The fds of the last fill, by the index add_poll gave libslirp. */
	int *polled;
	unsigned int nr_polled, polled_cap;
	/* The fds registered now (the previous fill's, de-duplicated). */
	int *live;
	unsigned int nr_live, live_cap;
	/* libslirp's sockets: the last sync's, and those opened since */
	unsigned int nr_sockets;

	struct slirp_timer *timers; /* a list: libslirp keeps one or two */
	struct tcp_guard guard;	    /* every TCP segment both ways, before libslirp */
	struct slirp_loop_counters counters;
	uint8_t *frame;	    /* a frame from the guest, NET_MAX_FRAME + 1 bytes */
};

/* The stack of 10.0.2.0/24 (QEMU's): gateway and host 10.0.2.2, DNS
 * 10.0.2.3, DHCP leasing 10.0.2.15 first, frames to and from the guest over
 * frame_fd (which the stack then owns). 0 or -errno, logged. */
int slirp_loop_init(struct slirp_loop *s, unsigned int index, int frame_fd,
		    unsigned int max_sockets);
/* Serve the stack from loop from now on: 0 or -errno, logged. */
int slirp_loop_watch(struct slirp_loop *s, struct event_loop *loop);
void slirp_loop_destroy(struct slirp_loop *s);

/* The guest address published ports lead to (the first DHCP lease). */
#define SLIRP_GUEST_ADDR "10.0.2.15"

#endif
