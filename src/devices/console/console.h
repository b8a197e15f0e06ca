/* virtio-console, single port: the guest's hvc0. Its output goes to out_fd,
 * in_fd (if any) feeds its input. When in_fd is a terminal it is put in raw
 * mode (the guest's tty does the line editing) until console_restore(). */
#ifndef KRUN_DEVICES_CONSOLE_H
#define KRUN_DEVICES_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "virtio/device.h"
#include "vmm/event_loop.h"

#define CONSOLE_QUEUE_SIZE 256

enum { CONSOLE_RX_QUEUE, CONSOLE_TX_QUEUE, CONSOLE_NR_QUEUES };

struct console_counters {
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t output_errors;
};

struct console {
	struct virtio_device vdev;
	struct virtq queues[CONSOLE_NR_QUEUES];
	struct virtq_chain *chain;
	struct event_loop *loop;
	int in_fd, out_fd;
	bool input_watched; /* in_fd is in the event loop */
	bool input_eof;
	bool active;
	bool termios_saved;
	struct termios saved_termios;
	/* The event loop (input) and vCPU threads (reset) both reach the queues. */
	pthread_mutex_t lock;
	struct console_counters counters;
};

/* in_fd -1: no input. The loop is where input readiness is watched. */
int console_init(struct console *c, int in_fd, int out_fd, struct event_loop *loop);
/* Write out whatever the guest queued and has not been written yet: called
 * when the VM stops so nothing the guest wrote is lost. */
void console_flush(struct console *c);
/* Give the terminal its settings back. */
void console_restore(struct console *c);
void console_destroy(struct console *c);

#endif
