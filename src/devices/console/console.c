#include "devices/console/console.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "base/log.h"
#include "guest_abi.h"

/* Control messages a port owes the guest, sent lowest bit first: the order
 * the protocol needs (a port exists before it is named or opened). */
enum {
	CTRL_ADD = 1 << 0,     /* PORT_ADD */
	CTRL_CONSOLE = 1 << 1, /* CONSOLE_PORT: port 0 becomes hvc */
	CTRL_NAME = 1 << 2,    /* PORT_NAME */
	CTRL_OPEN = 1 << 3,    /* PORT_OPEN: the host side's state, as it is when sent */
	CTRL_RESIZE = 1 << 4,  /* RESIZE: the terminal's size, as it is when sent */
};

static struct console *console_of(struct virtio_device *dev)
{
	return dev->priv;
}

static unsigned int rx_queue_of(unsigned int port)
{
	return port == 0 ? CONSOLE_RX_QUEUE : 2 * port + 2;
}

static unsigned int tx_queue_of(unsigned int port)
{
	return rx_queue_of(port) + 1;
}

/* Port 0's terminal size, 0 x 0 without a terminal. */
static struct winsize terminal_size(const struct console *c)
{
	struct winsize ws = { 0 };

	if (c->term_fd >= 0)
		ioctl(c->term_fd, TIOCGWINSZ, &ws);
	return ws;
}

static void console_config_read(struct virtio_device *dev, uint32_t offset, void *data,
				uint32_t len)
{
	/* The size is port 0's, read by a driver without multiport (with it,
	 * RESIZE messages carry it); no emergency write. */
	struct console *c = console_of(dev);
	struct winsize ws = terminal_size(c);
	struct virtio_console_config config = {
		.cols = htole16(ws.ws_col),
		.rows = htole16(ws.ws_row),
		.max_nr_ports = htole32(c->nr_ports),
	};

	memcpy(data, (const uint8_t *)&config + offset, len);
}

/* --- control queue --------------------------------------------------------- */

/* The host side of a named port closes when its input has ended: that is
 * how the guest reads end of file. */
static bool host_side_open(const struct console_port *p)
{
	return !(p->name[0] && p->input_eof);
}

static bool send_control(struct console *c, unsigned int port, unsigned int what)
{
	struct virtq *q = &c->queues[CONSOLE_CTRL_RX_QUEUE];
	const struct console_port *p = &c->ports[port];
	struct {
		struct virtio_console_control hdr;
		uint8_t payload[CONSOLE_PORT_NAME_MAX];
	} __attribute__((packed)) msg = { .hdr = { .id = htole32(port), .value = htole16(1) } };
	uint32_t len = sizeof(msg.hdr);
	struct winsize ws = terminal_size(c);

	switch (what) {
	case CTRL_ADD:
		msg.hdr.event = htole16(VIRTIO_CONSOLE_PORT_ADD);
		break;
	case CTRL_CONSOLE:
		msg.hdr.event = htole16(VIRTIO_CONSOLE_CONSOLE_PORT);
		break;
	case CTRL_NAME:
		msg.hdr.event = htole16(VIRTIO_CONSOLE_PORT_NAME);
		len += strlen(p->name); /* no NUL: the length ends it */
		memcpy(msg.payload, p->name, len - sizeof(msg.hdr));
		break;
	case CTRL_OPEN:
		msg.hdr.event = htole16(VIRTIO_CONSOLE_PORT_OPEN);
		msg.hdr.value = htole16(host_side_open(p));
		break;
	case CTRL_RESIZE: {
		/* columns first, as Linux reads it */
		uint16_t size[2] = { htole16(ws.ws_col), htole16(ws.ws_row) };
		msg.hdr.event = htole16(VIRTIO_CONSOLE_RESIZE);
		memcpy(msg.payload, size, sizeof(size));
		len += sizeof(size);
		break;
	}
	}
	if (virtio_pop(&c->vdev, q, c->chain) != 1)
		return false;
	virtq_push(q, c->chain->head, virtq_chain_fill(c->chain, &msg, len));
	return true;
}

/* Send what the ports owe, as far as the guest's control buffers go; the
 * rest waits for its next buffers. */
static void flush_control(struct console *c)
{
	bool pushed = false;

	if (!c->active || !c->multiport)
		return;
	for (unsigned int i = 0; i < c->nr_ports; i++) {
		struct console_port *p = &c->ports[i];
		while (p->ctrl_owed) {
			unsigned int what = p->ctrl_owed & -p->ctrl_owed;
			if (!send_control(c, i, what))
				goto out;
			p->ctrl_owed &= ~what;
			pushed = true;
		}
	}
out:
	if (pushed)
		virtio_signal_used(&c->vdev, &c->queues[CONSOLE_CTRL_RX_QUEUE]);
}

static void start_input(struct console *c, struct console_port *p);

static void bad_control(struct console *c, const char *what, uint32_t id, uint16_t event)
{
	c->bad_control++;
	LOG_RATELIMITED(LOG_WARN, "console: %s (port %u, event %u), ignored", what,
			(unsigned int)id, (unsigned int)event);
}

static void handle_control(struct console *c, const struct virtio_console_control *msg)
{
	uint32_t id = le32toh(msg->id);
	uint16_t event = le16toh(msg->event), value = le16toh(msg->value);
	struct console_port *p = id < c->nr_ports ? &c->ports[id] : NULL;

	if (event == VIRTIO_CONSOLE_DEVICE_READY) {
		if (value != 1) {
			LOG_RATELIMITED(LOG_WARN, "console: the guest's driver failed to set up");
			return;
		}
		for (unsigned int i = 0; i < c->nr_ports; i++)
			c->ports[i].ctrl_owed |= CTRL_ADD;
	} else if (event != VIRTIO_CONSOLE_PORT_READY && event != VIRTIO_CONSOLE_PORT_OPEN) {
		bad_control(c, "control message a driver does not send", id, event);
	} else if (!p) {
		bad_control(c, "control message for a port we do not have", id, event);
	} else if (event == VIRTIO_CONSOLE_PORT_OPEN) {
		p->guest_open = value != 0;
		start_input(c, p);
	} else if (value != 1) {
		LOG_RATELIMITED(LOG_WARN, "console: the guest could not add port %u",
				(unsigned int)id);
	} else {
		/* PORT_READY: port 0 becomes the guest's console, the others get
		 * their names; both learn the host side is open. */
		bool console = id == 0 && !p->name[0];
		p->ctrl_owed |= console ? CTRL_CONSOLE | CTRL_OPEN : CTRL_NAME | CTRL_OPEN;
		if (console && c->term_fd >= 0)
			p->ctrl_owed |= CTRL_RESIZE;
	}
}

static void receive_control(struct console *c)
{
	struct virtq *q = &c->queues[CONSOLE_CTRL_TX_QUEUE];
	bool pushed = false;

	while (virtio_pop(&c->vdev, q, c->chain) == 1) {
		struct virtio_console_control msg;
		uint32_t len = virtq_chain_gather(c->chain, &msg, sizeof(msg));

		/* given back first: handling it may use the chain */
		virtq_push(q, c->chain->head, 0);
		pushed = true;
		if (len < sizeof(msg))
			bad_control(c, "short control message", len, 0);
		else
			handle_control(c, &msg);
	}
	if (pushed)
		virtio_signal_used(&c->vdev, q);
	flush_control(c);
}

/* --- data ------------------------------------------------------------------ */

/* How much one call of transmit takes from the guest at most before it lets
 * the loop serve the rest (a guest writing as fast as the host reads must
 * not keep the loop to itself): it comes back through the output's watch. */
#define TRANSMIT_BATCH CONSOLE_OUTPUT_BUFFER

static const char *port_label(const struct console_port *p)
{
	return p->name[0] ? p->name : "console";
}

/* Write what the port's output holds; a reader that went away is said once. */
static void write_output(struct console_port *p)
{
	ssize_t n = console_output_write(&p->output);

	if (n >= 0) {
		p->counters.bytes_out += n;
		return;
	}
	p->counters.output_errors++;
	LOG_WRN("console: the output of port %s ended (%s): what the guest writes there is "
		"discarded from now on", port_label(p), strerror(-n));
}

/* Copy the readable bytes of c->chain past the first p->tx_taken into the
 * port's output, as far as it has room: whether the whole chain is in. */
static bool take_chain(struct console *c, struct console_port *p)
{
	const struct virtq_chain *chain = c->chain;
	uint64_t skip = p->tx_taken;

	for (unsigned int i = 0; i < chain->nr_readable; i++) {
		const struct iovec *b = &chain->bufs[i];
		uint32_t room = console_output_room(&p->output), left, n;

		if (skip >= b->iov_len) {
			skip -= b->iov_len;
			continue;
		}
		left = b->iov_len - skip;
		n = left < room ? left : room;
		console_output_put(&p->output, (const uint8_t *)b->iov_base + skip, n);
		p->tx_taken += n;
		skip = 0;
		if (n < left)
			return false;
	}
	p->tx_taken = 0;
	return true;
}

/* Take the guest's chains into the port's output while it has room (all of
 * them, to be discarded, where the port has no output); one that does not
 * fit whole goes in partly and stays first in the ring. Returns how many
 * bytes it took (or discarded), and in *more whether it stopped with chains
 * left. */
static uint64_t take_chains(struct console *c, struct console_port *p, bool *more, bool *pushed)
{
	struct virtq *q = &c->queues[tx_queue_of(p - c->ports)];
	bool keep = console_output_open(&p->output);
	uint64_t before, taken = 0;

	*more = true;
	while (!keep || console_output_room(&p->output) > 0) {
		if (!c->active || virtio_pop(&c->vdev, q, c->chain) != 1) {
			*more = false;
			break;
		}
		before = p->output.len;
		bool whole = !keep || take_chain(c, p);
		taken += keep ? p->output.len - before : c->chain->readable_bytes;
		if (!whole) {
			virtq_unpop(q); /* the rest waits for room */
			break;
		}
		virtq_push(q, c->chain->head, 0);
		*pushed = true;
	}
	return taken;
}

/* Move the port's output along: what the buffer holds to the host's fd,
 * then the guest's chains into the buffer and on, until the ring is empty,
 * the fd full (it is then watched for room, and the chains not taken wait
 * in the ring: the guest's backpressure) or a batch done. all: no batch
 * limit, for the final flush. Returns the bytes taken from the guest (or
 * discarded, where the output ended). */
static uint64_t transmit(struct console *c, unsigned int port, bool all)
{
	struct console_port *p = &c->ports[port];
	struct virtq *q = &c->queues[tx_queue_of(port)];
	/* An fd the loop cannot watch gives no way back: no batch for it. */
	bool batch = !all && p->output.watched, more = true, pushed = false;
	uint64_t taken = 0;

	write_output(p);
	while (more && !(batch && taken >= TRANSMIT_BATCH)) {
		if (console_output_open(&p->output) && console_output_room(&p->output) == 0)
			break; /* the fd is full, and watched */
		taken += take_chains(c, p, &more, &pushed);
		write_output(p);
	}
	if (more && batch)
		console_output_watch(&p->output);
	if (pushed)
		virtio_signal_used(&c->vdev, q);
	return taken;
}

static bool wants_input(const struct console *c, const struct console_port *p)
{
	return c->active && p->guest_open && !p->input_eof && p->in_fd >= 0;
}

static void input_ended(struct console *c, struct console_port *p)
{
	p->input_eof = true;
	if (p->name[0]) {
		p->ctrl_owed |= CTRL_OPEN;
		flush_control(c);
	}
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
	struct virtq *q = &c->queues[rx_queue_of(p - c->ports)];
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
		input_ended(c, p);
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
	struct virtq *q = &c->queues[rx_queue_of(p - c->ports)];

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
static void start_input(struct console *c, struct console_port *p)
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

static void on_input(void *opaque, uint32_t events)
{
	struct console_port *p = opaque;
	struct console *c = p->console;

	(void)events;
	pthread_mutex_lock(&c->lock);
	if (receive(c, p) != RECEIVE_STOPPED)
		start_input(c, p);
	pthread_mutex_unlock(&c->lock);
}

/* The output has room again (or is watched to come back after a batch). */
static void on_output_room(void *opaque, uint32_t events)
{
	struct console_port *p = opaque;
	struct console *c = p->console;

	(void)events;
	pthread_mutex_lock(&c->lock);
	p->output.armed = false; /* one event per arming */
	transmit(c, p - c->ports, false);
	pthread_mutex_unlock(&c->lock);
}

/* --- device ops ------------------------------------------------------------ */

static int console_activate(struct virtio_device *dev)
{
	struct console *c = console_of(dev);

	pthread_mutex_lock(&c->lock);
	c->active = true;
	c->multiport = virtio_has_feature(dev, VIRTIO_CONSOLE_F_MULTIPORT);
	/* Without the control queue, port 0 is all there is, open at once. */
	if (!c->multiport)
		c->ports[0].guest_open = true;
	for (unsigned int i = 0; i < (c->multiport ? c->nr_ports : 1); i++) {
		start_input(c, &c->ports[i]);
		transmit(c, i, false);
	}
	if (c->multiport)
		receive_control(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void console_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct console *c = console_of(dev);

	pthread_mutex_lock(&c->lock);
	if (queue == CONSOLE_CTRL_RX_QUEUE) {
		flush_control(c); /* new buffers for what we owe */
	} else if (queue == CONSOLE_CTRL_TX_QUEUE) {
		receive_control(c);
	} else {
		unsigned int port = queue < CONSOLE_CTRL_RX_QUEUE ? 0 : queue / 2 - 1;
		if (queue == tx_queue_of(port))
			transmit(c, port, false);
		else
			start_input(c, &c->ports[port]); /* new receive buffers */
	}
	pthread_mutex_unlock(&c->lock);
}

/* An armed watch may still fire once: its handler then finds the port
 * closed and lets the watch lapse. Output already taken from the guest is
 * still written; a chain taken in part is the old ring's. */
static void console_reset(struct virtio_device *dev)
{
	struct console *c = console_of(dev);

	pthread_mutex_lock(&c->lock);
	c->active = false;
	c->multiport = false;
	for (unsigned int i = 0; i < c->nr_ports; i++) {
		c->ports[i].guest_open = false;
		c->ports[i].ctrl_owed = 0;
		c->ports[i].tx_taken = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

static const struct virtio_device_ops console_ops = {
	.config_read = console_config_read,
	.activate = console_activate,
	.queue_notify = console_queue_notify,
	.reset = console_reset,
};

/* --- setup ----------------------------------------------------------------- */

static bool is_terminal(int fd)
{
	return fd >= 0 && isatty(fd);
}

unsigned int console_stdio_ports(int in, int out, int err, struct console_port_config *console,
				 struct console_port_config named[3], int *term_fd)
{
	static const char *const names[] = { KRUN_PORT_STDIN, KRUN_PORT_STDOUT, KRUN_PORT_STDERR };
	const int fds[] = { in, out, err };
	unsigned int n = 0;

	*term_fd = is_terminal(in) ? in : is_terminal(out) ? out : is_terminal(err) ? err : -1;
	/* The console carries what the guest's kernel and init say:
	 * diagnostics, so to err when out is not a terminal. */
	*console = (struct console_port_config){
		.in_fd = is_terminal(in) ? in : -1,
		.out_fd = is_terminal(out) || err < 0 ? out : err,
	};
	for (unsigned int i = 0; i < 3; i++) {
		if (fds[i] < 0 || is_terminal(fds[i]))
			continue;
		named[n++] = (struct console_port_config){
			.name = names[i],
			.in_fd = i == 0 ? fds[i] : -1,
			.out_fd = i == 0 ? -1 : fds[i],
		};
	}
	return n;
}

static void make_raw(struct console *c, int fd)
{
	struct termios raw;

	if (!is_terminal(fd) || tcgetattr(fd, &c->saved_termios) < 0)
		return;
	c->term_fd_raw = fd;
	c->termios_saved = true;
	raw = c->saved_termios;
	cfmakeraw(&raw);
	tcsetattr(fd, TCSANOW, &raw);
}

/* The port reads its own duplicate of the input, so that two ports (or two
 * consoles) on one fd are two entries in the event loop. What it sets up
 * before an error is console_destroy's to undo. */
static int init_port(struct console *c, unsigned int index, const struct console_port_config *cfg)
{
	struct console_port *p = &c->ports[index];
	size_t name_len = cfg->name ? strlen(cfg->name) : 0;
	int ret;

	if ((index > 0 && cfg->name == NULL) || (cfg->name && name_len == 0) ||
	    name_len > CONSOLE_PORT_NAME_MAX)
		return -EINVAL;
	memcpy(p->name, cfg->name ? cfg->name : "", name_len);
	if ((ret = console_output_init(&p->output, cfg->out_fd, c->loop, on_output_room, p)) < 0)
		return ret;
	if (cfg->in_fd < 0)
		return 0;
	p->in_fd = fcntl(cfg->in_fd, F_DUPFD_CLOEXEC, 0);
	if (p->in_fd < 0)
		return -errno;
	/* Disarmed (see start_input) until the guest opens the port, but for a
	 * hang-up that may already be there: it fires once. */
	ret = event_loop_add(c->loop, p->in_fd, EPOLLONESHOT, on_input, p);
	if (ret == -EPERM)
		p->input_unpollable = true;
	else if (ret < 0)
		return ret;
	else
		p->input_watched = true;
	return 0;
}

int console_init(struct console *c, const struct console_port_config *ports,
		 unsigned int nr_ports, int term_fd, struct event_loop *loop)
{
	int ret;

	if (nr_ports == 0 || nr_ports > CONSOLE_MAX_PORTS)
		return -EINVAL;
	/* A lone console needs no control queue, and without one Linux makes
	 * it a console during the probe: whatever the kernel says from then
	 * on (a panic at boot, say) is seen. With multiport that waits for
	 * the control messages, and a kernel that panics first says nothing. */
	bool multiport = nr_ports > 1 || ports[0].name;
	*c = (struct console){
		.vdev = {
			.ops = &console_ops,
			.priv = c,
			.device_id = VIRTIO_ID_CONSOLE,
			/* SIZE: Linux applies a RESIZE only with it */
			.device_features = (multiport ? 1ull << VIRTIO_CONSOLE_F_MULTIPORT : 0) |
					   (1ull << VIRTIO_CONSOLE_F_SIZE),
			.config_size = sizeof(struct virtio_console_config),
			.queues = c->queues,
			.nr_queues = multiport ? 2 * (nr_ports + 1) : 2,
		},
		.loop = loop,
		.term_fd = term_fd,
		.term_fd_raw = -1,
	};
	pthread_mutex_init(&c->lock, NULL);
	for (unsigned int i = 0; i < CONSOLE_MAX_PORTS; i++)
		c->ports[i] = (struct console_port){ .console = c, .in_fd = -1,
						     .output = { .fd = -1 } };
	for (unsigned int i = 0; i < CONSOLE_NR_QUEUES; i++) {
		if ((ret = virtq_init(&c->queues[i], CONSOLE_QUEUE_SIZE)) < 0)
			return ret;
	}
	if (!(c->chain = virtq_chain_alloc(&c->queues[0])))
		return -ENOMEM;
	for (unsigned int i = 0; i < nr_ports; i++) {
		c->nr_ports++; /* counted first: console_destroy undoes a part */
		if ((ret = init_port(c, i, &ports[i])) < 0)
			return ret;
	}
	/* The guest's tty does the line editing: ours passes every key. */
	if (ports[0].in_fd >= 0 && !ports[0].name)
		make_raw(c, ports[0].in_fd);
	return 0;
}

void console_resized(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->term_fd < 0 || !c->active) {
		/* nothing to tell, or no one to tell yet */
	} else if (!c->multiport) {
		virtio_config_changed(&c->vdev); /* the driver reads the size again */
	} else if (c->ports[0].guest_open) {
		/* before that, port 0's setup sends the size */
		c->ports[0].ctrl_owed |= CTRL_RESIZE;
		flush_control(c);
	}
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

/* The final flush met a reader that takes nothing: what the port holds and
 * what the guest still queued for it are dropped, and said. */
static void drop_stalled_output(struct console *c, unsigned int port)
{
	struct console_port *p = &c->ports[port];
	uint64_t partly_taken = p->tx_taken, dropped = console_output_abandon(&p->output);

	/* The guest's chains are discarded, the one partly in the buffer whole:
	 * its bytes taken count once. */
	p->tx_taken = 0;
	dropped += transmit(c, port, true);
	dropped = dropped > partly_taken ? dropped - partly_taken : 0;
	LOG_WRN("console: the host's reader of port %s took nothing for %u ms when the VM ended: "
		"%llu bytes of the guest's output dropped",
		port_label(p), CONSOLE_OUTPUT_FLUSH_STALL_MS, (unsigned long long)dropped);
}

void console_flush(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	for (unsigned int i = 0; i < c->nr_ports; i++) {
		struct console_output *o = &c->ports[i].output;

		transmit(c, i, true);
		while (console_output_open(o) && o->len > 0) {
			bool room;

			pthread_mutex_unlock(&c->lock);
			room = console_output_wait(o);
			pthread_mutex_lock(&c->lock);
			if (!room) {
				drop_stalled_output(c, i);
				break;
			}
			transmit(c, i, true);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void console_restore(struct console *c)
{
	if (c->termios_saved)
		tcsetattr(c->term_fd_raw, TCSANOW, &c->saved_termios);
	c->termios_saved = false;
	for (unsigned int i = 0; i < c->nr_ports; i++)
		console_output_restore(&c->ports[i].output);
}

void console_destroy(struct console *c)
{
	console_restore(c);
	for (unsigned int i = 0; i < c->nr_ports; i++) {
		struct console_port *p = &c->ports[i];
		if (p->input_watched)
			event_loop_remove(c->loop, p->in_fd);
		if (p->in_fd >= 0)
			close(p->in_fd);
		console_output_destroy(&p->output);
	}
	free(c->chain);
	pthread_mutex_destroy(&c->lock);
}
