/* The console as the transport sees it (config space, activate, kicks,
 * reset), its setup from the VMM's ports and its teardown. */
#include "devices/console/console.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "base/log.h"
#include "devices/console/internal.h"
#include "guest_abi.h"

static struct console *console_of(struct virtio_device *dev)
{
	return dev->priv;
}

struct winsize console_terminal_size(const struct console *c)
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
	struct winsize ws = console_terminal_size(c);
	struct virtio_console_config config = {
		.cols = htole16(ws.ws_col),
		.rows = htole16(ws.ws_row),
		.max_nr_ports = htole32(c->nr_ports),
	};

	memcpy(data, (const uint8_t *)&config + offset, len);
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
		console_start_input(c, &c->ports[i]);
		console_transmit(c, i, false);
	}
	if (c->multiport)
		console_receive_control(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void console_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct console *c = console_of(dev);

	pthread_mutex_lock(&c->lock);
	if (queue == CONSOLE_CTRL_RX_QUEUE) {
		console_flush_control(c); /* new buffers for what we owe */
	} else if (queue == CONSOLE_CTRL_TX_QUEUE) {
		console_receive_control(c);
	} else {
		unsigned int port = queue < CONSOLE_CTRL_RX_QUEUE ? 0 : queue / 2 - 1;
		if (queue == console_tx_queue_of(port))
			console_transmit(c, port, false);
		else
			console_start_input(c, &c->ports[port]); /* new receive buffers */
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
	    name_len > CONSOLE_PORT_NAME_MAX) {
		LOG_ERR("console: port %u needs a name of 1 to %d characters", index,
			CONSOLE_PORT_NAME_MAX);
		return -EINVAL;
	}
	memcpy(p->name, cfg->name ? cfg->name : "", name_len);
	if ((ret = console_output_init(&p->output, cfg->out_fd, c->loop, console_on_output_room, p)) < 0) {
		LOG_ERR("console: cannot set up the output of port %u: %s", index, strerror(-ret));
		return ret;
	}
	if (cfg->in_fd < 0)
		return 0;
	p->in_fd = fcntl(cfg->in_fd, F_DUPFD_CLOEXEC, 0);
	if (p->in_fd < 0) {
		ret = -errno;
		LOG_ERR("console: cannot duplicate the input of port %u: %s", index, strerror(-ret));
		return ret;
	}
	/* Disarmed (see console_start_input) until the guest opens the port, but for a
	 * hang-up that may already be there: it fires once. */
	ret = event_loop_add(c->loop, p->in_fd, EPOLLONESHOT, console_on_input, p);
	if (ret == -EPERM) {
		p->input_unpollable = true;
	} else if (ret < 0) {
		LOG_ERR("console: cannot watch the input of port %u: %s", index, strerror(-ret));
		return ret;
	} else {
		p->input_watched = true;
	}
	return 0;
}

int console_init(struct console *c, const struct console_port_config *ports,
		 unsigned int nr_ports, int term_fd, struct event_loop *loop)
{
	int ret;

	if (nr_ports == 0 || nr_ports > CONSOLE_MAX_PORTS) {
		LOG_ERR("console: %u ports asked for, 1 to %d possible", nr_ports, CONSOLE_MAX_PORTS);
		return -EINVAL;
	}
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
		if ((ret = virtq_init(&c->queues[i], CONSOLE_QUEUE_SIZE)) < 0) {
			LOG_ERR("console: cannot set up queue %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	if (!(c->chain = virtq_chain_alloc(&c->queues[0]))) {
		LOG_ERR("console: cannot allocate its descriptor chain: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
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
