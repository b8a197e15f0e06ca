/* A virtio device as its transport sees it: a few numbers, an ops table, its
 * queues. A device never sees descriptors or transport registers: it pops
 * validated chains, pushes them back, and asks the transport for interrupts
 * through the helpers at the end of this file.
 *
 * How a device is built: embed a struct virtio_device in the device's state,
 * fill in the part marked "device", virtq_init each of its queues, then hand
 * it to a transport (virtio_mmio_init), which fills in the rest. On DRIVER_OK
 * the transport calls activate(); from then until reset() returns, the device
 * owns its queues (see the threading rule in queue.h) and serves them with
 * virtio_pop, virtq_push and virtio_signal_used. */
#ifndef KRUN_VIRTIO_DEVICE_H
#define KRUN_VIRTIO_DEVICE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "virtio/queue.h"

struct virtio_device;

/* Called by the transport with its lock held, so calls for one device never
 * overlap; they may come from any vCPU thread or the VMM's event loop. */
struct virtio_device_ops {
	/* Copy len (1, 2, 4 or 8) bytes of config space at offset into data;
	 * the transport has checked offset + len <= config_size. Needed when
	 * config_size > 0. */
	void (*config_read)(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len);
	/* Same bounds; NULL for a read-only config space. */
	void (*config_write)(struct virtio_device *dev, uint32_t offset, const void *data,
			     uint32_t len);
	/* DRIVER_OK: features negotiated, the ready queues validated. Start
	 * serving; buffers may already be waiting, as kicks before DRIVER_OK
	 * are dropped. < 0: the device reports DEVICE_NEEDS_RESET. */
	int (*activate)(struct virtio_device *dev);
	/* The driver kicked queue (< nr_queues, ready, device active). Serve it
	 * here or wake the thread that does. */
	void (*queue_notify)(struct virtio_device *dev, unsigned int queue);
	/* The driver reset the device (also when it was never activated): stop
	 * touching the queues, wait for any worker to let go of them, and go
	 * back to the state before activate. The transport then resets the
	 * queues and the negotiated features. */
	void (*reset)(struct virtio_device *dev);
};

/* Set up by the transport; callable from any thread, never blocking on the
 * transport's lock, so a worker may call them while reset() waits for it. */
struct virtio_transport_ops {
	void (*signal_used)(struct virtio_device *dev);
	void (*config_changed)(struct virtio_device *dev);
	/* The driver broke a ring: DEVICE_NEEDS_RESET and a config interrupt. */
	void (*needs_reset)(struct virtio_device *dev);
};

/* Read by tests and metrics at any time. */
struct virtio_device_counters {
	_Atomic uint64_t notifications;	   /* kicks delivered to queue_notify */
	_Atomic uint64_t interrupts;	   /* used-buffer and config interrupts raised */
	_Atomic uint64_t broken_driver;	   /* NEEDS_RESET for a ring the driver broke */
	_Atomic uint64_t ignored_accesses; /* register accesses refused (width, state, range) */
};

struct virtio_device {
	/* device */
	const struct virtio_device_ops *ops;
	void *priv;
	uint32_t device_id; /* VIRTIO_ID_* */
	/* The device's own feature bits: the transport adds VIRTIO_F_VERSION_1,
	 * INDIRECT_DESC and EVENT_IDX. Per device, not per ops table, because
	 * they depend on its configuration (a read-only disk, say). */
	uint64_t device_features;
	uint32_t config_size;
	struct virtq *queues;
	unsigned int nr_queues;

	/* transport */
	uint64_t negotiated_features; /* valid from FEATURES_OK until reset */
	const struct virtio_transport_ops *transport;
	void *transport_priv;
	struct virtio_device_counters counters;
};

static inline bool virtio_has_feature(const struct virtio_device *dev, unsigned int bit)
{
	return dev->negotiated_features & (1ull << bit);
}

/* virtq_pop, with a ring the driver broke reported to the transport. */
static inline int virtio_pop(struct virtio_device *dev, struct virtq *q, struct virtq_chain *chain)
{
	int ret = virtq_pop(q, chain);

	if (ret == -EIO)
		dev->transport->needs_reset(dev);
	return ret;
}

/* After a batch of virtq_push: interrupt the driver if it asked for it. */
static inline void virtio_signal_used(struct virtio_device *dev, struct virtq *q)
{
	if (virtq_need_interrupt(q))
		dev->transport->signal_used(dev);
}

/* The device changed its config space: new generation, config interrupt. */
static inline void virtio_config_changed(struct virtio_device *dev)
{
	dev->transport->config_changed(dev);
}

#endif
