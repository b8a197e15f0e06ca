/* The legacy port I/O a Linux guest touches, and our guest control port,
 * each on the port I/O bus:
 *   0x60, 0x64  i8042: only the reset line (reboot=k writes 0xfe to 0x64)
 *   0x70-0x71   CMOS clock, so the guest boots with the host's time
 *   KRUN_CTL_PORT  written by our guest init: a boot marker at its first
 *               instruction (time to workload, as Firecracker's boot timer)
 *               and the workload's exit status (guest_abi.h)
 * The legacy registers are a byte wide, and each byte of an access goes to
 * its own port, as on ISA; an access that runs past a device's ports reaches
 * none of them (the bus's rule), and the vCPU answers it as it answers every
 * port with nothing behind it: all ones, writes ignored. */
#ifndef KRUN_VMM_PORTS_H
#define KRUN_VMM_PORTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_abi.h"
#include "vmm/bus.h"
#include "vmm/stop_reason.h"

struct guest_ports {
	/* The guest ended the VM: it pulled the reset line (VM_STOP_RESET), or
	 * its init reported the exit status (VM_STOP_EXITED). */
	void (*stop)(void *opaque, enum vm_stop_reason reason);
	void *opaque;
	_Atomic uint64_t boot_marker_ns; /* CLOCK_MONOTONIC; 0 until written */
	_Atomic int exit_status;	 /* -1 until written */
	_Atomic uint8_t cmos_index;
};

/* Put the ports on pio, the port I/O bus, handled with p's state: 0, or
 * -errno when the bus refused them. Handlers run on vCPU threads; the state
 * they write is atomic. */
int ports_init(struct guest_ports *p, struct bus *pio,
	       void (*stop)(void *opaque, enum vm_stop_reason reason), void *opaque);

#endif
