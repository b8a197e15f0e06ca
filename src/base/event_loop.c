#include "base/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

int event_loop_init(struct event_loop *loop)
{
	*loop = (struct event_loop){ .epoll_fd = epoll_create1(EPOLL_CLOEXEC) };
	return loop->epoll_fd < 0 ? -errno : 0;
}

/* A removed handler's slot is reused; slots never move, since epoll holds
 * pointers to them. */
static struct event_handler *find_free_slot(struct event_loop *loop)
{
	for (unsigned int i = 0; i < loop->nr_handlers; i++) {
		if (!loop->handlers[i].fn)
			return &loop->handlers[i];
	}
	if (loop->nr_handlers == EVENT_LOOP_MAX_HANDLERS)
		return NULL;
	return &loop->handlers[loop->nr_handlers++];
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn,
		   void *opaque)
{
	struct event_handler *h = find_free_slot(loop);
	if (!h)
		return -ENOSPC;
	struct epoll_event ev = { .events = events, .data.ptr = h };
	*h = (struct event_handler){ .fd = fd, .fn = fn, .opaque = opaque };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		h->fn = NULL;
		return -errno;
	}
	return 0;
}

static struct event_handler *find_handler(struct event_loop *loop, int fd)
{
	for (unsigned int i = 0; i < loop->nr_handlers; i++) {
		if (loop->handlers[i].fn && loop->handlers[i].fd == fd)
			return &loop->handlers[i];
	}
	return NULL;
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	struct event_handler *h = find_handler(loop, fd);
	if (!h)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.ptr = h };
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int event_loop_remove(struct event_loop *loop, int fd)
{
	struct event_handler *h = find_handler(loop, fd);
	if (!h)
		return -ENOENT;
	h->fn = NULL;
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event events[16];
	int n = epoll_wait(loop->epoll_fd, events, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !loop->stop; i++) {
		struct event_handler *h = events[i].data.ptr;
		if (h->fn)
			h->fn(h->opaque, events[i].events);
	}
	return n;
}

int event_loop_run(struct event_loop *loop)
{
	while (!loop->stop) {
		int ret = event_loop_run_once(loop, -1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	loop->epoll_fd = -1;
}
