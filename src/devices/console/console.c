#include "devices/console/console.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "util/log.h"

static struct console *console_of(struct virtio_device *dev)
{
	return dev->priv;
}

static void console_config_read(struct virtio_device *dev, uint32_t offset, void *data,
				uint32_t len)
{
	/* One port, no size reporting: an all-zero config space. */
	(void)dev;
	(void)offset;
	memset(data, 0, len);
}

/* Blocks until all of buf is written: output is never dropped while the fd
 * takes it, even when it is non-blocking and full. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				poll(&p, 1, -1);
				continue;
			}
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static void console_transmit(struct console *c)
{
	struct virtq *q = &c->queues[CONSOLE_TX_QUEUE];
	bool pushed = false;

	while (virtio_pop(&c->vdev, q, c->chain) == 1) {
		for (unsigned int i = 0; i < c->chain->nr_bufs; i++) {
			const struct virtq_buf *b = &c->chain->bufs[i];
			if (b->writable)
				break;
			int ret = write_all(c->out_fd, b->host, b->len);
			if (ret < 0) {
				c->counters.output_errors++;
				LOG_RATELIMITED(LOG_WARN, "console: output lost: %s", strerror(-ret));
				break;
			}
			c->counters.bytes_out += b->len;
		}
		virtq_push(q, c->chain->head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_signal_used(&c->vdev, q);
}

/* Input is watched one event at a time (EPOLLONESHOT): each event disarms the
 * watch, and only a console that can take more input arms it again. Masking
 * EPOLLIN instead would not do, as epoll always reports a hang-up and an
 * error: a closed input would keep the loop spinning. */
static void arm_input(struct console *c)
{
	if (c->input_watched && !c->input_eof)
		event_loop_modify(c->loop, c->in_fd, EPOLLIN | EPOLLONESHOT);
}

/* Move what is ready on the input into the guest's next receive buffer. With
 * none to fill, the watch stays disarmed until the guest offers one (its kick
 * comes to console_queue_notify), and the input waits where it is. */
static void console_receive(struct console *c)
{
	struct virtq *q = &c->queues[CONSOLE_RX_QUEUE];
	struct iovec iov[16];
	unsigned int n = 0;
	ssize_t len = 0;

	if (!c->active || virtio_pop(&c->vdev, q, c->chain) != 1)
		return;
	for (unsigned int i = 0; i < c->chain->nr_bufs && n < 16; i++) {
		if (c->chain->bufs[i].writable)
			iov[n++] = (struct iovec){ c->chain->bufs[i].host, c->chain->bufs[i].len };
	}
	/* A chain with no room goes back empty and the input stays for the next. */
	if (n)
		len = readv(c->in_fd, iov, n);
	if (n && len <= 0) {
		/* No data: keep the buffer. An empty one handed back would make
		 * the guest's driver drop input it has not read yet
		 * (virtio_console replaces its pending receive buffer at every
		 * interrupt). */
		virtq_unpop(q);
		if (len == 0) {
			c->input_eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			/* A terminal hung up (EIO), say: that input is over. */
			LOG_WRN("console: input lost: %s", strerror(errno));
			c->input_eof = true;
		}
		arm_input(c);
		return;
	}
	virtq_push(q, c->chain->head, len > 0 ? len : 0);
	virtio_signal_used(&c->vdev, q);
	if (len > 0)
		c->counters.bytes_in += len;
	arm_input(c);
}

static void on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	(void)events;
	pthread_mutex_lock(&c->lock);
	console_receive(c);
	pthread_mutex_unlock(&c->lock);
}

static int console_activate(struct virtio_device *dev)
{
	struct console *c = console_of(dev);
	pthread_mutex_lock(&c->lock);
	c->active = true;
	arm_input(c);
	console_transmit(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void console_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct console *c = console_of(dev);
	pthread_mutex_lock(&c->lock);
	if (queue == CONSOLE_TX_QUEUE)
		console_transmit(c);
	else
		arm_input(c); /* new receive buffers: take input again */
	pthread_mutex_unlock(&c->lock);
}

/* An armed watch may still fire once: on_input then finds the console
 * inactive and lets the watch lapse. */
static void console_reset(struct virtio_device *dev)
{
	struct console *c = console_of(dev);
	pthread_mutex_lock(&c->lock);
	c->active = false;
	pthread_mutex_unlock(&c->lock);
}

static const struct virtio_device_ops console_ops = {
	.config_read = console_config_read,
	.activate = console_activate,
	.queue_notify = console_queue_notify,
	.reset = console_reset,
};

static void make_raw(struct console *c)
{
	struct termios raw;
	if (c->in_fd < 0 || !isatty(c->in_fd) || tcgetattr(c->in_fd, &c->saved_termios) < 0)
		return;
	c->termios_saved = true;
	raw = c->saved_termios;
	cfmakeraw(&raw);
	tcsetattr(c->in_fd, TCSANOW, &raw);
}

int console_init(struct console *c, int in_fd, int out_fd, struct event_loop *loop)
{
	int ret;

	*c = (struct console){
		.vdev = {
			.ops = &console_ops,
			.priv = c,
			.device_id = VIRTIO_ID_CONSOLE,
			.config_size = sizeof(struct virtio_console_config),
			.queues = c->queues,
			.nr_queues = CONSOLE_NR_QUEUES,
		},
		.loop = loop,
		.in_fd = in_fd,
		.out_fd = out_fd,
	};
	pthread_mutex_init(&c->lock, NULL);
	for (unsigned int i = 0; i < CONSOLE_NR_QUEUES; i++) {
		if ((ret = virtq_init(&c->queues[i], CONSOLE_QUEUE_SIZE)) < 0)
			return ret;
	}
	if (!(c->chain = virtq_chain_alloc(&c->queues[0])))
		return -ENOMEM;
	if (in_fd >= 0) {
		/* Regular files and /dev/null cannot be polled: no input then.
		 * Disarmed (see arm_input) until the device is active, but for
		 * a hang-up that may already be there: it fires once. */
		ret = event_loop_add(loop, in_fd, EPOLLONESHOT, on_input, c);
		if (ret == 0)
			c->input_watched = true;
		else if (ret != -EPERM)
			return ret;
		make_raw(c);
	}
	return 0;
}

void console_flush(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->active)
		console_transmit(c);
	pthread_mutex_unlock(&c->lock);
}

void console_restore(struct console *c)
{
	if (c->termios_saved)
		tcsetattr(c->in_fd, TCSANOW, &c->saved_termios);
	c->termios_saved = false;
}

void console_destroy(struct console *c)
{
	console_restore(c);
	if (c->input_watched)
		event_loop_remove(c->loop, c->in_fd);
	free(c->chain);
	pthread_mutex_destroy(&c->lock);
}
