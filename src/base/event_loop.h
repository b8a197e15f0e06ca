/* The VMM's one event loop (epoll), run on the thread that called
 * krun_start_enter: device notifications (ioeventfds), console input and the
 * stop request all arrive here. Handlers run on this thread only. */
#ifndef KRUN_BASE_EVENT_LOOP_H
#define KRUN_BASE_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* Enough for the most a VM uses: the stop and signal fds, each share's 3
 * queues (8 shares), per stdio console set (the implicit one and 4 more)
 * 10 queues, 2 inputs and 3 outputs, the shutdown port's 4 queues and
 * input, each network interface's 2 queues and backend (8 interfaces), the
 * one user-mode interface's stack (all its sockets behind one epoll fd),
 * the vsock device's 3 queues, wake-up and host sockets (behind one epoll
 * fd), and virtio-rng's queue and timer: 2 + 24 + 5 * 15 + 5 + 24 + 1 + 5 +
 * 2 = 138. */
#define EVENT_LOOP_MAX_HANDLERS 138

typedef void (*event_handler_fn)(void *opaque, uint32_t events);

struct event_handler {
	int fd;
	event_handler_fn fn;
	void *opaque;
};

struct event_loop {
	int epoll_fd;
	bool stop;
	unsigned int nr_handlers;
	struct event_handler handlers[EVENT_LOOP_MAX_HANDLERS];
};

int event_loop_init(struct event_loop *loop);
/* Call fn(opaque, events) whenever fd has any of events (EPOLLIN, ...). */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn,
		   void *opaque);
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
int event_loop_remove(struct event_loop *loop, int fd);
/* Wait up to timeout_ms (-1: forever) for events and dispatch them: how many
 * arrived, 0 on timeout or a signal, -errno if epoll itself fails. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);
/* Dispatch until a handler sets loop->stop; -errno if epoll itself fails. */
int event_loop_run(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);

#endif
