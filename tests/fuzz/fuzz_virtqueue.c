/* The virtqueue, the only code that walks descriptors, against guest memory
 * that is the input itself: descriptor tables, rings, indirect tables and
 * buffers as a hostile driver lays them out (loops, chains off the end of
 * memory or across its two regions, indexes anywhere), served by a correct
 * device following a script from the input. Input format: formats.h.
 *
 * Beside ASan and UBSan, each popped chain is checked against what
 * virtq_pop promises: at most max_size buffers, each non-empty and wholly
 * inside one region, the readable ones first, the byte counts their sums;
 * and a broken queue stays broken. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "virtio/queue.h"

#define HELD_MAX 8

static uint8_t *regions[2];
static const uint64_t region_gpa[2] = { 0, VQ_REGION0_SIZE };
static const uint64_t region_size[2] = { VQ_REGION0_SIZE, VQ_MEM_SIZE - VQ_REGION0_SIZE };

/* The device's side: the queue and the chains it holds. */
struct device {
	struct guest_memory gm;
	struct virtq q;
	struct virtq_chain *held[HELD_MAX];
	unsigned int nr_held;
	bool last_was_pop; /* the previous op popped held[nr_held - 1] */
};

static bool inside_one_region(const void *host, uint32_t len)
{
	for (int i = 0; i < 2; i++) {
		const uint8_t *p = host;
		if (p >= regions[i] && len <= region_size[i] &&
		    (size_t)(p - regions[i]) <= region_size[i] - len)
			return true;
	}
	return false;
}

static void check_chain(const struct virtq *q, const struct virtq_chain *c)
{
	uint64_t readable = 0, writable = 0;

	FUZZ_CHECK(c->head < q->size);
	FUZZ_CHECK(c->nr_bufs >= 1 && c->nr_bufs <= q->max_size && c->nr_readable <= c->nr_bufs);
	for (unsigned int i = 0; i < c->nr_bufs; i++) {
		const struct iovec *b = &c->bufs[i];
		FUZZ_CHECK(b->iov_len > 0 && inside_one_region(b->iov_base, b->iov_len));
		if (i < c->nr_readable)
			readable += b->iov_len;
		else
			writable += b->iov_len;
	}
	FUZZ_CHECK(readable == c->readable_bytes && writable == c->writable_bytes);
}

/* virtq_pop with its promises checked: 1, 0, or -EIO and broken for good. */
static int pop(struct device *d, struct virtq_chain *c)
{
	int ret = virtq_pop(&d->q, c);

	if (ret == 1)
		check_chain(&d->q, c);
	else if (ret < 0)
		FUZZ_CHECK(ret == -EIO && d->q.broken && virtq_pop(&d->q, c) == -EIO);
	else
		FUZZ_CHECK(ret == 0);
	return ret;
}

/* Fill up to written bytes of the chain's room and give it back. */
static void push(struct device *d, const struct virtq_chain *c, uint64_t written)
{
	static uint8_t data[VQ_MEM_SIZE];

	if (written > c->writable_bytes)
		written = c->writable_bytes;
	if (written > sizeof(data))
		written = sizeof(data);
	memset(data, 0x5a, written);
	FUZZ_CHECK(virtq_chain_fill(c, data, written) == written);
	FUZZ_CHECK(virtq_push(&d->q, c->head, written) == 0);
	FUZZ_CHECK(le16toh(d->q.used->idx) == d->q.next_used);
}

static void gather(const struct virtq_chain *c, unsigned int len)
{
	/* exactly len bytes: ASan sees a copy past them */
	uint8_t *buf = malloc(len ? len : 1);
	uint32_t n = virtq_chain_gather(c, buf, len);

	FUZZ_CHECK(n <= len && n <= c->readable_bytes);
	free(buf);
}

static void drop_held(struct device *d)
{
	while (d->nr_held)
		free(d->held[--d->nr_held]);
}

static void enable(struct device *d, uint8_t features)
{
	uint64_t f = (features & VQ_F_INDIRECT ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
		     (features & VQ_F_EVENT_IDX ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);
	int ret = virtq_enable(&d->q, &d->gm, f);

	FUZZ_CHECK(ret == 0 ? d->q.ready && !d->q.broken : ret == -EIO && d->q.broken);
}

static void run_op(struct device *d, struct virtq_chain *scratch, uint8_t byte)
{
	unsigned int op = byte & 7, arg = byte >> 3;
	bool popped = false;

	if (op == VQ_OP_RESET) {
		uint32_t size = d->q.size;
		uint64_t desc = d->q.desc_gpa, avail = d->q.avail_gpa, used = d->q.used_gpa;
		drop_held(d);
		virtq_reset(&d->q);
		FUZZ_CHECK(!d->q.ready && !d->q.broken);
		d->q.size = size;
		d->q.desc_gpa = desc;
		d->q.avail_gpa = avail;
		d->q.used_gpa = used;
		enable(d, arg);
		d->last_was_pop = false;
		return;
	}
	/* a correct device serves only a ready queue */
	if (!d->q.ready)
		return;
	switch (op) {
	case VQ_OP_POP_PUSH:
		for (unsigned int i = 0; i <= arg && pop(d, scratch) == 1; i++)
			push(d, scratch, scratch->writable_bytes);
		break;
	case VQ_OP_POP_HOLD:
		if (d->nr_held == HELD_MAX)
			break;
		d->held[d->nr_held] = virtq_chain_alloc(&d->q);
		FUZZ_CHECK(d->held[d->nr_held]);
		if (pop(d, d->held[d->nr_held]) == 1) {
			d->nr_held++;
			popped = true;
		} else {
			free(d->held[d->nr_held]);
		}
		break;
	case VQ_OP_PUSH_HELD:
		if (d->nr_held) {
			unsigned int i = arg % d->nr_held;
			struct virtq_chain *c = d->held[i];
			push(d, c, arg * 64);
			free(c);
			d->held[i] = d->held[--d->nr_held];
		}
		break;
	case VQ_OP_UNPOP:
		if (d->last_was_pop) {
			virtq_unpop(&d->q);
			free(d->held[--d->nr_held]);
		}
		break;
	case VQ_OP_INTERRUPT:
		virtq_need_interrupt(&d->q);
		break;
	case VQ_OP_GATHER:
		if (d->nr_held)
			gather(d->held[d->nr_held - 1], arg * 64);
		break;
	case VQ_OP_PUBLISH:
		/* the driver's own write, straight into its ring */
		d->q.avail->idx = htole16(le16toh(d->q.avail->idx) + arg + 1);
		break;
	}
	d->last_was_pop = popped;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct device d = { .nr_held = 0 };
	uint8_t features = take_u8(&in), size_code = take_u8(&in), script[VQ_SCRIPT_LEN];
	struct virtq_chain *scratch;

	FUZZ_CHECK(virtq_init(&d.q, VQ_MAX_SIZE) == 0);
	d.q.size = size_code < 16 ? 1u << size_code : size_code;
	d.q.desc_gpa = take_u16(&in);
	d.q.avail_gpa = take_u16(&in);
	d.q.used_gpa = take_u16(&in);
	take_bytes(&in, script, sizeof(script));
	for (int i = 0; i < 2; i++) {
		regions[i] = malloc(region_size[i]);
		FUZZ_CHECK(regions[i] && gm_add_host(&d.gm, region_gpa[i], region_size[i],
						     regions[i]) == 0);
		take_bytes(&in, regions[i], region_size[i]);
	}
	scratch = virtq_chain_alloc(&d.q);
	FUZZ_CHECK(scratch);
	enable(&d, features);
	for (unsigned int i = 0; i < sizeof(script); i++)
		run_op(&d, scratch, script[i]);

	drop_held(&d);
	free(scratch);
	gm_destroy(&d.gm);
	for (int i = 0; i < 2; i++)
		free(regions[i]);
	return 0;
}
