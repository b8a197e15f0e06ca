/* Output: the guest's transmit buffers into each port's bounded output
 * (output.h) and on to the host's fd, with the guest's backpressure, and
 * the final flush when the VM ends. */
#include <string.h>
#include <sys/uio.h>

#include "base/log.h"
#include "devices/console/internal.h"

/* How much one call of console_transmit takes from the guest at most before it lets
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
	struct virtq *q = &c->queues[console_tx_queue_of(p - c->ports)];
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
uint64_t console_transmit(struct console *c, unsigned int port, bool all)
{
	struct console_port *p = &c->ports[port];
	struct virtq *q = &c->queues[console_tx_queue_of(port)];
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

/* The output has room again (or is watched to come back after a batch). */
void console_on_output_room(void *opaque, uint32_t events)
{
	struct console_port *p = opaque;
	struct console *c = p->console;

	(void)events;
	pthread_mutex_lock(&c->lock);
	p->output.armed = false; /* one event per arming */
	console_transmit(c, p - c->ports, false);
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
	dropped += console_transmit(c, port, true);
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

		console_transmit(c, i, true);
		while (console_output_open(o) && o->len > 0) {
			bool room;

			pthread_mutex_unlock(&c->lock);
			room = console_output_wait(o);
			pthread_mutex_lock(&c->lock);
			if (!room) {
				drop_stalled_output(c, i);
				break;
			}
			console_transmit(c, i, true);
		}
	}
	pthread_mutex_unlock(&c->lock);
}
