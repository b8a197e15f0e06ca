/* A console port's output to the host: the bytes the guest wrote that the
 * host's fd has not taken yet, at most CONSOLE_OUTPUT_BUFFER of them.
 *
 * The fd is never waited on by the event loop: it is written non-blocking,
 * and while bytes wait the loop watches it for room (EPOLLOUT, one event per
 * arming, so a full pipe costs nothing and a closed one cannot spin). The
 * console takes no more of the guest's buffers once this one is full: they
 * stay in the guest's ring until the host reader catches up. A write error
 * (EPIPE: the reader went away) ends the output for good: what waits is
 * dropped, and whatever the guest writes from then on is discarded.
 *
 * O_NONBLOCK belongs to the open file description, which the host's other
 * holders share (the shell's terminal, the other end of a pipeline such as
 * crun's, this process's log on stderr): it is set for the VM's run only,
 * and cleared by console_output_restore where it was not set before, when
 * the VM ends (the console kind's release_host) or is torn down. Only a VMM killed by a signal
 * leaves it set. An fd epoll cannot watch (a regular file, /dev/null)
 * never makes a writer wait long and is written as it is.
 *
 * Not locked here: the console's lock guards all of it. */
#ifndef KRUN_DEVICES_CONSOLE_OUTPUT_H
#define KRUN_DEVICES_CONSOLE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/event_loop.h"

/* Per port with an output: the host memory a guest's console output can
 * hold. Past it the guest's transmit buffers wait in its ring. (The fuzz
 * build makes it and the stall below small, tests/fuzz/meson.build, so that
 * short inputs reach them.) */
#ifndef CONSOLE_OUTPUT_BUFFER
#define CONSOLE_OUTPUT_BUFFER (64 * 1024)
#endif
/* How long the final flush waits for room before it drops what is left: a
 * host reader that takes nothing for this long must not keep the VMM
 * (krun_start_enter's caller) from ending. */
#ifndef CONSOLE_OUTPUT_FLUSH_STALL_MS
#define CONSOLE_OUTPUT_FLUSH_STALL_MS 2000
#endif

struct console_output {
	int fd;		       /* our duplicate of the host's fd, or -1: no output */
	bool ended;	       /* a write failed: everything is discarded */
	bool watched;	       /* fd is in the event loop */
	bool armed;	       /* ... and waits for room (cleared by its handler) */
	bool made_nonblocking; /* we set O_NONBLOCK: console_output_restore clears it */
	struct event_loop *loop;
	uint8_t *buf; /* a ring of CONSOLE_OUTPUT_BUFFER bytes */
	uint32_t start, len;
};

/* fd: the host's output, duplicated, or -1 for none. on_room(opaque) runs on
 * the loop's thread when the fd has room again. On error everything set up
 * is undone. */
int console_output_init(struct console_output *o, int fd, struct event_loop *loop,
			event_handler_fn on_room, void *opaque);
/* Whether bytes go anywhere: false without an fd or once it ended. */
bool console_output_open(const struct console_output *o);
/* How many more bytes console_output_put takes; 0 when not open. */
uint32_t console_output_room(const struct console_output *o);
/* Append len <= console_output_room bytes. */
void console_output_put(struct console_output *o, const void *data, uint32_t len);
/* Write what waits, as far as the fd takes it now: how many bytes it took.
 * What is left is watched for room. A write error ends the output:
 * -errno, once. */
ssize_t console_output_write(struct console_output *o);
/* Have the loop call on_room once the fd can take more (at its next turn,
 * if it already can): also how a caller that stops early for fairness comes
 * back. Nothing where the fd is not watched. */
void console_output_watch(struct console_output *o);
/* Block until the fd can take more, for the final flush only, never on the
 * event loop: false when it could not within CONSOLE_OUTPUT_FLUSH_STALL_MS
 * (a reader that stopped reading, or never started). */
bool console_output_wait(const struct console_output *o);
/* Give up on a reader that takes nothing: the output ends, as on a write
 * error. How many bytes waited, now dropped. */
uint32_t console_output_abandon(struct console_output *o);
/* The fd's file description as it was (O_NONBLOCK). */
void console_output_restore(struct console_output *o);
void console_output_destroy(struct console_output *o);

#endif
