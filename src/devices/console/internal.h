/* The console's own view of itself, shared by its files: console.c (the
 * transport's calls, setup and teardown), control.c (the multiport control
 * queue), receive.c (input into the guest's receive buffers) and transmit.c
 * (the guest's output to the host). Nothing outside devices/console/
 * includes this. Every function here is called with the console's lock
 * held (console.h says by which threads), but the event-loop handlers,
 * which take it. */
#ifndef KRUN_DEVICES_CONSOLE_INTERNAL_H
#define KRUN_DEVICES_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "devices/console/console.h"

static inline unsigned int console_rx_queue_of(unsigned int port)
{
	return port == 0 ? CONSOLE_RX_QUEUE : 2 * port + 2;
}

static inline unsigned int console_tx_queue_of(unsigned int port)
{
	return console_rx_queue_of(port) + 1;
}

/* Port 0's terminal size, 0 x 0 without a terminal. */
struct winsize console_terminal_size(const struct console *c);

/* control.c */
/* Send what the ports owe, as far as the guest's control buffers go; the
 * rest waits for its next buffers. */
void console_flush_control(struct console *c);
/* Take the guest's control messages (a kick on the control transmit queue). */
void console_receive_control(struct console *c);
/* The port's input ended; a named port's host side closes with it. */
void console_input_ended(struct console *c, struct console_port *p);

/* receive.c */
/* Start (or go on) moving the port's input into the guest, as far as the
 * guest has room and the port's input has bytes. */
void console_start_input(struct console *c, struct console_port *p);
/* The event loop's handler of a port's input (the port is opaque). */
void console_on_input(void *opaque, uint32_t events);

/* transmit.c */
/* Move the port's output along (see transmit.c). Returns the bytes taken
 * from the guest (or discarded, where the output ended). */
uint64_t console_transmit(struct console *c, unsigned int port, bool all);
/* The event loop's handler of room on a port's output (the port is opaque). */
void console_on_output_room(void *opaque, uint32_t events);

#endif
