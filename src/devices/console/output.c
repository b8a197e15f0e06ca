#include "devices/console/output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/clock.h"

int console_output_init(struct console_output *o, int fd, struct event_loop *loop,
			event_handler_fn on_room, void *opaque)
{
	int ret, flags;

	*o = (struct console_output){ .fd = -1, .loop = loop };
	if (fd < 0)
		return 0;
	if (!(o->buf = malloc(CONSOLE_OUTPUT_BUFFER)))
		return -ENOMEM;
	if ((o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Disarmed until bytes wait (ONESHOT with no events: a closed reader
	 * reports at most once). Our own duplicate, so that two ports on one
	 * fd (a console and krun-stderr on stderr) are two entries. */
	ret = event_loop_add(loop, o->fd, EPOLLONESHOT, on_room, opaque);
	if (ret == -EPERM)
		return 0; /* a regular file, say: written as it is */
	if (ret < 0)
		goto fail;
	o->watched = true;
	flags = fcntl(o->fd, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK)) {
		if (fcntl(o->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
			ret = -errno;
			goto fail;
		}
		o->made_nonblocking = true;
	}
	return 0;
fail:
	console_output_destroy(o);
	return ret;
}

bool console_output_open(const struct console_output *o)
{
	return o->fd >= 0 && !o->ended;
}

uint32_t console_output_room(const struct console_output *o)
{
	return console_output_open(o) ? CONSOLE_OUTPUT_BUFFER - o->len : 0;
}

void console_output_put(struct console_output *o, const void *data, uint32_t len)
{
	uint32_t end = (o->start + o->len) % CONSOLE_OUTPUT_BUFFER;
	uint32_t first = len < CONSOLE_OUTPUT_BUFFER - end ? len : CONSOLE_OUTPUT_BUFFER - end;

	memcpy(o->buf + end, data, first);
	memcpy(o->buf, (const uint8_t *)data + first, len - first);
	o->len += len;
}

void console_output_watch(struct console_output *o)
{
	if (o->watched && !o->armed &&
	    event_loop_modify(o->loop, o->fd, EPOLLOUT | EPOLLONESHOT) == 0)
		o->armed = true;
}

/* The reader is gone: drop what waits. The fd stays open, and in the loop
 * disarmed, until console_output_destroy: no other thread may change the
 * loop's handlers while it dispatches. */
static void end_output(struct console_output *o)
{
	o->ended = true;
	o->len = 0;
	free(o->buf);
	o->buf = NULL;
}

ssize_t console_output_write(struct console_output *o)
{
	ssize_t total = 0;

	while (console_output_open(o) && o->len > 0) {
		uint32_t first = CONSOLE_OUTPUT_BUFFER - o->start;
		struct iovec iov[2] = {
			{ o->buf + o->start, o->len < first ? o->len : first },
			{ o->buf, o->len > first ? o->len - first : 0 },
		};
		ssize_t n = writev(o->fd, iov, o->len > first ? 2 : 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			console_output_watch(o);
			break;
		}
		if (n <= 0) {
			int err = n < 0 ? errno : EIO; /* no progress at all: as good as an error */
			end_output(o);
			return -err;
		}
		o->start = (o->start + n) % CONSOLE_OUTPUT_BUFFER;
		o->len -= n;
		total += n;
	}
	return total;
}

static int64_t monotonic_ms(void)
{
	return monotonic_ns() / 1000000;
}

bool console_output_wait(const struct console_output *o)
{
	struct pollfd p = { .fd = o->fd, .events = POLLOUT };
	int64_t deadline = monotonic_ms() + CONSOLE_OUTPUT_FLUSH_STALL_MS, left;
	int n;

	do {
		left = deadline - monotonic_ms();
		n = poll(&p, 1, left > 0 ? (int)left : 0);
	} while (n < 0 && errno == EINTR);
	/* an error or a hang-up is for the write that follows to find */
	return n != 0;
}

uint32_t console_output_abandon(struct console_output *o)
{
	uint32_t dropped = o->len;

	if (console_output_open(o))
		end_output(o);
	return dropped;
}

void console_output_restore(struct console_output *o)
{
	int flags;

	if (!o->made_nonblocking)
		return;
	flags = fcntl(o->fd, F_GETFL);
	if (flags >= 0)
		fcntl(o->fd, F_SETFL, flags & ~O_NONBLOCK);
	o->made_nonblocking = false;
}

void console_output_destroy(struct console_output *o)
{
	console_output_restore(o);
	if (o->watched)
		event_loop_remove(o->loop, o->fd);
	if (o->fd >= 0)
		close(o->fd);
	free(o->buf);
	*o = (struct console_output){ .fd = -1, .loop = o->loop };
}
