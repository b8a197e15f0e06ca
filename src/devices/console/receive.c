/* Input: what the host's fd of a port holds, read straight into the
 * guest's receive buffers while the guest has the port open, and the keys
 * the VMM types itself. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "base/log.h"
#include "devices/console/internal.h"

static bool wants_input(const struct console *c, const struct console_port *p)
{
	return c->active && p->guest_open && !p->input_eof && p->in_fd >= 0;
}

/* What a receive() did. */
enum receive_result {
	RECEIVE_STOPPED = -1, /* no buffer, or the input is over: stay disarmed */
	RECEIVE_WAIT,	      /* nothing to read yet: wait for the input */
	RECEIVE_DONE,	      /* a chain went back, with data or with no room for any */
};

/* A chain's writable buffers go to readv() as they are. */
_Static_assert(CONSOLE_QUEUE_SIZE <= IOV_MAX, "a chain of the rx queue must fit one readv");

/* Move what is ready on the port's input into the guest's next receive
 * buffer. With no buffer to fill, the input waits where it is until the
 * guest offers one (its kick comes to console_queue_notify). */
static enum receive_result receive(struct console *c, struct console_port *p)
{
	struct virtq *q = &c->queues[console_rx_queue_of(p - c->ports)];
	ssize_t len = 0;

	if (!wants_input(c, p) || virtio_pop(&c->vdev, q, c->chain) != 1)
		return RECEIVE_STOPPED;
	const struct iovec *iov = c->chain->bufs + c->chain->nr_readable;
	unsigned int n = c->chain->nr_bufs - c->chain->nr_readable;
	if (n == 0) {
		/* A chain with no room goes back empty; the input stays for the next. */
		virtq_push(q, c->chain->head, 0);
		virtio_signal_used(&c->vdev, q);
		return RECEIVE_DONE;
	}
	len = readv(p->in_fd, iov, n);
	if (len <= 0) {
		/* No data: keep the buffer. An empty one handed back would make
		 * the guest's driver drop input it has not read yet. */
		virtq_unpop(q);
		if (len < 0 && (errno == EAGAIN || errno == EINTR))
			return RECEIVE_WAIT;
		if (len < 0) /* a terminal hung up (EIO), say: that input is over */
			LOG_WRN("console: input lost: %s", strerror(errno));
		console_input_ended(c, p);
		return RECEIVE_STOPPED;
	}
	virtq_push(q, c->chain->head, len);
	virtio_signal_used(&c->vdev, q);
	p->counters.bytes_in += len;
	return RECEIVE_DONE;
}

/* What the VMM typed on the port goes first, in a buffer of its own. */
static void send_typed(struct console *c, struct console_port *p)
{
	struct virtq *q = &c->queues[console_rx_queue_of(p - c->ports)];

	if (p->nr_typed == 0 || !c->active || !p->guest_open ||
	    virtio_pop(&c->vdev, q, c->chain) != 1)
		return;
	uint32_t len = virtq_chain_fill(c->chain, p->typed, p->nr_typed);
	memmove(p->typed, p->typed + len, p->nr_typed - len);
	p->nr_typed -= len;
	virtq_push(q, c->chain->head, len);
	virtio_signal_used(&c->vdev, q);
}

/* Input is watched one event at a time (EPOLLONESHOT): each event disarms the
 * watch, and only a port that can take more input arms it again. Masking
 * EPOLLIN instead would not do, as epoll always reports a hang-up and an
 * error: a closed input would keep the loop spinning. An input epoll cannot
 * watch (a regular file) is always ready: read it while the guest has room. */
void console_start_input(struct console *c, struct console_port *p)
{
	send_typed(c, p);
	if (p->input_unpollable) {
		/* Until the ring is empty, so that the driver is asked to kick
		 * at its next buffer (EVENT_IDX): stopping short would stall. */
		while (receive(c, p) == RECEIVE_DONE)
			;
	} else if (p->input_watched && wants_input(c, p)) {
		event_loop_modify(c->loop, p->in_fd, EPOLLIN | EPOLLONESHOT);
	}
}

void console_on_input(void *opaque, uint32_t events)
{
	struct console_port *p = opaque;
	struct console *c = p->console;

	(void)events;
	pthread_mutex_lock(&c->lock);
	if (receive(c, p) != RECEIVE_STOPPED)
		console_start_input(c, p);
	pthread_mutex_unlock(&c->lock);
}

void console_interrupt(struct console *c)
{
	struct console_port *p = &c->ports[0];

	pthread_mutex_lock(&c->lock);
	if (p->nr_typed < sizeof(p->typed))
		p->typed[p->nr_typed++] = 0x03; /* ^C: VINTR in the guest's termios */
	send_typed(c, p);
	pthread_mutex_unlock(&c->lock);
}
