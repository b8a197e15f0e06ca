/* virtio-console, with multiport: port 0 is the console the guest's kernel
 * and init write to (hvc0), or a named port; further ports carry one stream
 * each, named so that the guest's init finds them (krun-stdin, krun-stdout,
 * krun-stderr), as libkrun does for a workload whose stdio is not a
 * terminal. The console kind (stdio.h) gives the console a device of its
 * own (see console_init) and the named ports another. The files:
 * console.c (the transport's calls, setup, teardown), control.c (the
 * multiport control queues), receive.c (input), transmit.c (output, the
 * final flush), output.c (a port's bounded output buffer).
 *
 * Input goes to a port only while the guest has it open (the multiport
 * control messages say when), so input already waiting when the VM starts is
 * never sent into a port the guest's driver would drop it from. When a
 * named port's input ends, the host side closes the port, which the guest
 * reads as end of file. A driver without MULTIPORT gets port 0 alone, open
 * from DRIVER_OK.
 *
 * Input from a terminal is put in raw mode (the guest's tty does the line
 * editing) until console_restore(); the guest learns the terminal's size and
 * its changes (console_resized) through the control queue.
 *
 * Nothing waits on the host: input is read only when epoll says it is there,
 * straight into the guest's receive buffers (no buffer of ours, so a flood
 * waits in the host's pipe while the guest offers none); output goes through
 * a bounded buffer per port (output.h), and past it the guest's transmit
 * buffers wait in its ring until the host reader takes more.
 *
 * Threads: the event loop's thread serves kicks (through the transport),
 * input, room on an output, SIGWINCH and SIGINT, and after the loop ends
 * console_flush and console_restore; vCPU threads reach activate, reset and
 * the config space through the transport. Lock order: the transport's lock,
 * then the console's; nothing waits for the host while holding either. */
#ifndef KRUN_DEVICES_CONSOLE_H
#define KRUN_DEVICES_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "base/event_loop.h"
#include "devices/console/output.h"
#include "virtio/device.h"

#define CONSOLE_MAX_PORTS 4
#define CONSOLE_PORT_NAME_MAX 31
#define CONSOLE_QUEUE_SIZE 256

/* Port 0's queues, the control queues, then two per further port (the
 * multiport layout Linux's driver expects). */
enum {
	CONSOLE_RX_QUEUE,
	CONSOLE_TX_QUEUE,
	CONSOLE_CTRL_RX_QUEUE, /* device to driver */
	CONSOLE_CTRL_TX_QUEUE, /* driver to device */
	CONSOLE_NR_QUEUES = 2 * (CONSOLE_MAX_PORTS + 1),
};

/* One port as the console kind sets it up. */
struct console_port_config {
	const char *name; /* NULL for port 0, the console; else a name for the guest */
	int in_fd;	  /* input, or -1; duplicated, the caller keeps its own */
	int out_fd;	  /* output, or -1 to discard it; duplicated likewise */
};

struct console_port_counters {
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t output_errors;
};

struct console_port {
	struct console *console;
	char name[CONSOLE_PORT_NAME_MAX + 1]; /* "" for port 0 */
	int in_fd;
	bool input_watched;	 /* in_fd is in the event loop */
	bool input_unpollable;	 /* a regular file or the like: always ready */
	bool input_eof;
	bool guest_open;	 /* the guest reads the port now */
	uint8_t typed[8];	 /* keys the VMM types itself (a forwarded ^C) */
	unsigned int nr_typed;
	unsigned int ctrl_owed;	 /* control messages due to the guest (CTRL_* bits) */
	struct console_output output;
	/* Bytes of the first chain in the transmit ring already in output: a
	 * chain larger than the room left goes in by parts. */
	uint64_t tx_taken;
	struct console_port_counters counters;
};

struct console {
	struct virtio_device vdev;
	struct virtq queues[CONSOLE_NR_QUEUES];
	struct virtq_chain *chain;
	struct event_loop *loop;
	unsigned int nr_ports;
	struct console_port ports[CONSOLE_MAX_PORTS];
	bool active;
	bool multiport; /* negotiated */
	int term_fd;	/* the terminal whose size port 0 has, or -1 */
	int term_fd_raw; /* port 0's terminal input, made raw, or -1 */
	bool termios_saved;
	struct termios saved_termios;
	/* Guards everything above (the queues, the ports, their outputs):
	 * the event loop (kicks, input, output room) and vCPU threads
	 * (activate, reset) reach them. */
	pthread_mutex_t lock;
	_Atomic uint64_t bad_control; /* control messages from the guest ignored */
};

/* libkrun's split of stdio fds in, out and err (each may be -1): *console is
 * the guest's console, a device of its own (input only from a terminal; its
 * output to out when that is a terminal, else to err, else to out); named[]
 * gets a port for each fd that is not a terminal, for a second, multiport
 * device. Returns how many named ports; *term_fd is the first terminal
 * among in, out, err, or -1. */
unsigned int console_stdio_ports(int in, int out, int err, struct console_port_config *console,
				 struct console_port_config named[3], int *term_fd);

/* 1 to CONSOLE_MAX_PORTS ports; all but port 0 named. Port 0 without a name
 * is the guest's console (hvc); a lone console port makes a device without
 * multiport. term_fd: a terminal to report the console's size of, or -1;
 * the console's input, when a terminal, is made raw. The loop is where input
 * readiness is watched. */
int console_init(struct console *c, const struct console_port_config *ports,
		 unsigned int nr_ports, int term_fd, struct event_loop *loop);
/* The terminal changed size (SIGWINCH): tell the guest. */
void console_resized(struct console *c);
/* Type ^C on port 0, ahead of its input: the guest's tty turns it into
 * SIGINT for the workload (libkrun forwards the host's SIGINT so when stdin
 * is not a terminal). */
void console_interrupt(struct console *c);
/* Write out whatever the guest queued and has not been written yet: called
 * when the VM stops so nothing the guest wrote is lost. Unlike everything
 * else here, it waits for a slow reader (without the lock), as any writer to
 * a pipe does; a reader that went away ends it, and one that takes nothing
 * for CONSOLE_OUTPUT_FLUSH_STALL_MS loses the rest (a warning says how
 * many bytes). */
void console_flush(struct console *c);
/* Give the terminal its settings back, and the outputs their blocking mode:
 * after console_flush, when the VM is over. */
void console_restore(struct console *c);
void console_destroy(struct console *c);

#endif
