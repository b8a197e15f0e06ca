/* The virtqueue: split rings, the only code that reads descriptors.
 *
 * The guest is hostile. A ring is validated once, when the driver makes it
 * ready (virtq_enable); every chain is checked while it is walked, and a
 * device only ever sees the result, a list of host buffers. Any broken rule
 * (an index out of range, a loop, a buffer outside guest memory, ...) marks
 * the queue broken: virtq_pop then answers -EIO until the queue is reset, and
 * the device reports it to its transport (virtio_pop in device.h does both).
 *
 * Threading: nothing here is locked; a queue belongs to one thread at a time.
 * The transport owns it while the device is not active: it fills in size and
 * ring addresses, calls virtq_enable and virtq_reset. From the device's
 * activate() until its reset() returns, the ring state belongs to the device,
 * which calls virtq_pop, virtq_push and virtq_need_interrupt from one thread
 * at a time (its worker, or its queue_notify handler). The transport does not
 * write a queue while the device is active. */
#ifndef KRUN_VIRTIO_QUEUE_H
#define KRUN_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "base/guest_mem.h"

/* The largest split queue the spec allows. */
#define VIRTQ_SIZE_MAX 32768

struct virtq {
	uint16_t max_size; /* the device's limit, set by virtq_init */

	/* Written by the transport from the driver's registers, unchecked:
	 * virtq_enable checks them. */
	uint32_t size;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	bool ready;

	/* Set by virtq_enable: the rings, translated once, and the features
	 * that change their layout or meaning. */
	const struct guest_memory *gm;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool event_idx;
	bool indirect;

	/* The device's side of the ring. */
	uint16_t last_avail;	 /* next avail entry to pop */
	uint16_t next_used;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used->idx at the last interrupt decision */
	bool broken;
};

/* A popped chain: its buffers as host memory, each inside guest memory and
 * none empty, the device-readable ones first, then the device-writable
 * ones. head is what virtq_push gives back to the driver. */
struct virtq_chain {
	uint16_t head;
	uint16_t nr_bufs;
	uint16_t nr_readable; /* bufs[0, nr_readable) readable, the rest writable */
	uint16_t max_bufs;
	uint64_t readable_bytes;
	uint64_t writable_bytes;
	struct iovec bufs[];
};

/* An empty queue the driver may make up to max_size entries long; -EINVAL
 * unless 0 < max_size <= VIRTQ_SIZE_MAX. */
int virtq_init(struct virtq *q, unsigned int max_size);

/* Back to the state after virtq_init: not ready, no rings, not broken. */
void virtq_reset(struct virtq *q);

/* Validate size and ring addresses the driver wrote and translate the rings.
 * features: the negotiated ones (EVENT_IDX adds used_event/avail_event to the
 * rings, INDIRECT_DESC allows indirect tables). 0 and the queue is ready,
 * its used ring empty; -EIO and it is broken. */
int virtq_enable(struct virtq *q, const struct guest_memory *gm, uint64_t features);

/* Room for any chain of q: free() it. NULL when out of memory. */
struct virtq_chain *virtq_chain_alloc(const struct virtq *q);

/* Take the next available chain: 1 and chain filled in, 0 when the ring is
 * empty, -EIO when the driver broke the ring (the queue is then broken),
 * -EINVAL on a device bug (queue not ready, chain too small).
 * With EVENT_IDX, an empty ring asks the driver for a kick at its next
 * buffer: the driver promises a notification only after a 0 from here. */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);

/* Give back the chain virtq_pop returned last, unused: the next pop returns
 * it again. Only with no push since that pop; k calls after k pops give
 * all k back, in order. */
void virtq_unpop(struct virtq *q);

/* Give chain head back with written bytes stored into its writable buffers,
 * and publish it. -EINVAL on a device bug (queue not ready, head out of
 * range). */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* A used entry: a popped chain's head and the bytes written into it. */
struct virtq_used_entry {
	uint16_t head;
	uint32_t written;
};

/* Give n chains back at once, published by one index store, so that the
 * driver sees all of them or none (one virtio-net frame over several
 * buffers). -EINVAL on a device bug (queue not ready, a head out of range,
 * more than the ring holds); nothing is given back then. */
int virtq_push_all(struct virtq *q, const struct virtq_used_entry *entries, unsigned int n);

/* After one or more virtq_push: whether the driver wants an interrupt for
 * the entries published since the last call (NO_INTERRUPT, or used_event
 * with EVENT_IDX). */
bool virtq_need_interrupt(struct virtq *q);

/* Copy len bytes of data into a popped chain's writable buffers, in order:
 * how many fit. */
uint32_t virtq_chain_fill(const struct virtq_chain *chain, const void *data, uint32_t len);

/* Copy up to len bytes from the start of a popped chain's readable buffers:
 * how many there were. */
uint32_t virtq_chain_gather(const struct virtq_chain *chain, void *data, uint32_t len);

#endif
