/* The console device kind: libkrun's consoles over stdio fds, made from the
 * configuration. Device 0 is the implicit console unless it is disabled:
 * the process's stdio, or only the console's output into the console output
 * file; then one device for each console added through the API, over its
 * own fds. Each is a virtio console (the guest's hvc) and, when some of its
 * fds are not terminals, a second virtio console with a named port for each
 * of those (krun-stdin, krun-stdout, krun-stderr). The guest's init moves
 * the workload's stdio to device 0's named ports and is told how many to
 * wait for (KRUN_STDIO_PORTS).
 *
 * Signals: SIGWINCH, for a device with a terminal, tells the guest the
 * terminal's new size; SIGINT, when the implicit console's stdin is not a
 * terminal (one would send ^C itself), reaches the workload as ^C on the
 * console, as libkrun forwards it.
 *
 * Threads: made and destroyed on the builder's thread; the signals, flush,
 * release_host and the statistics on the event loop's (console.h says who
 * else reaches the consoles). */
#ifndef KRUN_DEVICES_CONSOLE_STDIO_H
#define KRUN_DEVICES_CONSOLE_STDIO_H

#include "devices/device.h"
#include "config/vm_config.h"

unsigned int stdio_console_count(const struct vm_config *cfg);
int stdio_console_create(const struct vm_config *cfg, unsigned int index, int host_fd,
			 const struct vmm_device_env *env, struct vmm_device **dev);

#endif
