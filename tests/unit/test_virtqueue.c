/* The virtqueue against rings written by hand in fake guest memory: valid
 * chains, the used ring and interrupt suppression, then a hostile driver. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "virtio/queue.h"

#define MEM_SIZE 0x100000
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define TABLE_GPA 0x4000 /* indirect tables */
#define BUF_GPA 0x10000
#define MAX_SIZE 16

#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX (1ull << VIRTIO_RING_F_EVENT_IDX)

static struct guest_memory gm;

/* A queue as a driver and a device both see it. */
struct ring {
	struct virtq q;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct virtq_chain *chain;
};

static void *guest(uint64_t gpa)
{
	return gm_ptr(&gm, gpa, 1);
}

/* Fresh zeroed memory and a ready queue of size entries. */
static void ring_setup(struct ring *r, unsigned int size, uint64_t features)
{
	memset(guest(0), 0, MEM_SIZE);
	CHECK_EQ_INT(virtq_init(&r->q, MAX_SIZE), 0);
	r->q.size = size;
	r->q.desc_gpa = DESC_GPA;
	r->q.avail_gpa = AVAIL_GPA;
	r->q.used_gpa = USED_GPA;
	CHECK_EQ_INT(virtq_enable(&r->q, &gm, features), 0);
	r->desc = guest(DESC_GPA);
	r->avail = guest(AVAIL_GPA);
	r->used = guest(USED_GPA);
	r->chain = virtq_chain_alloc(&r->q);
	CHECK(r->chain != NULL);
}

static void ring_teardown(struct ring *r)
{
	free(r->chain);
}

static void set_desc(struct vring_desc *table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	table[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static void make_available(struct ring *r, uint16_t head)
{
	r->avail->ring[r->avail->idx % r->q.size] = head;
	r->avail->idx++;
}

/* The driver broke the ring: refused now and from then on. */
#define CHECK_BROKEN(r)                                               \
	do {                                                          \
		CHECK_EQ_INT(virtq_pop(&(r)->q, (r)->chain), -EIO);   \
		CHECK((r)->q.broken);                                 \
		CHECK_EQ_INT(virtq_pop(&(r)->q, (r)->chain), -EIO);   \
	} while (0)

static void test_init_bounds(void)
{
	struct virtq q;

	CHECK_EQ_INT(virtq_init(&q, 0), -EINVAL);
	CHECK_EQ_INT(virtq_init(&q, VIRTQ_SIZE_MAX + 1), -EINVAL);
	CHECK_EQ_INT(virtq_init(&q, VIRTQ_SIZE_MAX), 0);
}

static void test_single_buffer(void)
{
	struct ring r;

	ring_setup(&r, 8, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 0);
	set_desc(r.desc, 3, BUF_GPA, 100, 0, 0);
	make_available(&r, 3);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(r.chain->head, 3);
	CHECK_EQ_INT(r.chain->nr_bufs, 1);
	CHECK(r.chain->bufs[0].iov_base == guest(BUF_GPA));
	CHECK_EQ_INT(r.chain->bufs[0].iov_len, 100);
	CHECK_EQ_INT(r.chain->nr_readable, 1);
	CHECK_EQ_INT(r.chain->readable_bytes, 100);
	CHECK_EQ_INT(r.chain->writable_bytes, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 0);
	ring_teardown(&r);
}

static void test_multi_buffer_chain(void)
{
	struct ring r;

	ring_setup(&r, 8, 0);
	set_desc(r.desc, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 5);
	set_desc(r.desc, 5, BUF_GPA + 0x100, 32, VRING_DESC_F_NEXT, 2);
	set_desc(r.desc, 2, BUF_GPA + 0x200, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
	set_desc(r.desc, 7, BUF_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	make_available(&r, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(r.chain->head, 0);
	CHECK_EQ_INT(r.chain->nr_bufs, 4);
	CHECK(r.chain->bufs[1].iov_base == guest(BUF_GPA + 0x100));
	CHECK(r.chain->bufs[2].iov_base == guest(BUF_GPA + 0x200));
	CHECK_EQ_INT(r.chain->bufs[3].iov_len, 1);
	/* the first two readable, the last two writable */
	CHECK_EQ_INT(r.chain->nr_readable, 2);
	CHECK_EQ_INT(r.chain->readable_bytes, 48);
	CHECK_EQ_INT(r.chain->writable_bytes, 513);
	ring_teardown(&r);
}

static void test_indirect(void)
{
	struct vring_desc *table = guest(TABLE_GPA);
	struct ring r;

	ring_setup(&r, 8, F_INDIRECT);
	/* The head is the indirect descriptor; its WRITE flag means nothing. */
	set_desc(r.desc, 1, TABLE_GPA, 3 * sizeof(*table), VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE,
		 0);
	set_desc(table, 0, BUF_GPA, 10, VRING_DESC_F_NEXT, 2);
	set_desc(table, 2, BUF_GPA + 0x100, 20, VRING_DESC_F_NEXT, 1);
	set_desc(table, 1, BUF_GPA + 0x200, 30, VRING_DESC_F_WRITE, 0);
	make_available(&r, 1);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(r.chain->head, 1);
	CHECK_EQ_INT(r.chain->nr_bufs, 3);
	CHECK(r.chain->bufs[1].iov_base == guest(BUF_GPA + 0x100));
	CHECK_EQ_INT(r.chain->nr_readable, 2);
	CHECK_EQ_INT(r.chain->readable_bytes, 30);
	CHECK_EQ_INT(r.chain->writable_bytes, 30);

	/* Direct descriptors, then an indirect one ending the chain. */
	set_desc(r.desc, 4, BUF_GPA + 0x300, 8, VRING_DESC_F_NEXT, 6);
	set_desc(r.desc, 6, TABLE_GPA + 0x100, 2 * sizeof(*table), VRING_DESC_F_INDIRECT, 0);
	set_desc(table, 16, BUF_GPA + 0x400, 8, VRING_DESC_F_NEXT, 1);
	set_desc(table, 17, BUF_GPA + 0x500, 64, VRING_DESC_F_WRITE, 0);
	make_available(&r, 4);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(r.chain->nr_bufs, 3);
	CHECK(r.chain->bufs[2].iov_base == guest(BUF_GPA + 0x500));
	CHECK_EQ_INT(r.chain->nr_readable, 2);
	CHECK_EQ_INT(r.chain->readable_bytes, 16);
	CHECK_EQ_INT(r.chain->writable_bytes, 64);
	ring_teardown(&r);
}

static void test_used_ring(void)
{
	struct ring r;

	ring_setup(&r, 4, 0);
	/* More pushes than entries: the ring wraps. */
	for (uint16_t i = 0; i < 6; i++)
		CHECK_EQ_INT(virtq_push(&r.q, i % 4, 100 + i), 0);
	CHECK_EQ_INT(r.used->idx, 6);
	CHECK_EQ_INT(r.used->ring[0].id, 0);
	CHECK_EQ_INT(r.used->ring[0].len, 104);
	CHECK_EQ_INT(r.used->ring[1].len, 105);
	CHECK_EQ_INT(r.used->ring[3].id, 3);
	/* device bugs, not the driver's */
	CHECK_EQ_INT(virtq_push(&r.q, 4, 0), -EINVAL);
	CHECK(!r.q.broken);
	/* several at once, published by one index: all or nothing */
	const struct virtq_used_entry three[] = { { 1, 10 }, { 2, 20 }, { 3, 30 } };
	const struct virtq_used_entry bad[] = { { 0, 1 }, { 4, 2 } };
	CHECK_EQ_INT(virtq_push_all(&r.q, three, 3), 0);
	CHECK_EQ_INT(r.used->idx, 9);
	CHECK(r.used->ring[2].id == 1 && r.used->ring[2].len == 10);
	CHECK(r.used->ring[0].id == 3 && r.used->ring[0].len == 30);
	CHECK_EQ_INT(virtq_push_all(&r.q, bad, 2), -EINVAL);
	CHECK_EQ_INT(virtq_push_all(&r.q, three, 5), -EINVAL); /* more than the ring */
	CHECK_EQ_INT(r.used->idx, 9);
	CHECK_EQ_INT(r.used->ring[1].id, 1); /* untouched: the entry at 5 */
	ring_teardown(&r);
}

static void test_interrupt_flags(void)
{
	struct ring r;

	ring_setup(&r, 8, 0);
	CHECK(!virtq_need_interrupt(&r.q)); /* nothing used yet */
	virtq_push(&r.q, 0, 0);
	CHECK(virtq_need_interrupt(&r.q));
	CHECK(!virtq_need_interrupt(&r.q)); /* nothing new */
	r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	virtq_push(&r.q, 1, 0);
	CHECK(!virtq_need_interrupt(&r.q));
	r.avail->flags = 0;
	virtq_push(&r.q, 2, 0);
	CHECK(virtq_need_interrupt(&r.q));
	ring_teardown(&r);
}

static void test_event_idx(void)
{
	struct ring r;
	uint16_t *used_event, *avail_event;

	ring_setup(&r, 8, F_EVENT_IDX);
	used_event = &r.avail->ring[8];
	avail_event = (uint16_t *)&r.used->ring[8];

	/* The device asks for a kick at the buffer after the last it took,
	 * and only once it found the ring empty. */
	*avail_event = 0xffff;
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 0);
	CHECK_EQ_INT(*avail_event, 0);
	set_desc(r.desc, 0, BUF_GPA, 1, 0, 0);
	make_available(&r, 0);
	make_available(&r, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(*avail_event, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 0);
	CHECK_EQ_INT(*avail_event, 2);

	/* An interrupt only when used->idx passes used_event. */
	*used_event = 0;
	virtq_push(&r.q, 0, 0);
	CHECK(virtq_need_interrupt(&r.q)); /* 0 -> 1 passes 0 */
	virtq_push(&r.q, 0, 0);
	CHECK(!virtq_need_interrupt(&r.q)); /* 1 -> 2 does not */
	*used_event = 4;
	virtq_push(&r.q, 0, 0);
	CHECK(!virtq_need_interrupt(&r.q)); /* 2 -> 3 */
	virtq_push(&r.q, 0, 0);
	virtq_push(&r.q, 0, 0);
	CHECK(virtq_need_interrupt(&r.q)); /* 3 -> 5 passes 4 */
	ring_teardown(&r);
}

struct ring_layout {
	unsigned int size;
	uint64_t desc, avail, used;
};

static int enable_layout(const struct ring_layout *l, uint64_t features)
{
	struct virtq q;
	int ret;

	virtq_init(&q, MAX_SIZE);
	q.size = l->size;
	q.desc_gpa = l->desc;
	q.avail_gpa = l->avail;
	q.used_gpa = l->used;
	ret = virtq_enable(&q, &gm, features);
	CHECK(ret < 0 ? q.broken && !q.ready : q.ready);
	return ret;
}

/* A driver thread and a device thread over one EVENT_IDX ring, the driver
 * kicking only when avail_event asks: a kick the protocol loses stalls the
 * device, which gives up after a second instead of hanging the test. */
#define STRESS_CHAINS 20000

struct stress {
	struct ring r;
	int kick;
	atomic_bool stop;
	unsigned int served;
	unsigned int kicks;
	int error;
};

static void *stress_device(void *arg)
{
	struct stress *s = arg;
	struct pollfd kick = { .fd = s->kick, .events = POLLIN };
	uint64_t count;
	int ret;

	while (s->served < STRESS_CHAINS) {
		while ((ret = virtq_pop(&s->r.q, s->r.chain)) == 1) {
			virtq_push(&s->r.q, s->r.chain->head, 0);
			s->served++;
		}
		if (ret < 0) {
			s->error = ret;
			break;
		}
		if (s->served == STRESS_CHAINS)
			break;
		if (poll(&kick, 1, 1000) != 1 || read(s->kick, &count, sizeof(count)) < 0) {
			s->error = -ETIMEDOUT;
			break;
		}
	}
	atomic_store(&s->stop, true);
	return NULL;
}

static void test_event_idx_threads(void)
{
	struct stress s = { .kick = eventfd(0, EFD_CLOEXEC) };
	uint16_t *avail_event, avail_idx = 0;
	const uint64_t one = 1;
	pthread_t device;

	CHECK(s.kick >= 0);
	ring_setup(&s.r, 8, F_EVENT_IDX);
	avail_event = (uint16_t *)&s.r.used->ring[8];
	CHECK_EQ_INT(pthread_create(&device, NULL, stress_device, &s), 0);
	for (unsigned int i = 0; i < STRESS_CHAINS && !atomic_load(&s.stop); i++) {
		/* in order, so descriptor i % 8 is free once fewer than 8 wait */
		while ((uint16_t)(avail_idx - __atomic_load_n(&s.r.used->idx, __ATOMIC_ACQUIRE)) ==
			       8 &&
		       !atomic_load(&s.stop))
			sched_yield();
		set_desc(s.r.desc, i % 8, BUF_GPA, 1, 0, 0);
		s.r.avail->ring[avail_idx % 8] = i % 8;
		__atomic_store_n(&s.r.avail->idx, ++avail_idx, __ATOMIC_RELEASE);
		atomic_thread_fence(memory_order_seq_cst);
		if (vring_need_event(__atomic_load_n(avail_event, __ATOMIC_RELAXED), avail_idx,
				     avail_idx - 1) &&
		    write(s.kick, &one, sizeof(one)) == sizeof(one))
			s.kicks++;
	}
	pthread_join(device, NULL);
	CHECK_EQ_INT(s.error, 0);
	CHECK_EQ_INT(s.served, STRESS_CHAINS);
	CHECK(s.kicks > 0 && s.kicks <= STRESS_CHAINS);
	close(s.kick);
	ring_teardown(&s.r);
}

static void test_ring_validation(void)
{
	static const struct ring_layout bad[] = {
		{ 0, DESC_GPA, AVAIL_GPA, USED_GPA },
		{ 6, DESC_GPA, AVAIL_GPA, USED_GPA },		/* not a power of 2 */
		{ 2 * MAX_SIZE, DESC_GPA, AVAIL_GPA, USED_GPA },	/* over the maximum */
		{ 65536 + 8, DESC_GPA, AVAIL_GPA, USED_GPA },	/* not cut to 16 bits */
		{ 8, DESC_GPA + 8, AVAIL_GPA, USED_GPA },		/* misaligned */
		{ 8, DESC_GPA, AVAIL_GPA + 1, USED_GPA },
		{ 8, DESC_GPA, AVAIL_GPA, USED_GPA + 2 },
		{ 8, MEM_SIZE, AVAIL_GPA, USED_GPA },		/* outside memory */
		{ 8, DESC_GPA, MEM_SIZE - 4, USED_GPA },		/* partly outside */
		{ 8, DESC_GPA, AVAIL_GPA, UINT64_MAX - 3 },	/* wraps */
	};
	/* Whole rings, but no room for used_event / avail_event after them. */
	static const struct ring_layout no_event_words[] = {
		{ 8, DESC_GPA, MEM_SIZE - (4 + 8 * 2), USED_GPA },
		{ 8, DESC_GPA, AVAIL_GPA, MEM_SIZE - (4 + 8 * 8) },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(enable_layout(&bad[i], 0), -EIO);
	for (size_t i = 0; i < sizeof(no_event_words) / sizeof(no_event_words[0]); i++) {
		CHECK_EQ_INT(enable_layout(&no_event_words[i], 0), 0);
		CHECK_EQ_INT(enable_layout(&no_event_words[i], F_EVENT_IDX), -EIO);
	}
}

static void test_device_bugs(void)
{
	struct ring r;
	struct virtq_chain small = { .max_bufs = MAX_SIZE - 1 };

	ring_setup(&r, 8, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, &small), -EINVAL);
	virtq_reset(&r.q);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), -EINVAL);
	CHECK_EQ_INT(virtq_push(&r.q, 0, 0), -EINVAL);
	CHECK(!virtq_need_interrupt(&r.q));
	ring_teardown(&r);
}

static void test_bad_indexes(void)
{
	struct ring r;

	/* A valid-looking descriptor right after the table, where an
	 * unchecked index 8 would find it. */
	ring_setup(&r, 8, 0);
	set_desc(r.desc, 8, BUF_GPA, 1, 0, 0);
	make_available(&r, 8);
	CHECK_BROKEN(&r);
	ring_teardown(&r);

	ring_setup(&r, 8, 0);
	make_available(&r, 0xffff);
	CHECK_BROKEN(&r);
	ring_teardown(&r);

	ring_setup(&r, 8, 0);
	set_desc(r.desc, 0, BUF_GPA, 1, VRING_DESC_F_NEXT, 8);
	set_desc(r.desc, 8, BUF_GPA, 1, 0, 0);
	make_available(&r, 0);
	CHECK_BROKEN(&r);
	ring_teardown(&r);
}

static void test_bad_buffers(void)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ MEM_SIZE, 1 },		/* outside */
		{ MEM_SIZE - 16, 32 },		/* runs off the end */
		{ UINT64_MAX - 15, 32 },	/* addr + len wraps */
		{ UINT64_MAX, UINT32_MAX },
		{ BUF_GPA, 0 },			/* empty */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ring r;

		ring_setup(&r, 8, 0);
		set_desc(r.desc, 0, BUF_GPA, 1, VRING_DESC_F_NEXT, 1);
		set_desc(r.desc, 1, bad[i].addr, bad[i].len, 0, 0);
		make_available(&r, 0);
		CHECK_BROKEN(&r);
		ring_teardown(&r);
	}
}

static void test_loops_and_long_chains(void)
{
	struct vring_desc *table = guest(TABLE_GPA);
	struct ring r;

	/* 0 -> 1 -> 0 */
	ring_setup(&r, 8, 0);
	set_desc(r.desc, 0, BUF_GPA, 1, VRING_DESC_F_NEXT, 1);
	set_desc(r.desc, 1, BUF_GPA, 1, VRING_DESC_F_NEXT, 0);
	make_available(&r, 0);
	CHECK_BROKEN(&r);
	ring_teardown(&r);

	/* a descriptor its own next */
	ring_setup(&r, 8, 0);
	set_desc(r.desc, 2, BUF_GPA, 1, VRING_DESC_F_NEXT, 2);
	make_available(&r, 2);
	CHECK_BROKEN(&r);
	ring_teardown(&r);

	/* a loop inside an indirect table */
	ring_setup(&r, 8, F_INDIRECT);
	set_desc(r.desc, 0, TABLE_GPA, 2 * sizeof(*table), VRING_DESC_F_INDIRECT, 0);
	set_desc(table, 0, BUF_GPA, 1, VRING_DESC_F_NEXT, 1);
	set_desc(table, 1, BUF_GPA, 1, VRING_DESC_F_NEXT, 0);
	make_available(&r, 0);
	CHECK_BROKEN(&r);
	ring_teardown(&r);

	/* every entry of a full ring chained is fine; a full indirect table
	 * after direct descriptors makes the chain longer than the queue */
	ring_setup(&r, MAX_SIZE, F_INDIRECT);
	for (unsigned int i = 0; i < MAX_SIZE; i++)
		set_desc(r.desc, i, BUF_GPA, 1, i + 1 < MAX_SIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	make_available(&r, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(r.chain->nr_bufs, MAX_SIZE);
	set_desc(r.desc, 0, BUF_GPA, 1, VRING_DESC_F_NEXT, 1);
	set_desc(r.desc, 1, TABLE_GPA, MAX_SIZE * sizeof(*table), VRING_DESC_F_INDIRECT, 0);
	for (unsigned int i = 0; i < MAX_SIZE; i++)
		set_desc(table, i, BUF_GPA, 1, i + 1 < MAX_SIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	make_available(&r, 0);
	CHECK_BROKEN(&r);
	ring_teardown(&r);
}

/* An indirect descriptor at the head; table entries as given. */
static void check_bad_indirect(uint64_t features, uint64_t addr, uint32_t len, uint16_t flags,
			       const struct vring_desc *entries, unsigned int nr_entries)
{
	struct ring r;

	ring_setup(&r, 8, features);
	set_desc(r.desc, 0, addr, len, VRING_DESC_F_INDIRECT | flags, 1);
	set_desc(r.desc, 1, BUF_GPA, 1, 0, 0);
	memcpy(guest(TABLE_GPA), entries, nr_entries * sizeof(*entries));
	make_available(&r, 0);
	CHECK_BROKEN(&r);
	ring_teardown(&r);
}

static void test_bad_indirect(void)
{
	const uint32_t entry = sizeof(struct vring_desc);
	const struct vring_desc plain[] = { { .addr = BUF_GPA, .len = 1 } };
	/* a two-entry table whose second entry points at a valid third */
	const struct vring_desc nested[] = {
		{ .addr = BUF_GPA, .len = 1, .flags = VRING_DESC_F_NEXT, .next = 1 },
		{ .addr = TABLE_GPA + 2 * entry, .len = entry, .flags = VRING_DESC_F_INDIRECT },
		{ .addr = BUF_GPA, .len = 1 },
	};
	const struct vring_desc readable_after_writable[] = {
		{ .addr = BUF_GPA, .len = 1, .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, .next = 1 },
		{ .addr = BUF_GPA, .len = 1 },
	};
	const struct vring_desc next_out_of_table[] = {
		{ .addr = BUF_GPA, .len = 1, .flags = VRING_DESC_F_NEXT, .next = 1 },
	};

	check_bad_indirect(0, TABLE_GPA, entry, 0, plain, 1); /* not negotiated */
	check_bad_indirect(F_INDIRECT, TABLE_GPA, 2 * entry, 0, nested, 3);
	check_bad_indirect(F_INDIRECT, TABLE_GPA, entry, VRING_DESC_F_NEXT, plain, 1);
	check_bad_indirect(F_INDIRECT, TABLE_GPA, entry + 8, 0, plain, 1);
	check_bad_indirect(F_INDIRECT, TABLE_GPA, 0, 0, plain, 1);
	check_bad_indirect(F_INDIRECT, TABLE_GPA, (MAX_SIZE + 1) * entry, 0, plain, 1);
	check_bad_indirect(F_INDIRECT, MEM_SIZE - entry, 2 * entry, 0, plain, 1);
	check_bad_indirect(F_INDIRECT, UINT64_MAX - entry + 1, entry, 0, plain, 1);
	check_bad_indirect(F_INDIRECT, TABLE_GPA, 2 * entry, 0, readable_after_writable, 2);
	check_bad_indirect(F_INDIRECT, TABLE_GPA, entry, 0, next_out_of_table, 1);
}

static void test_readable_after_writable(void)
{
	struct ring r;

	ring_setup(&r, 8, 0);
	set_desc(r.desc, 0, BUF_GPA, 1, VRING_DESC_F_NEXT, 1);
	set_desc(r.desc, 1, BUF_GPA, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	set_desc(r.desc, 2, BUF_GPA, 1, 0, 0);
	make_available(&r, 0);
	CHECK_BROKEN(&r);
	ring_teardown(&r);
}

static void test_avail_idx_jump(void)
{
	struct ring r;

	ring_setup(&r, 8, 0);
	set_desc(r.desc, 0, BUF_GPA, 1, 0, 0);
	r.avail->idx = 8; /* a full ring is fine */
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 0);
	r.avail->idx = 8 + 9;
	CHECK_BROKEN(&r);
	ring_teardown(&r);

	/* backwards is a jump of almost 65536 */
	ring_setup(&r, 8, 0);
	r.avail->idx = 0xffff;
	CHECK_BROKEN(&r);
	ring_teardown(&r);
}

static void test_reset_recovers(void)
{
	struct ring r;

	ring_setup(&r, 8, 0);
	make_available(&r, 9);
	CHECK_BROKEN(&r);
	virtq_reset(&r.q);
	CHECK(!r.q.broken && !r.q.ready);
	CHECK_EQ_INT(r.q.max_size, MAX_SIZE);
	ring_teardown(&r);
	ring_setup(&r, 8, 0);
	set_desc(r.desc, 0, BUF_GPA, 1, 0, 0);
	make_available(&r, 0);
	CHECK_EQ_INT(virtq_pop(&r.q, r.chain), 1);
	ring_teardown(&r);
}

int main(void)
{
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0) {
		fprintf(stderr, "cannot map guest memory\n");
		return 1;
	}
	test_init_bounds();
	test_single_buffer();
	test_multi_buffer_chain();
	test_indirect();
	test_used_ring();
	test_interrupt_flags();
	test_event_idx();
	test_event_idx_threads();
	test_ring_validation();
	test_device_bugs();
	test_bad_indexes();
	test_bad_buffers();
	test_loops_and_long_chains();
	test_bad_indirect();
	test_readable_after_writable();
	test_avail_idx_jump();
	test_reset_recovers();
	gm_destroy(&gm);
	return CHECK_DONE();
}
