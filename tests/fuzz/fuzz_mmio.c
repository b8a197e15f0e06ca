/* The virtio-mmio transport: register reads and writes of any width at any
 * offset in any order (the status state machine, feature negotiation, queue
 * setup with ring addresses from the input, notifications), and guest
 * memory written between them, over a device whose queues pop and push
 * whatever the driver offers. Input format: formats.h.
 *
 * Beside ASan and UBSan: a read fills only the bytes asked for; the status
 * the driver reads has its steps in order; the device is activated only at
 * DRIVER_OK after FEATURES_OK, never twice without a reset between, with
 * features it offered; it is told of a kick only while active, for a queue
 * that is ready; config accesses stay inside the config space. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "fuzz_input.h"
#include "virtio/mmio.h"

/* Guest memory: globals, which ASan gives redzones, not mapped again for
 * each input. */
static uint8_t region0[MMIO_REGION0_SIZE], region1[MMIO_REGION1_SIZE];
static uint8_t *const regions[2] = { region0, region1 };

struct fake_device {
	struct virtio_device vdev;
	struct virtq queues[MMIO_NR_QUEUES];
	struct virtq_chain *chain;
	uint8_t config[MMIO_CONFIG_SIZE];
	bool active;
	struct virtio_mmio *t;
};

static void check_config_access(uint32_t offset, uint32_t len)
{
	FUZZ_CHECK(len >= 1 && len <= 8 && offset + len <= MMIO_CONFIG_SIZE);
}

static void fake_config_read(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
	struct fake_device *f = dev->priv;

	check_config_access(offset, len);
	memcpy(data, f->config + offset, len);
}

static void fake_config_write(struct virtio_device *dev, uint32_t offset, const void *data,
			      uint32_t len)
{
	struct fake_device *f = dev->priv;

	check_config_access(offset, len);
	memcpy(f->config + offset, data, len);
}

static uint64_t offered(const struct virtio_device *dev)
{
	return dev->device_features | (1ull << VIRTIO_F_VERSION_1) |
	       (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX);
}

static int fake_activate(struct virtio_device *dev)
{
	struct fake_device *f = dev->priv;
	uint32_t driver_ok = VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	FUZZ_CHECK(!f->active);
	FUZZ_CHECK((f->t->status & driver_ok) == driver_ok);
	FUZZ_CHECK((dev->negotiated_features & ~offered(dev)) == 0);
	if (f->config[0] == MMIO_CONFIG_FAIL_ACTIVATE)
		return -EIO;
	f->active = true;
	return 0;
}

/* A device that takes every chain offered and gives it back at once. */
static void fake_queue_notify(struct virtio_device *dev, unsigned int queue)
{
	struct fake_device *f = dev->priv;
	struct virtq *q;

	FUZZ_CHECK(f->active && queue < MMIO_NR_QUEUES && f->queues[queue].ready);
	q = &f->queues[queue];
	while (virtio_pop(dev, q, f->chain) == 1)
		virtq_push(q, f->chain->head, 0);
	virtio_signal_used(dev, q);
}

static void fake_reset(struct virtio_device *dev)
{
	struct fake_device *f = dev->priv;

	f->active = false;
}

static const struct virtio_device_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.queue_notify = fake_queue_notify,
	.reset = fake_reset,
};

static void ignore_irq(void *opaque)
{
	(void)opaque;
}

/* The driver's steps, each only after the one before. */
static void check_status(uint32_t status)
{
	static const uint32_t steps[] = { VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER,
					  VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_DRIVER_OK };
	bool missing = false;

	FUZZ_CHECK((status & ~(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK |
			       VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET)) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		FUZZ_CHECK(!(missing && (status & steps[i])));
		missing |= !(status & steps[i]);
	}
}

static uint64_t take_offset(struct input *in, uint8_t action)
{
	return action & MMIO_RAW_OFFSET ? take_u16(in)
					: MMIO_REGISTERS[take_u8(in) % MMIO_NR_REGISTERS];
}

static void mmio_read(struct virtio_mmio *t, uint64_t offset, uint32_t width)
{
	uint8_t data[16];

	memset(data, 0xa5, sizeof(data));
	virtio_mmio_read(t, offset, data, width);
	for (unsigned int i = width; i < sizeof(data); i++)
		FUZZ_CHECK(data[i] == 0xa5);
	if (offset == VIRTIO_MMIO_STATUS && width == 4)
		check_status(le32toh(*(uint32_t *)data));
}

static void poke(struct input *in)
{
	static const uint32_t size[2] = { MMIO_REGION0_SIZE, MMIO_REGION1_SIZE };
	unsigned int r = take_u8(in) & 1;
	uint32_t offset = take_u16(in) % size[r];
	uint32_t len = take_u8(in);

	if (len > size[r] - offset)
		len = size[r] - offset;
	take_bytes(in, regions[r] + offset, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct guest_memory gm = { .nr_regions = 0 };
	struct fake_device f = {
		.vdev = {
			.ops = &fake_ops,
			.priv = &f,
			.device_id = VIRTIO_ID_RNG,
			.device_features = 1ull << 3,
			.config_size = MMIO_CONFIG_SIZE,
			.queues = f.queues,
			.nr_queues = MMIO_NR_QUEUES,
		},
	};
	const struct virtio_mmio_config cfg = { .base = 0xd0000000, .irq = 5,
						.raise_irq = ignore_irq };
	struct virtio_mmio t;

	memset(region0, 0, sizeof(region0));
	memset(region1, 0, sizeof(region1));
	FUZZ_CHECK(gm_add_host(&gm, 0, MMIO_REGION0_SIZE, region0) == 0);
	FUZZ_CHECK(gm_add_host(&gm, MMIO_REGION1_GPA, MMIO_REGION1_SIZE, region1) == 0);
	for (unsigned int i = 0; i < MMIO_NR_QUEUES; i++)
		virtq_init(&f.queues[i], MMIO_QUEUE_MAX);
	f.chain = virtq_chain_alloc(&f.queues[0]);
	FUZZ_CHECK(f.chain && virtio_mmio_init(&t, &f.vdev, &gm, &cfg) == 0);
	f.t = &t;

	while (!input_empty(&in)) {
		uint8_t action = take_u8(&in);
		uint32_t width = MMIO_WIDTHS[(action >> 2) & 7];
		uint64_t offset, value;

		switch (action & 3) {
		case MMIO_READ:
			mmio_read(&t, take_offset(&in, action), width);
			break;
		case MMIO_WRITE:
			offset = take_offset(&in, action);
			value = take_le(&in, width);
			value = htole64(value);
			virtio_mmio_write(&t, offset, &value, width);
			break;
		case MMIO_POKE:
			poke(&in);
			break;
		case MMIO_NOTIFY:
			virtio_mmio_notify(&t, take_u8(&in));
			break;
		}
		FUZZ_CHECK(f.active == t.active);
	}

	virtio_mmio_destroy(&t);
	free(f.chain);
	return 0;
}
