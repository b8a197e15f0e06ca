/* The shutdown port: krun_get_shutdown_eventfd's eventfd, made the input of
 * a console port named KRUN_PORT_SHUTDOWN (guest_abi.h) on a virtio console
 * of its own, which the guest's init reads. A client's write makes the
 * eventfd readable; the console's input path (the event loop, while the
 * guest has the port open) reads its 8-byte count into the guest, and the
 * init takes any bytes there for a shutdown request. Nothing is added to
 * the VMM: the console already bounds, and defers to the guest's buffers,
 * everything that moves. A VM whose context never asked for the eventfd
 * has no such device.
 *
 * The init learns of the port from KRUN_ENV_SHUTDOWN_PORT. The port's
 * output is discarded (the guest has nothing to say on it).
 *
 * Threads: made and destroyed on the builder's thread; the input on the
 * event loop's (console.h). */
#ifndef KRUN_DEVICES_CONSOLE_SHUTDOWN_H
#define KRUN_DEVICES_CONSOLE_SHUTDOWN_H

#include "config/vm_config.h"
#include "devices/device.h"

unsigned int shutdown_port_count(const struct vm_config *cfg);
int shutdown_port_create(const struct vm_config *cfg, unsigned int index, int host_fd,
			 const struct vmm_device_env *env, struct vmm_device **dev);

#endif
