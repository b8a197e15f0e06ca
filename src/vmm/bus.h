/* Where a vCPU's MMIO or port I/O access goes: address ranges, each with
 * the handler that serves it, found by binary search over the ranges kept in
 * address order. A VM has one bus for each address space.
 *
 * An access reaches a range only when it lies wholly inside: one that runs
 * past a range's end, or starts where no range is, reaches no handler, and
 * the caller answers it as unmapped.
 *
 * Threads: ranges are registered while the VM is built, before any vCPU
 * thread starts; from then on the bus is only read, by every vCPU thread at
 * once, without a lock. A handler runs on the thread of the vCPU that made
 * the access and guards its own state. */
#ifndef KRUN_VMM_BUS_H
#define KRUN_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* Far more than a VM uses: 11 virtio-mmio slots and the I/O APIC, or the
 * handful of legacy ports. */
#define BUS_MAX_RANGES 32

/* An access of len bytes (1 to 8) at offset from the range's base; data in
 * guest byte order, to fill for a read. */
typedef void (*bus_handler_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			       bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler_fn fn;
	void *opaque;
};

/* Zeroed: empty. */
struct bus {
	unsigned int nr_ranges;
	struct bus_range ranges[BUS_MAX_RANGES]; /* by base, none overlapping */
};

/* Serve [base, base + len) with fn(opaque, ...). -EINVAL for an empty range,
 * one past the end of the address space or no handler, -EEXIST when it
 * overlaps a range already there, -ENOSPC when the bus is full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler_fn fn, void *opaque);

/* Hand the access [addr, addr + len) to the range that holds all of it:
 * true when one did, false when none (no handler ran). */
bool bus_dispatch(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		  bool is_write);

#endif
