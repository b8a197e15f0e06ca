#include "virtio/mmio.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "base/log.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2

/* The driver's steps, each allowed only after the one before. */
static const uint32_t status_steps[] = {
	VIRTIO_CONFIG_S_ACKNOWLEDGE,
	VIRTIO_CONFIG_S_DRIVER,
	VIRTIO_CONFIG_S_FEATURES_OK,
	VIRTIO_CONFIG_S_DRIVER_OK,
};

#define STATUS_DRIVER_BITS                                                              \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | \
	 VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)

static void refuse(struct virtio_mmio *t, const char *what, uint64_t offset, uint64_t value)
{
	atomic_fetch_add(&t->dev->counters.ignored_accesses, 1);
	LOG_RATELIMITED(LOG_WARN, "virtio-mmio@%#" PRIx64 ": %s (offset %#" PRIx64
			", value %#" PRIx64 "), ignored", t->cfg.base, what, offset, value);
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t cause)
{
	atomic_fetch_or(&t->interrupt_status, cause);
	atomic_fetch_add(&t->dev->counters.interrupts, 1);
	t->cfg.raise_irq(t->cfg.irq_opaque);
}

/* The transport ops a device calls, from any thread, without the lock. */

static void mmio_signal_used(struct virtio_device *dev)
{
	raise_interrupt(dev->transport_priv, VIRTIO_MMIO_INT_VRING);
}

static void mmio_config_changed(struct virtio_device *dev)
{
	struct virtio_mmio *t = dev->transport_priv;

	atomic_fetch_add(&t->config_generation, 1);
	raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

/* DEVICE_NEEDS_RESET and a config interrupt, once until the driver resets
 * the device; false when it was set already. */
static bool enter_needs_reset(struct virtio_mmio *t)
{
	if (atomic_exchange(&t->needs_reset, true))
		return false;
	LOG_RATELIMITED(LOG_WARN, "virtio-mmio@%#" PRIx64 ": device needs reset", t->cfg.base);
	raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
	return true;
}

static void mmio_needs_reset(struct virtio_device *dev)
{
	if (enter_needs_reset(dev->transport_priv))
		atomic_fetch_add(&dev->counters.broken_driver, 1);
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.signal_used = mmio_signal_used,
	.config_changed = mmio_config_changed,
	.needs_reset = mmio_needs_reset,
};

int virtio_mmio_init(struct virtio_mmio *t, struct virtio_device *dev,
		     const struct guest_memory *gm, const struct virtio_mmio_config *cfg)
{
	const struct virtio_device_ops *ops = dev->ops;
	int ret;

	if (!ops || !ops->activate || !ops->queue_notify || !ops->reset || !cfg->raise_irq ||
	    (dev->nr_queues && !dev->queues) ||
	    dev->config_size > VIRTIO_MMIO_SLOT_SIZE - VIRTIO_MMIO_CONFIG ||
	    (dev->config_size && !ops->config_read))
		return -EINVAL;
	*t = (struct virtio_mmio){ .dev = dev, .gm = gm, .cfg = *cfg };
	if ((ret = pthread_mutex_init(&t->lock, NULL)) != 0)
		return -ret;
	dev->transport = &mmio_transport_ops;
	dev->transport_priv = t;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
	t->dev->transport = NULL;
	t->dev->transport_priv = NULL;
}

static uint64_t offered_features(const struct virtio_device *dev)
{
	return dev->device_features | (1ull << VIRTIO_F_VERSION_1) |
	       (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX);
}

/* NULL when QueueSel names no queue: the guest chooses its value. */
static struct virtq *selected_queue(const struct virtio_mmio *t)
{
	return t->queue_sel < t->dev->nr_queues ? &t->dev->queues[t->queue_sel] : NULL;
}

static uint32_t read_status(const struct virtio_mmio *t)
{
	return t->status | (atomic_load(&t->needs_reset) ? VIRTIO_CONFIG_S_NEEDS_RESET : 0);
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
	struct virtq *q = selected_queue(t);
	uint64_t features = offered_features(t->dev);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->dev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR_KRUN;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel == 0   ? (uint32_t)features
		       : t->device_features_sel == 1 ? (uint32_t)(features >> 32)
						     : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&t->interrupt_status);
	case VIRTIO_MMIO_STATUS:
		return read_status(t);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return UINT32_MAX; /* length -1: no shared memory region at any index */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return atomic_load(&t->config_generation);
	default:
		refuse(t, "read of a write-only or unknown register", offset, 0);
		return 0;
	}
}

/* Back to the state after virtio_mmio_init. The device first, so that no
 * worker touches a queue while it is reset. */
static void reset_device(struct virtio_mmio *t)
{
	struct virtio_device *dev = t->dev;

	dev->ops->reset(dev);
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		virtq_reset(&dev->queues[i]);
	dev->negotiated_features = 0;
	t->status = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->driver_features = 0;
	t->driver_features_beyond_64 = false;
	t->queue_sel = 0;
	t->active = false;
	atomic_store(&t->interrupt_status, 0);
	atomic_store(&t->needs_reset, false);
}

/* FEATURES_OK latches only for a subset of what we offer with VERSION_1:
 * this transport speaks nothing older. */
static bool accept_features(struct virtio_mmio *t)
{
	if (t->driver_features_beyond_64 || (t->driver_features & ~offered_features(t->dev)) ||
	    !(t->driver_features & (1ull << VIRTIO_F_VERSION_1))) {
		refuse(t, "features not offered, or without VERSION_1", VIRTIO_MMIO_STATUS,
		       t->driver_features);
		return false;
	}
	t->dev->negotiated_features = t->driver_features;
	return true;
}

static void activate_device(struct virtio_mmio *t)
{
	if (atomic_load(&t->needs_reset)) {
		refuse(t, "DRIVER_OK on a device that needs reset", VIRTIO_MMIO_STATUS, t->status);
		return;
	}
	if (t->dev->ops->activate(t->dev) < 0) {
		enter_needs_reset(t); /* the device's failure, not the driver's */
		return;
	}
	t->active = true;
}

static bool steps_in_order(uint32_t status)
{
	bool missing = false;

	for (size_t i = 0; i < sizeof(status_steps) / sizeof(status_steps[0]); i++) {
		if (!(status & status_steps[i]))
			missing = true;
		else if (missing)
			return false;
	}
	return true;
}

static void write_status(struct virtio_mmio *t, uint32_t value)
{
	uint32_t added;

	if (value == 0) {
		reset_device(t);
		return;
	}
	/* NEEDS_RESET is the device's; a driver writing back what it read may
	 * echo it. */
	value &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
	if ((value & ~STATUS_DRIVER_BITS) || (t->status & ~value) || !steps_in_order(value)) {
		refuse(t, "illegal status transition", VIRTIO_MMIO_STATUS, value);
		return;
	}
	added = value & ~t->status;
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !accept_features(t)) {
		/* not latched, nor any step that needs it */
		value &= ~(VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
		added &= ~(VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	}
	t->status = value;
	if (added & VIRTIO_CONFIG_S_DRIVER_OK)
		activate_device(t);
}

static void write_driver_features(struct virtio_mmio *t, uint32_t value)
{
	if ((t->status & (VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)) !=
	    VIRTIO_CONFIG_S_DRIVER) {
		refuse(t, "driver features outside negotiation", VIRTIO_MMIO_DRIVER_FEATURES, value);
		return;
	}
	switch (t->driver_features_sel) {
	case 0:
		t->driver_features = (t->driver_features & ~0xffffffffull) | value;
		break;
	case 1:
		t->driver_features = (t->driver_features & 0xffffffffull) | (uint64_t)value << 32;
		break;
	default:
		if (value)
			t->driver_features_beyond_64 = true;
	}
}

static void set_low(uint64_t *gpa, uint32_t value)
{
	*gpa = (*gpa & ~0xffffffffull) | value;
}

static void set_high(uint64_t *gpa, uint32_t value)
{
	*gpa = (*gpa & 0xffffffffull) | (uint64_t)value << 32;
}

/* Queue registers: only while setting up (FEATURES_OK, not yet DRIVER_OK),
 * and only for a queue that is not ready. */
static void write_queue_register(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	struct virtq *q = selected_queue(t);

	if (!q) {
		refuse(t, "queue register, QueueSel out of range", offset, t->queue_sel);
		return;
	}
	/* Linux disables its queues this way after resetting the device:
	 * already true, so nothing to refuse. */
	if (offset == VIRTIO_MMIO_QUEUE_READY && value == 0 && !q->ready)
		return;
	if ((t->status & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)) !=
	    VIRTIO_CONFIG_S_FEATURES_OK) {
		refuse(t, "queue register outside queue setup", offset, value);
		return;
	}
	if (q->ready && offset != VIRTIO_MMIO_QUEUE_READY) {
		refuse(t, "queue register of a ready queue", offset, value);
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->size = value;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_low(&q->desc_gpa, value);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_high(&q->desc_gpa, value);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_low(&q->avail_gpa, value);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_high(&q->avail_gpa, value);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_low(&q->used_gpa, value);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_high(&q->used_gpa, value);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (value > 1)
			refuse(t, "QueueReady neither 0 nor 1", offset, value);
		else if (value == 0)
			q->ready = false;
		else if (virtq_enable(q, t->gm, t->dev->negotiated_features) < 0)
			mmio_needs_reset(t->dev);
		break;
	}
}

static void notify_locked(struct virtio_mmio *t, uint32_t queue)
{
	struct virtio_device *dev = t->dev;

	if (!t->active || atomic_load(&t->needs_reset) || queue >= dev->nr_queues ||
	    !dev->queues[queue].ready) {
		refuse(t, "notification for no active queue", VIRTIO_MMIO_QUEUE_NOTIFY, queue);
		return;
	}
	atomic_fetch_add(&dev->counters.notifications, 1);
	dev->ops->queue_notify(dev, queue);
}

static void write_register(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = value;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(t, value);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = value;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = value;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_register(t, offset, value);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		notify_locked(t, value);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&t->interrupt_status, ~value);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, value);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no regions: every index reads back as absent */
	default:
		refuse(t, "write to a read-only or unknown register", offset, value);
	}
}

/* Config space takes 1, 2, 4 or 8 bytes wholly inside config_size. */
static bool config_access_ok(struct virtio_mmio *t, uint64_t offset, uint32_t len)
{
	uint64_t config_offset = offset - VIRTIO_MMIO_CONFIG;

	if (len == 0 || len > 8 || (len & (len - 1)) || config_offset > t->dev->config_size ||
	    len > t->dev->config_size - config_offset) {
		refuse(t, "config access outside config space or of odd width", offset, len);
		return false;
	}
	return true;
}

/* Registers are 32 bits wide and 32-bit aligned. */
static bool register_access_ok(struct virtio_mmio *t, uint64_t offset, uint32_t len)
{
	if (len != sizeof(uint32_t) || offset % sizeof(uint32_t)) {
		refuse(t, "register access not 32 bits wide and aligned", offset, len);
		return false;
	}
	return true;
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len)
{
	uint32_t value;

	/* Whatever is refused below reads as zeros; KVM never asks for more
	 * than 8 bytes. */
	memset(data, 0, len > 8 ? 8 : len);
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		if (config_access_ok(t, offset, len))
			t->dev->ops->config_read(t->dev, offset - VIRTIO_MMIO_CONFIG, data, len);
	} else if (register_access_ok(t, offset, len)) {
		value = htole32(read_register(t, offset));
		memcpy(data, &value, sizeof(value));
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len)
{
	uint32_t value;

	pthread_mutex_lock(&t->lock);
	if (offset < VIRTIO_MMIO_CONFIG) {
		if (register_access_ok(t, offset, len)) {
			memcpy(&value, data, sizeof(value));
			write_register(t, offset, le32toh(value));
		}
	} else if (config_access_ok(t, offset, len)) {
		if (t->dev->ops->config_write)
			t->dev->ops->config_write(t->dev, offset - VIRTIO_MMIO_CONFIG, data, len);
		else
			refuse(t, "write to a read-only config space", offset, len);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_notify(struct virtio_mmio *t, uint32_t queue)
{
	pthread_mutex_lock(&t->lock);
	notify_locked(t, queue);
	pthread_mutex_unlock(&t->lock);
}

int virtio_mmio_notify_match(const struct virtio_mmio *t, unsigned int queue,
			     struct virtio_mmio_notify_match *match)
{
	if (queue >= t->dev->nr_queues)
		return -EINVAL;
	*match = (struct virtio_mmio_notify_match){
		.gpa = t->cfg.base + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = sizeof(uint32_t),
		.datamatch = queue,
	};
	return 0;
}
