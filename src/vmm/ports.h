/* The legacy port I/O a Linux guest touches, and our guest control port:
 *   0x60/0x64  i8042: only the reset line (reboot=k writes 0xfe to 0x64)
 *   0x70/0x71  CMOS clock, so the guest boots with the host's time
 *   KRUN_CTL_PORT  written by our guest init: a boot marker at its first
 *              instruction (time to workload, as Firecracker's boot timer)
 *              and the workload's exit status
 * Every other port reads as all ones (nothing there) and ignores writes. */
#ifndef KRUN_VMM_PORTS_H
#define KRUN_VMM_PORTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_abi.h"

struct guest_ports {
	void (*reset)(void *opaque); /* the guest pulled the reset line */
	void *opaque;
	_Atomic uint64_t boot_marker_ns; /* CLOCK_MONOTONIC; 0 until written */
	_Atomic int exit_status;	 /* -1 until written */
	_Atomic uint8_t cmos_index;
};

void ports_init(struct guest_ports *p, void (*reset)(void *), void *opaque);
/* One access of size 1, 2 or 4 bytes; data in guest byte order. */
void ports_io(struct guest_ports *p, uint16_t port, bool write, uint8_t *data, uint32_t size);

#endif
