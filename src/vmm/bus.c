#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

/* The index of the first range whose base is above addr: the range that may
 * hold addr is the one before it. */
static unsigned int first_above(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr_ranges;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Written so that nothing overflows: the offset only once addr >= base, and
 * the length against what the range has left from there. */
static bool holds(const struct bus_range *r, uint64_t addr, uint64_t len)
{
	return addr >= r->base && addr - r->base < r->len && len <= r->len - (addr - r->base);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler_fn fn, void *opaque)
{
	/* the last byte, base + len - 1, must not wrap around */
	if (len == 0 || len - 1 > UINT64_MAX - base || !fn)
		return -EINVAL;
	unsigned int at = first_above(bus, base);
	const struct bus_range *before = at > 0 ? &bus->ranges[at - 1] : NULL;
	const struct bus_range *after = at < bus->nr_ranges ? &bus->ranges[at] : NULL;
	if ((before && base - before->base < before->len) || (after && after->base - base < len))
		return -EEXIST;
	if (bus->nr_ranges == BUS_MAX_RANGES)
		return -ENOSPC;
	memmove(&bus->ranges[at + 1], &bus->ranges[at],
		(bus->nr_ranges - at) * sizeof(bus->ranges[0]));
	bus->ranges[at] = (struct bus_range){ .base = base, .len = len, .fn = fn, .opaque = opaque };
	bus->nr_ranges++;
	return 0;
}

bool bus_dispatch(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		  bool is_write)
{
	unsigned int at = first_above(bus, addr);
	const struct bus_range *r = at > 0 ? &bus->ranges[at - 1] : NULL;

	if (len == 0 || !r || !holds(r, addr, len))
		return false;
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
