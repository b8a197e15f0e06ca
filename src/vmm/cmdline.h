/* The guest kernel command line, built the way libkrun builds it:
 *
 *   <prefix> KEY="value"... virtio_mmio.device=4K@0x<addr>:<irq>... -- "arg"...
 *
 * The kernel hands unknown KEY=value words to init as its environment and
 * everything after "--" as its argv. Each call appends one part, whole or not
 * at all, so callers add the parts in the order above. Nothing is truncated:
 * a part that does not fit is refused with -E2BIG, and a part the kernel would
 * misparse with -EINVAL; either way cl->reason says why. */
#ifndef KRUN_VMM_CMDLINE_H
#define KRUN_VMM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/long_mode.h"

/* The guest kernel's COMMAND_LINE_SIZE, terminating NUL included. */
#define CMDLINE_SIZE X86_CMDLINE_SIZE

struct cmdline {
	size_t len;              /* strlen(buf) */
	char buf[CMDLINE_SIZE];  /* always NUL-terminated */
	char reason[160];        /* why the last refused call was refused */
};

void cmdline_init(struct cmdline *cl);

/* libkrun's fixed prefix; with_init adds "init=/init.krun", for a guest that
 * runs an init from its root filesystem (ours, served there, or its own). */
int cmdline_add_prefix(struct cmdline *cl, bool with_init);

/* The client's own command line, in place of the prefix (and, as the client
 * chooses, of the environment); appended as given. */
int cmdline_add_raw(struct cmdline *cl, const char *text);

/* console=<console>, after the prefix: the kernel's last console= is its
 * /dev/console, so it overrides the prefix's hvc0. */
int cmdline_add_console(struct cmdline *cl, const char *console);

/* KEY="value". The key must be printable ASCII without spaces, '=' or '"';
 * neither may contain '"', which the kernel cannot escape. */
int cmdline_add_env(struct cmdline *cl, const char *key, const char *value);

/* The same from an environ-style "KEY=value" string. */
int cmdline_add_environ(struct cmdline *cl, const char *entry);

/* virtio_mmio.device=4K@0x<gpa>:<irq>, the one way our devices are found. */
int cmdline_add_mmio_device(struct cmdline *cl, uint64_t gpa, uint32_t irq);

/* "--" and then each argument quoted; argv is NULL-terminated (may be empty).
 * An argument may not contain '"' nor be "--": the kernel would end argv there. */
int cmdline_add_args(struct cmdline *cl, char *const *argv);

#endif
