#include "virtio/queue.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/iov.h"
#include "base/log.h"

/* A descriptor table being walked: the queue's own, or one indirect table. */
struct desc_table {
	const uint8_t *base; /* bytes: an indirect table need not be aligned */
	uint32_t len;	     /* descriptors */
	bool indirect;
};

static int queue_broken(struct virtq *q, const char *why, uint64_t value)
{
	q->broken = true;
	LOG_RATELIMITED(LOG_WARN, "virtqueue: %s (%#" PRIx64 "), queue stopped until reset", why,
			value);
	return -EIO;
}

int virtq_init(struct virtq *q, unsigned int max_size)
{
	if (max_size == 0 || max_size > VIRTQ_SIZE_MAX)
		return -EINVAL;
	*q = (struct virtq){ .max_size = max_size };
	return 0;
}

void virtq_reset(struct virtq *q)
{
	*q = (struct virtq){ .max_size = q->max_size };
}

/* The event index words sit right after each ring (EVENT_IDX only). */
static __virtio16 *used_event(const struct virtq *q)
{
	return &q->avail->ring[q->size];
}

static __virtio16 *avail_event(const struct virtq *q)
{
	return (__virtio16 *)&q->used->ring[q->size];
}

static void *map_ring(const struct guest_memory *gm, uint64_t gpa, uint64_t len, uint64_t align)
{
	return gpa % align ? NULL : gm_ptr(gm, gpa, len);
}

int virtq_enable(struct virtq *q, const struct guest_memory *gm, uint64_t features)
{
	bool event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	uint64_t event_word = event_idx ? sizeof(__virtio16) : 0;
	uint64_t n = q->size;

	q->ready = false;
	if (n == 0 || n > q->max_size || (n & (n - 1)))
		return queue_broken(q, "queue size not a power of 2 up to the maximum", n);
	q->desc = map_ring(gm, q->desc_gpa, n * sizeof(struct vring_desc), VRING_DESC_ALIGN_SIZE);
	if (!q->desc)
		return queue_broken(q, "descriptor table misaligned or outside guest memory",
				    q->desc_gpa);
	q->avail = map_ring(gm, q->avail_gpa,
			    sizeof(struct vring_avail) + n * sizeof(__virtio16) + event_word,
			    VRING_AVAIL_ALIGN_SIZE);
	if (!q->avail)
		return queue_broken(q, "available ring misaligned or outside guest memory",
				    q->avail_gpa);
	q->used = map_ring(gm, q->used_gpa,
			   sizeof(struct vring_used) + n * sizeof(struct vring_used_elem) + event_word,
			   VRING_USED_ALIGN_SIZE);
	if (!q->used)
		return queue_broken(q, "used ring misaligned or outside guest memory", q->used_gpa);

	q->gm = gm;
	q->event_idx = event_idx;
	q->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	q->last_avail = 0;
	q->next_used = 0;
	q->signalled_used = 0;
	q->broken = false;
	/* Our copy of the used ring starts empty whatever the memory held; with
	 * EVENT_IDX, ask for a kick at the first buffer. */
	__atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&q->used->idx, 0, __ATOMIC_RELAXED);
	if (event_idx)
		__atomic_store_n(avail_event(q), 0, __ATOMIC_RELAXED);
	q->ready = true;
	return 0;
}

struct virtq_chain *virtq_chain_alloc(const struct virtq *q)
{
	struct virtq_chain *chain =
		calloc(1, sizeof(*chain) + q->max_size * sizeof(chain->bufs[0]));

	if (chain)
		chain->max_bufs = q->max_size;
	return chain;
}

/* A private copy of a descriptor the guest may be rewriting under us: after
 * the compiler barrier every check reads the copy, never guest memory, so
 * what was checked is what is used. */
static struct vring_desc read_desc(const struct desc_table *t, uint32_t i)
{
	struct vring_desc d;

	memcpy(&d, t->base + (size_t)i * sizeof(d), sizeof(d));
	atomic_signal_fence(memory_order_seq_cst);
	return d;
}

static int enter_indirect(struct virtq *q, const struct vring_desc *d, struct desc_table *t)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);

	if (!q->indirect)
		return queue_broken(q, "indirect descriptor, INDIRECT_DESC not negotiated", addr);
	if (t->indirect)
		return queue_broken(q, "indirect descriptor inside an indirect table", addr);
	if (le16toh(d->flags) & VRING_DESC_F_NEXT)
		return queue_broken(q, "indirect descriptor with NEXT", addr);
	if (len == 0 || len % sizeof(struct vring_desc) ||
	    len / sizeof(struct vring_desc) > q->max_size)
		return queue_broken(q, "indirect table length", len);
	t->base = gm_ptr(q->gm, addr, len);
	if (!t->base)
		return queue_broken(q, "indirect table outside guest memory", addr);
	t->len = len / sizeof(struct vring_desc);
	t->indirect = true;
	return 0;
}

static int add_buf(struct virtq *q, struct virtq_chain *chain, const struct vring_desc *d)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool writable = le16toh(d->flags) & VRING_DESC_F_WRITE;
	void *host;

	/* Also what ends a loop: a chain never repeats a descriptor without
	 * growing past this. */
	if (chain->nr_bufs == q->max_size)
		return queue_broken(q, "chain loops or is longer than the queue", chain->head);
	/* writable_bytes > 0 exactly when a writable buffer came before */
	if (!writable && chain->writable_bytes)
		return queue_broken(q, "device-readable buffer after a writable one", addr);
	/* gm_ptr refuses a zero length and any addr + len that leaves one
	 * region, the 64-bit wrap included. */
	host = gm_ptr(q->gm, addr, len);
	if (!host)
		return queue_broken(q, "buffer empty or outside guest memory", addr);
	chain->bufs[chain->nr_bufs++] = (struct iovec){ host, len };
	if (writable) {
		chain->writable_bytes += len;
	} else {
		chain->nr_readable++;
		chain->readable_bytes += len;
	}
	return 0;
}

static int walk_chain(struct virtq *q, uint16_t head, struct virtq_chain *chain)
{
	struct desc_table t = { .base = (const uint8_t *)q->desc, .len = q->size };
	uint32_t i = head;
	int ret;

	chain->head = head;
	chain->nr_bufs = 0;
	chain->nr_readable = 0;
	chain->readable_bytes = 0;
	chain->writable_bytes = 0;
	if (head >= q->size)
		return queue_broken(q, "chain head out of range", head);
	for (;;) {
		struct vring_desc d = read_desc(&t, i);
		uint16_t flags = le16toh(d.flags);

		if (flags & VRING_DESC_F_INDIRECT) {
			if ((ret = enter_indirect(q, &d, &t)) < 0)
				return ret;
			i = 0;
			continue;
		}
		if ((ret = add_buf(q, chain, &d)) < 0)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= t.len)
			return queue_broken(q, "next descriptor out of range", i);
	}
}

/* Acquire: the ring entries the driver wrote before publishing this index
 * are read after it. */
static uint16_t read_avail_idx(const struct virtq *q)
{
	return le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	uint16_t avail_idx, head;
	int ret;

	if (q->broken)
		return -EIO;
	if (!q->ready || chain->max_bufs < q->max_size)
		return -EINVAL;
	avail_idx = read_avail_idx(q);
	if (avail_idx == q->last_avail) {
		if (!q->event_idx)
			return 0;
		/* Ask for a kick at the next buffer, then look again: the
		 * driver publishes its index before reading avail_event, we
		 * publish avail_event before reading the index, so one of us
		 * sees the other. */
		__atomic_store_n(avail_event(q), htole16(q->last_avail), __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_seq_cst);
		avail_idx = read_avail_idx(q);
		if (avail_idx == q->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return queue_broken(q, "available index ran ahead of the ring", avail_idx);
	head = le16toh(__atomic_load_n(&q->avail->ring[q->last_avail & (q->size - 1)],
				       __ATOMIC_RELAXED));
	if ((ret = walk_chain(q, head, chain)) < 0)
		return ret;
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

int virtq_push_all(struct virtq *q, const struct virtq_used_entry *entries, unsigned int n)
{
	if (!q->ready || n > q->size)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		if (entries[i].head >= q->size)
			return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		vring_used_elem_t *elem = &q->used->ring[q->next_used & (q->size - 1)];
		elem->id = htole32(entries[i].head);
		elem->len = htole32(entries[i].written);
		q->next_used++;
	}
	/* Release: the elements are visible before the index that publishes them. */
	__atomic_store_n(&q->used->idx, htole16(q->next_used), __ATOMIC_RELEASE);
	return 0;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	return virtq_push_all(q, &(struct virtq_used_entry){ head, written }, 1);
}

bool virtq_need_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used;

	if (!q->ready || old == q->next_used)
		return false;
	q->signalled_used = q->next_used;
	/* Our used->idx store before our read of the driver's wish: pairs with
	 * the driver's barrier between asking for interrupts and re-reading
	 * used->idx, so an interrupt is never lost. */
	atomic_thread_fence(memory_order_seq_cst);
	if (q->event_idx)
		return vring_need_event(le16toh(__atomic_load_n(used_event(q), __ATOMIC_RELAXED)),
					q->next_used, old);
	return !(le16toh(__atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED)) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

uint32_t virtq_chain_fill(const struct virtq_chain *chain, const void *data, uint32_t len)
{
	return iov_scatter(chain->bufs + chain->nr_readable, chain->nr_bufs - chain->nr_readable,
			   data, len);
}

uint32_t virtq_chain_gather(const struct virtq_chain *chain, void *data, uint32_t len)
{
	return iov_gather(data, len, chain->bufs, chain->nr_readable);
}
