/* The guest's driver of one virtio-mmio device, for the unit tests that
 * play it: split rings in fake guest memory (each queue's descriptor table,
 * avail and used rings in a 12 KiB area of its own), buffers handed out
 * from a bump pointer, chains made available and kicked through the
 * transport's registers. One driver per test at a time. */
#ifndef KRUN_TESTS_VIRTQ_DRIVER_H
#define KRUN_TESTS_VIRTQ_DRIVER_H

#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "check.h"
#include "mmio_access.h"

#define VQD_MAX_QUEUES 8
#define VQD_RINGS_STRIDE 0x4000

struct virtq_driver {
	struct virtio_mmio *t;
	struct guest_memory *gm;
	unsigned int queue_size;  /* every queue's, a power of two */
	uint64_t rings_gpa;	  /* queue q's rings at rings_gpa + q * VQD_RINGS_STRIDE */
	uint64_t bufs_gpa, bufs_end; /* where buffers are handed out */
	uint64_t next_buf_gpa;
	uint16_t next_desc[VQD_MAX_QUEUES];
	uint16_t avail_idx[VQD_MAX_QUEUES];
};

/* A buffer of a chain: data to send, or (data NULL) len bytes of room. */
struct vqd_seg {
	const void *data;
	uint32_t len;
	uint64_t gpa; /* filled in by vqd_add_chain */
};

static inline uint64_t vqd_desc_gpa(const struct virtq_driver *d, unsigned int q)
{
	return d->rings_gpa + q * VQD_RINGS_STRIDE;
}

static inline struct vring_used *vqd_used(const struct virtq_driver *d, unsigned int q)
{
	return gm_ptr(d->gm, vqd_desc_gpa(d, q) + 0x2000, 0x1000);
}

/* Fresh rings, these features, nr_queues queues, DRIVER_OK. */
static inline void vqd_start(struct virtq_driver *d, uint64_t features, unsigned int nr_queues)
{
	const uint32_t ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			    VIRTIO_CONFIG_S_FEATURES_OK;

	memset(gm_ptr(d->gm, d->rings_gpa, nr_queues * VQD_RINGS_STRIDE), 0,
	       nr_queues * VQD_RINGS_STRIDE);
	memset(d->next_desc, 0, sizeof(d->next_desc));
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	d->next_buf_gpa = d->bufs_gpa;
	wr(d->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(d->t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(d->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d->t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(d->t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d->t, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
	wr(d->t, VIRTIO_MMIO_STATUS, ok);
	for (unsigned int q = 0; q < nr_queues; q++) {
		wr(d->t, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(d->t, VIRTIO_MMIO_QUEUE_NUM, d->queue_size);
		wr(d->t, VIRTIO_MMIO_QUEUE_DESC_LOW, vqd_desc_gpa(d, q));
		wr(d->t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, vqd_desc_gpa(d, q) + 0x1000);
		wr(d->t, VIRTIO_MMIO_QUEUE_USED_LOW, vqd_desc_gpa(d, q) + 0x2000);
		wr(d->t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(d->t, VIRTIO_MMIO_STATUS, ok | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ_INT(rd(d->t, VIRTIO_MMIO_STATUS), ok | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Chain segs in the next descriptors, copying readable data into fresh
 * buffers, and make the chain available, not kicked: its head. */
static inline uint16_t vqd_add_chain(struct virtq_driver *d, unsigned int q, struct vqd_seg *segs,
				     unsigned int n)
{
	struct vring_desc *desc = gm_ptr(d->gm, vqd_desc_gpa(d, q), d->queue_size * sizeof(*desc));
	struct vring_avail *avail = gm_ptr(d->gm, vqd_desc_gpa(d, q) + 0x1000, 0x1000);
	uint16_t head = d->next_desc[q];

	for (unsigned int i = 0; i < n; i++) {
		uint16_t this = d->next_desc[q];
		segs[i].gpa = d->next_buf_gpa;
		d->next_buf_gpa += (segs[i].len + 15) & ~15u;
		CHECK(d->next_buf_gpa <= d->bufs_end);
		if (segs[i].data)
			gm_write(d->gm, segs[i].gpa, segs[i].data, segs[i].len);
		d->next_desc[q] = (this + 1) % d->queue_size;
		desc[this] = (struct vring_desc){
			.addr = segs[i].gpa, .len = segs[i].len,
			.flags = (segs[i].data ? 0 : VRING_DESC_F_WRITE) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = d->next_desc[q],
		};
	}
	avail->ring[d->avail_idx[q] % d->queue_size] = head;
	__atomic_store_n(&avail->idx, ++d->avail_idx[q], __ATOMIC_RELEASE);
	return head;
}

static inline void vqd_kick(struct virtq_driver *d, unsigned int q)
{
	wr(d->t, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* How many chains the device has given back on q. */
static inline uint16_t vqd_used_idx(const struct virtq_driver *d, unsigned int q)
{
	return __atomic_load_n(&vqd_used(d, q)->idx, __ATOMIC_ACQUIRE);
}

/* The bytes the device wrote into the idx-th chain it gave back on q (from 1). */
static inline uint32_t vqd_used_len(const struct virtq_driver *d, unsigned int q, uint16_t idx)
{
	return vqd_used(d, q)->ring[(uint16_t)(idx - 1) % d->queue_size].len;
}

#endif
