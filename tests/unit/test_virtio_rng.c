/* virtio-rng through the MMIO transport, with the test as the guest's
 * driver: requests filled with random bytes, and what a hostile driver
 * sends (zero-length and read-only buffers, a huge buffer, a flood of
 * chains) answered within the device's bounds: each request at most
 * RNG_MAX_REQUEST_BYTES, the burst, then RNG_RATE_BYTES_PER_S measured over
 * a second and more, the rest left waiting in the ring for the timer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "base/event_loop.h"
#include "base/log.h"
#include "check.h"
#include "devices/rng/rng.h"
#include "virtio/mmio.h"
#include "virtq_driver.h"

#define MEM_SIZE (32u << 20) /* a ring of 256 requests of RNG_MAX_REQUEST_BYTES */
#define QUEUE_SIZE 256
#define RINGS_GPA 0x1000
#define BUFS_GPA 0x10000
#define SLOT_BASE 0xd0000000ull

static struct guest_memory gm;

struct bench {
	struct event_loop loop;
	struct rng rng;
	struct virtio_mmio t;
	struct virtq_driver driver;
	unsigned int irqs;
};

static void count_irq(void *opaque)
{
	((struct bench *)opaque)->irqs++;
}

static void bench_init(struct bench *b)
{
	const struct virtio_mmio_config cfg = {
		.base = SLOT_BASE, .irq = 5, .raise_irq = count_irq, .irq_opaque = b,
	};

	*b = (struct bench){ 0 };
	b->driver = (struct virtq_driver){
		.t = &b->t, .gm = &gm, .queue_size = QUEUE_SIZE, .rings_gpa = RINGS_GPA,
		.bufs_gpa = BUFS_GPA, .bufs_end = MEM_SIZE,
	};
	CHECK_EQ_INT(event_loop_init(&b->loop), 0);
	CHECK_EQ_INT(rng_init(&b->rng, &b->loop), 0);
	CHECK_EQ_INT(virtio_mmio_init(&b->t, &b->rng.vdev, &gm, &cfg), 0);
	CHECK_EQ_INT(rd(&b->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	vqd_start(&b->driver, 1ull << 32 /* VERSION_1 */, 1);
}

static void bench_destroy(struct bench *b)
{
	virtio_mmio_destroy(&b->t);
	rng_destroy(&b->rng);
	event_loop_destroy(&b->loop);
}

static uint16_t add_request(struct bench *b, struct vqd_seg *seg)
{
	return vqd_add_chain(&b->driver, 0, seg, 1);
}

/* Random bytes: not all zero, not all alike (a 1 in 2^(8n) chance). */
static bool looks_random(uint64_t gpa, uint32_t len)
{
	const uint8_t *p = gm_ptr(&gm, gpa, len);
	bool differ = false;

	for (uint32_t i = 1; i < len; i++)
		differ |= p[i] != p[0];
	return differ;
}

static void test_requests(void)
{
	struct bench b;
	struct vqd_seg small = { .len = 64 }, two[] = { { .len = 16 }, { .len = 48 } };

	bench_init(&b);
	add_request(&b, &small);
	vqd_kick(&b.driver, 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, 0), 1);
	CHECK_EQ_INT(vqd_used_len(&b.driver, 0, 1), 64);
	CHECK(looks_random(small.gpa, 64));
	CHECK(b.irqs >= 1);

	/* a chain of two buffers: both filled */
	vqd_add_chain(&b.driver, 0, two, 2);
	vqd_kick(&b.driver, 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, 0), 2);
	CHECK_EQ_INT(vqd_used_len(&b.driver, 0, 2), 64);
	CHECK(looks_random(two[1].gpa, 48));
	CHECK_EQ_INT(b.rng.counters.bytes, 128);
	bench_destroy(&b);
}

/* Zero-length buffers (the transport drops them: an empty chain), read-only
 * buffers and a buffer far beyond a request's bound. */
static void test_hostile_chains(void)
{
	struct bench b;
	static const char ro_data[32] = "readable only";
	struct vqd_seg empty = { .len = 0 }, ro = { .data = ro_data, .len = sizeof(ro_data) };
	struct vqd_seg huge = { .len = 4u << 20 };
	struct vqd_seg mixed[] = { { .data = ro_data, .len = 8 }, { .len = 32 } };

	bench_init(&b);
	add_request(&b, &ro);
	vqd_kick(&b.driver, 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, 0), 1);
	CHECK_EQ_INT(vqd_used_len(&b.driver, 0, 1), 0);
	CHECK(memcmp(gm_ptr(&gm, ro.gpa, sizeof(ro_data)), ro_data, sizeof(ro_data)) == 0);

	add_request(&b, &huge);
	vqd_kick(&b.driver, 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, 0), 2);
	CHECK_EQ_INT(vqd_used_len(&b.driver, 0, 2), RNG_MAX_REQUEST_BYTES);
	const uint8_t *tail = gm_ptr(&gm, huge.gpa + RNG_MAX_REQUEST_BYTES, 4096);
	bool untouched = true;
	for (int i = 0; i < 4096; i++)
		untouched &= tail[i] == 0;
	CHECK(untouched);

	/* readable bytes first, then room: only the room is written */
	vqd_add_chain(&b.driver, 0, mixed, 2);
	vqd_kick(&b.driver, 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, 0), 3);
	CHECK_EQ_INT(vqd_used_len(&b.driver, 0, 3), 32);

	/* an empty chain breaks the ring's rules: the device asks for a reset */
	add_request(&b, &empty);
	vqd_kick(&b.driver, 0);
	CHECK(rd(&b.t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET ||
	      vqd_used_len(&b.driver, 0, 4) == 0);
	bench_destroy(&b);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A driver that keeps the ring full of large requests gets the burst, then
 * the rate; requests beyond it wait in the ring (not pushed back empty)
 * and the timer, not the guest's kicks, paces them. Tiny requests are
 * charged RNG_REQUEST_COST_MIN each. */
static void test_rate_bound(void)
{
	struct bench b;
	struct timespec start;
	struct vqd_seg seg;
	uint16_t given = 0;

	bench_init(&b);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned int i = 0; i < QUEUE_SIZE; i++) {
		seg = (struct vqd_seg){ .len = RNG_MAX_REQUEST_BYTES };
		add_request(&b, &seg);
	}
	vqd_kick(&b.driver, 0);
	given = vqd_used_idx(&b.driver, 0);
	/* the burst, and what the microseconds since earned: no more */
	uint64_t burst = b.rng.counters.bytes;
	CHECK(burst >= RNG_BURST_BYTES &&
	      burst <= RNG_BURST_BYTES + seconds_since(&start) * RNG_RATE_BYTES_PER_S);
	CHECK(given < QUEUE_SIZE / 2);
	for (int i = 0; i < 100; i++)
		vqd_kick(&b.driver, 0); /* kicking does not earn more */
	CHECK(b.rng.counters.bytes - burst < RNG_REFILL_WAIT_BYTES);

	/* 1.5 s of the loop: the timer paces the rest */
	while (seconds_since(&start) < 1.5)
		event_loop_run_once(&b.loop, 100);
	double secs = seconds_since(&start);
	uint64_t bytes = b.rng.counters.bytes;
	uint64_t bound = RNG_BURST_BYTES + (uint64_t)(secs * RNG_RATE_BYTES_PER_S);
	CHECK(bytes <= bound);
	CHECK(bytes >= RNG_BURST_BYTES + RNG_RATE_BYTES_PER_S); /* and it does serve */
	/* each wake-up waited for RNG_REFILL_WAIT_BYTES at least */
	CHECK(b.rng.counters.deferred <= 2 + secs * RNG_RATE_BYTES_PER_S / RNG_REFILL_WAIT_BYTES);
	bench_destroy(&b);

	/* tiny requests cost RNG_REQUEST_COST_MIN each: the burst pays for
	 * RNG_BURST_BYTES / RNG_REQUEST_COST_MIN of them */
	bench_init(&b);
	for (unsigned int i = 0; i < QUEUE_SIZE; i++) {
		seg = (struct vqd_seg){ .len = 1 };
		add_request(&b, &seg);
	}
	vqd_kick(&b.driver, 0);
	CHECK(b.rng.counters.requests <= RNG_BURST_BYTES / RNG_REQUEST_COST_MIN + 1);
	bench_destroy(&b);
}

/* A reset stops the timer and keeps the bucket: no bytes for resetting. */
static void test_reset(void)
{
	struct bench b;
	struct vqd_seg seg;

	bench_init(&b);
	for (int i = 0; i < 8; i++) {
		seg = (struct vqd_seg){ .len = RNG_MAX_REQUEST_BYTES };
		add_request(&b, &seg);
	}
	vqd_kick(&b.driver, 0);
	CHECK(b.rng.timer_armed);
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	CHECK(!b.rng.timer_armed && !b.rng.active);
	uint64_t before = b.rng.counters.bytes;
	vqd_start(&b.driver, 1ull << 32, 1);
	seg = (struct vqd_seg){ .len = RNG_MAX_REQUEST_BYTES };
	add_request(&b, &seg);
	vqd_kick(&b.driver, 0);
	CHECK(b.rng.counters.bytes - before < RNG_REFILL_WAIT_BYTES + RNG_MAX_REQUEST_BYTES / 4);
	bench_destroy(&b);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0)
		return 1;
	test_requests();
	test_hostile_chains();
	test_rate_bound();
	test_reset();
	return CHECK_DONE();
}
