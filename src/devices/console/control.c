/* The multiport control queues: the control messages each port owes the
 * guest (it exists, it is the console, its name, its host side's state, the
 * terminal's size) and those the guest's driver sends (ready, a port
 * added, a port opened or closed). */
#include <endian.h>
#include <string.h>
#include <linux/virtio_console.h>

#include "base/log.h"
#include "devices/console/internal.h"

/* Control messages a port owes the guest, sent lowest bit first: the order
 * the protocol needs (a port exists before it is named or opened). */
enum {
	CTRL_ADD = 1 << 0,     /* PORT_ADD */
	CTRL_CONSOLE = 1 << 1, /* CONSOLE_PORT: port 0 becomes hvc */
	CTRL_NAME = 1 << 2,    /* PORT_NAME */
	CTRL_OPEN = 1 << 3,    /* PORT_OPEN: the host side's state, as it is when sent */
	CTRL_RESIZE = 1 << 4,  /* RESIZE: the terminal's size, as it is when sent */
};

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
	struct winsize ws = console_terminal_size(c);

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

void console_flush_control(struct console *c)
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
		console_start_input(c, p);
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

void console_receive_control(struct console *c)
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
	console_flush_control(c);
}

void console_input_ended(struct console *c, struct console_port *p)
{
	p->input_eof = true;
	if (p->name[0]) {
		p->ctrl_owed |= CTRL_OPEN;
		console_flush_control(c);
	}
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
		console_flush_control(c);
	}
	pthread_mutex_unlock(&c->lock);
}
