/* 32-bit register access to a virtio-mmio transport, as a driver does it:
 * for the unit tests that play the guest's side. */
#ifndef KRUN_TESTS_MMIO_ACCESS_H
#define KRUN_TESTS_MMIO_ACCESS_H

#include <stdint.h>

#include "virtio/mmio.h"

/* A read the transport leaves unanswered shows as 0xdeadbeef. */
static inline uint32_t rd(struct virtio_mmio *t, uint64_t offset)
{
	uint32_t value = 0xdeadbeef;

	virtio_mmio_read(t, offset, &value, sizeof(value));
	return value;
}

static inline void wr(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	virtio_mmio_write(t, offset, &value, sizeof(value));
}

#endif
