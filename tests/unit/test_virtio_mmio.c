/* The virtio-mmio register file, driven the way a guest driver would (and the
 * ways a hostile one might), over a fake device that counts what reaches it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "check.h"
#include "mmio_access.h"
#include "virtio/mmio.h"

#define MEM_SIZE 0x100000
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define BUF_GPA 0x10000
#define SLOT_BASE 0xd0000000ull
#define SLOT_IRQ 5
#define NR_QUEUES 2
#define QUEUE_MAX 16
#define DEVICE_FEATURE_BIT 3

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK

static struct guest_memory gm;

struct fake_device {
	struct virtio_device vdev;
	struct virtq queues[NR_QUEUES];
	uint8_t config[12];
	int activate_result;
	unsigned int activations, resets, irqs;
	unsigned int notified[NR_QUEUES];
};

static void fake_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct fake_device *f = dev->priv;

	memcpy(data, f->config + offset, len);
}

static void fake_config_write(struct virtio_device *dev, uint32_t offset, const void *data,
			      uint32_t len)
{
	struct fake_device *f = dev->priv;

	memcpy(f->config + offset, data, len);
}

static int fake_activate(struct virtio_device *dev)
{
	struct fake_device *f = dev->priv;

	f->activations++;
	return f->activate_result;
}

static void fake_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct fake_device *f = dev->priv;

	f->notified[queue]++;
}

static void fake_reset(struct virtio_device *dev)
{
	struct fake_device *f = dev->priv;

	f->resets++;
}

static const struct virtio_device_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.queue_notify = fake_queue_notify,
	.reset = fake_reset,
};

static void count_irq(void *opaque)
{
	struct fake_device *f = opaque;

	f->irqs++;
}

static void fake_setup(struct fake_device *f, struct virtio_mmio *t)
{
	const struct virtio_mmio_config cfg = {
		.base = SLOT_BASE, .irq = SLOT_IRQ, .raise_irq = count_irq, .irq_opaque = f,
	};

	memset(gm_ptr(&gm, 0, MEM_SIZE), 0, MEM_SIZE);
	*f = (struct fake_device){
		.vdev = {
			.ops = &fake_ops,
			.priv = f,
			.device_id = VIRTIO_ID_RNG,
			.device_features = 1ull << DEVICE_FEATURE_BIT,
			.config_size = sizeof(f->config),
			.queues = f->queues,
			.nr_queues = NR_QUEUES,
		},
		.config = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 },
	};
	for (int i = 0; i < NR_QUEUES; i++)
		virtq_init(&f->queues[i], QUEUE_MAX);
	CHECK_EQ_INT(virtio_mmio_init(t, &f->vdev, &gm, &cfg), 0);
}

static uint64_t ignored(const struct fake_device *f)
{
	return f->vdev.counters.ignored_accesses;
}

static void write_driver_features(struct virtio_mmio *t, uint64_t features)
{
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, features >> 32);
}

/* The driver up to FEATURES_OK with features; returns the status it reads. */
static uint32_t negotiate(struct virtio_mmio *t, uint64_t features)
{
	wr(t, VIRTIO_MMIO_STATUS, S_ACK);
	wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	write_driver_features(t, features);
	wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return rd(t, VIRTIO_MMIO_STATUS);
}

static void setup_queue(struct virtio_mmio *t, uint32_t queue, uint32_t size, uint64_t desc,
			uint64_t avail, uint64_t used)
{
	wr(t, VIRTIO_MMIO_QUEUE_SEL, queue);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32);
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Negotiated, queue 0 ready, DRIVER_OK. */
static void bring_up(struct fake_device *f, struct virtio_mmio *t)
{
	fake_setup(f, t);
	CHECK_EQ_INT(negotiate(t, 1ull << VIRTIO_F_VERSION_1), S_ACK | S_DRIVER | S_FEATURES_OK);
	setup_queue(t, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	CHECK_EQ_INT(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ_INT(f->activations, 1);
}

static void test_identity(void)
{
	struct fake_device f;
	struct virtio_mmio t;

	fake_setup(&f, &t);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR_KRUN);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_SHM_LEN_LOW), UINT32_MAX);
	CHECK_EQ_INT(ignored(&f), 0);
	virtio_mmio_destroy(&t);
}

static void test_access_widths(void)
{
	struct fake_device f;
	struct virtio_mmio t;
	uint8_t data[8];
	uint32_t status = S_ACK;

	fake_setup(&f, &t);
	memset(data, 0xff, sizeof(data));
	virtio_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE, data, 2);
	CHECK(data[0] == 0 && data[1] == 0 && data[2] == 0xff);
	memset(data, 0xff, sizeof(data));
	virtio_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE, data, 8);
	CHECK(data[0] == 0 && data[7] == 0);
	virtio_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE + 1, data, 4);
	CHECK(data[0] == 0);
	virtio_mmio_write(&t, VIRTIO_MMIO_STATUS, &status, 1);
	virtio_mmio_write(&t, VIRTIO_MMIO_STATUS + 2, &status, 4);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ_INT(ignored(&f), 5);
	/* write-only, legacy and unknown registers */
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	wr(&t, VIRTIO_MMIO_QUEUE_PFN, 1);
	wr(&t, VIRTIO_MMIO_MAGIC_VALUE, 0);
	CHECK_EQ_INT(rd(&t, 0xf0), 0);
	CHECK_EQ_INT(ignored(&f), 9);
	virtio_mmio_destroy(&t);
}

static void test_device_features(void)
{
	struct fake_device f;
	struct virtio_mmio t;

	fake_setup(&f, &t);
	wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_DEVICE_FEATURES),
		     (1u << DEVICE_FEATURE_BIT) | (1u << VIRTIO_RING_F_INDIRECT_DESC) |
			     (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(&t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	virtio_mmio_destroy(&t);
}

static void test_status_transitions(void)
{
	struct fake_device f;
	struct virtio_mmio t;
	static const uint32_t illegal_from_zero[] = {
		S_DRIVER,	     /* skips ACKNOWLEDGE */
		S_ACK | S_DRIVER_OK, /* skips DRIVER, FEATURES_OK */
		S_ACK | 0x100,	     /* unknown bit */
	};

	fake_setup(&f, &t);
	for (size_t i = 0; i < sizeof(illegal_from_zero) / sizeof(illegal_from_zero[0]); i++) {
		wr(&t, VIRTIO_MMIO_STATUS, illegal_from_zero[i]);
		CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), 0);
	}
	/* Several steps in one write are in order, but FEATURES_OK does not
	 * latch: no features were written, so no VERSION_1. */
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER);
	CHECK_EQ_INT(ignored(&f), 4);

	wr(&t, VIRTIO_MMIO_STATUS, S_ACK); /* clears DRIVER */
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER);
	CHECK_EQ_INT(f.activations, 0);
	/* NEEDS_RESET echoed back is not the driver's to set */
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | VIRTIO_CONFIG_S_FAILED);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER | VIRTIO_CONFIG_S_FAILED);
	CHECK_EQ_INT(ignored(&f), 6);

	wr(&t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ_INT(f.resets, 1);
	virtio_mmio_destroy(&t);
}

static void test_feature_negotiation(void)
{
	const uint64_t version_1 = 1ull << VIRTIO_F_VERSION_1;
	const uint64_t refused[] = {
		0,
		1ull << DEVICE_FEATURE_BIT,		/* no VERSION_1 */
		version_1 | (1ull << 5),		/* not offered */
		version_1 | (1ull << VIRTIO_F_RING_PACKED),
	};
	const uint64_t accepted = version_1 | (1ull << DEVICE_FEATURE_BIT) |
				  (1ull << VIRTIO_RING_F_EVENT_IDX);
	struct fake_device f;
	struct virtio_mmio t;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		fake_setup(&f, &t);
		CHECK_EQ_INT(negotiate(&t, refused[i]), S_ACK | S_DRIVER);
		CHECK_EQ_INT(f.vdev.negotiated_features, 0);
		virtio_mmio_destroy(&t);
	}

	/* a bit beyond the 64 we offer */
	fake_setup(&f, &t);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	wr(&t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(&t, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	CHECK_EQ_INT(negotiate(&t, version_1), S_ACK | S_DRIVER);
	virtio_mmio_destroy(&t);

	/* features written before DRIVER are ignored */
	fake_setup(&f, &t);
	write_driver_features(&t, accepted);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), S_ACK | S_DRIVER);
	virtio_mmio_destroy(&t);

	fake_setup(&f, &t);
	CHECK_EQ_INT(negotiate(&t, accepted), S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK_EQ_INT(f.vdev.negotiated_features, accepted);
	CHECK(virtio_has_feature(&f.vdev, VIRTIO_RING_F_EVENT_IDX));
	CHECK(!virtio_has_feature(&f.vdev, VIRTIO_RING_F_INDIRECT_DESC));
	/* and frozen after FEATURES_OK */
	write_driver_features(&t, version_1);
	CHECK_EQ_INT(f.vdev.negotiated_features, accepted);
	wr(&t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(f.vdev.negotiated_features, 0);
	virtio_mmio_destroy(&t);
}

static void test_queue_sel_out_of_range(void)
{
	static const uint32_t selectors[] = { NR_QUEUES, 1000, UINT32_MAX };
	struct fake_device f;
	struct virtio_mmio t;

	fake_setup(&f, &t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	for (size_t i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++) {
		uint64_t before = ignored(&f);

		wr(&t, VIRTIO_MMIO_QUEUE_SEL, selectors[i]);
		CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
		CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
		setup_queue(&t, selectors[i], 8, DESC_GPA, AVAIL_GPA, USED_GPA);
		CHECK_EQ_INT(ignored(&f) - before, 8);
	}
	for (int i = 0; i < NR_QUEUES; i++)
		CHECK(f.queues[i].size == 0 && !f.queues[i].ready);
	CHECK_EQ_INT(f.vdev.counters.broken_driver, 0);
	wr(&t, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_NUM_MAX), QUEUE_MAX);
	virtio_mmio_destroy(&t);
}

static void test_queue_setup_window(void)
{
	struct fake_device f;
	struct virtio_mmio t;

	/* before FEATURES_OK */
	fake_setup(&f, &t);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	setup_queue(&t, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	CHECK(f.queues[0].size == 0 && !f.queues[0].ready);
	virtio_mmio_destroy(&t);

	/* a ready queue is frozen until the driver makes it not ready */
	fake_setup(&f, &t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(&t, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ_INT(f.queues[0].size, 8);
	wr(&t, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(&t, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ_INT(f.queues[0].size, 4);
	virtio_mmio_destroy(&t);

	/* after DRIVER_OK, nothing */
	bring_up(&f, &t);
	wr(&t, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ_INT(f.queues[0].size, 8);
	setup_queue(&t, 1, 8, DESC_GPA + 0x4000, AVAIL_GPA + 0x4000, USED_GPA + 0x4000);
	CHECK(f.queues[1].size == 0 && !f.queues[1].ready);
	wr(&t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(&t, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_READY), 1);
	virtio_mmio_destroy(&t);
}

static void test_invalid_rings_need_reset(void)
{
	struct fake_device f;
	struct virtio_mmio t;

	fake_setup(&f, &t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 1, 8, MEM_SIZE, AVAIL_GPA, USED_GPA);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ_INT(f.irqs, 1);
	CHECK_EQ_INT(f.vdev.counters.broken_driver, 1);
	/* another bad queue: still one event */
	setup_queue(&t, 0, 3, DESC_GPA, AVAIL_GPA, USED_GPA);
	CHECK_EQ_INT(f.vdev.counters.broken_driver, 1);
	/* a device that needs reset is not started */
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ_INT(f.activations, 0);
	wr(&t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_mmio_destroy(&t);
}

static void test_activate_failure(void)
{
	struct fake_device f;
	struct virtio_mmio t;

	fake_setup(&f, &t);
	f.activate_result = -ENOMEM;
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ_INT(f.activations, 1);
	CHECK(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ_INT(f.vdev.counters.broken_driver, 0);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ_INT(f.notified[0], 0);
	virtio_mmio_destroy(&t);
}

static void test_notify(void)
{
	struct fake_device f;
	struct virtio_mmio t;

	/* kicks before DRIVER_OK are dropped */
	fake_setup(&f, &t);
	negotiate(&t, 1ull << VIRTIO_F_VERSION_1);
	setup_queue(&t, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ_INT(f.notified[0], 0);
	virtio_mmio_destroy(&t);

	bring_up(&f, &t);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio_notify(&t, 0); /* the ioeventfd path */
	CHECK_EQ_INT(f.notified[0], 2);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* not ready */
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, NR_QUEUES);
	virtio_mmio_notify(&t, UINT32_MAX);
	CHECK_EQ_INT(f.notified[1], 0);
	CHECK_EQ_INT(f.vdev.counters.notifications, 2);
	virtio_mmio_destroy(&t);
}

/* The device's side: serve a chain, interrupt, then a broken one. */
static void test_device_io(void)
{
	struct fake_device f;
	struct virtio_mmio t;
	struct vring_desc *desc = gm_ptr(&gm, DESC_GPA, 1);
	struct vring_avail *avail = gm_ptr(&gm, AVAIL_GPA, 1);
	struct virtq *q = &f.queues[0];
	struct virtq_chain *chain;

	bring_up(&f, &t);
	chain = virtq_chain_alloc(q);
	desc[0] = (struct vring_desc){ .addr = BUF_GPA, .len = 64, .flags = VRING_DESC_F_WRITE };
	avail->ring[0] = 0;
	avail->idx = 1;
	CHECK_EQ_INT(virtio_pop(&f.vdev, q, chain), 1);
	CHECK_EQ_INT(virtq_push(q, chain->head, 64), 0);
	virtio_signal_used(&f.vdev, q);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	CHECK_EQ_INT(f.irqs, 1);
	wr(&t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* the driver suppressed interrupts */
	avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	avail->ring[1] = 0;
	avail->idx = 2;
	CHECK_EQ_INT(virtio_pop(&f.vdev, q, chain), 1);
	virtq_push(q, chain->head, 0);
	virtio_signal_used(&f.vdev, q);
	CHECK_EQ_INT(f.irqs, 1);

	/* a broken chain: NEEDS_RESET, a config interrupt, kicks dropped */
	avail->ring[2] = 100;
	avail->idx = 3;
	CHECK_EQ_INT(virtio_pop(&f.vdev, q, chain), -EIO);
	CHECK_EQ_INT(virtio_pop(&f.vdev, q, chain), -EIO);
	CHECK(rd(&t, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ_INT(f.irqs, 2);
	CHECK_EQ_INT(f.vdev.counters.broken_driver, 1);
	CHECK_EQ_INT(f.vdev.counters.interrupts, 2);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ_INT(f.notified[0], 0);

	/* reset brings everything back */
	wr(&t, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ_INT(f.resets, 1);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(!q->broken && !q->ready && q->size == 0);
	free(chain);

	/* and up again */
	CHECK_EQ_INT(negotiate(&t, 1ull << VIRTIO_F_VERSION_1), S_ACK | S_DRIVER | S_FEATURES_OK);
	setup_queue(&t, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(&t, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ_INT(f.activations, 2);
	wr(&t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ_INT(f.notified[0], 1);
	virtio_mmio_destroy(&t);
}

static void test_config_space(void)
{
	struct fake_device f;
	struct virtio_mmio t;
	uint64_t wide = 0;
	uint16_t half = 0xabcd;
	uint8_t data[8];

	fake_setup(&f, &t);
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 1, data, 1);
	CHECK_EQ_INT(data[0], 2);
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 4, &wide, 8);
	CHECK(memcmp(&wide, f.config + 4, 8) == 0);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_CONFIG + 8), 0x0c0b0a09);
	virtio_mmio_write(&t, VIRTIO_MMIO_CONFIG + 2, &half, 2);
	CHECK(f.config[2] == 0xcd && f.config[3] == 0xab);
	CHECK_EQ_INT(ignored(&f), 0);

	/* past the end, odd widths, far away */
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_CONFIG + 10), 0);
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 12, data, 1);
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG, data, 3);
	virtio_mmio_read(&t, UINT64_MAX - 3, data, 4);
	virtio_mmio_write(&t, VIRTIO_MMIO_CONFIG + 8, &wide, 8);
	CHECK_EQ_INT(ignored(&f), 5);
	CHECK_EQ_INT(f.config[11], 12);

	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_config_changed(&f.vdev);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	CHECK_EQ_INT(rd(&t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ_INT(f.irqs, 1);
	virtio_mmio_destroy(&t);
}

static void test_vmm_helpers(void)
{
	struct fake_device f;
	struct virtio_mmio t;
	struct virtio_mmio_notify_match match;

	fake_setup(&f, &t);
	CHECK_EQ_INT(virtio_mmio_notify_match(&t, 1, &match), 0);
	CHECK_EQ_INT(match.gpa, SLOT_BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
	CHECK_EQ_INT(match.len, 4);
	CHECK_EQ_INT(match.datamatch, 1);
	CHECK_EQ_INT(virtio_mmio_notify_match(&t, NR_QUEUES, &match), -EINVAL);
	virtio_mmio_destroy(&t);

	/* a config space that does not fit the slot */
	f.vdev.config_size = VIRTIO_MMIO_SLOT_SIZE;
	CHECK_EQ_INT(virtio_mmio_init(&t, &f.vdev, &gm,
				      &(struct virtio_mmio_config){ .raise_irq = count_irq }),
		     -EINVAL);
}

int main(void)
{
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0) {
		fprintf(stderr, "cannot map guest memory\n");
		return 1;
	}
	test_identity();
	test_access_widths();
	test_device_features();
	test_status_transitions();
	test_feature_negotiation();
	test_queue_sel_out_of_range();
	test_queue_setup_window();
	test_invalid_rings_need_reset();
	test_activate_failure();
	test_notify();
	test_device_io();
	test_config_space();
	test_vmm_helpers();
	gm_destroy(&gm);
	return CHECK_DONE();
}
