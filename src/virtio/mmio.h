/* The virtio-mmio transport, modern (version 2) only: one device's register
 * file in a 4 KiB slot of guest physical memory.
 *
 * The register file is a state machine over the device status (the spec's
 * ACKNOWLEDGE -> DRIVER -> FEATURES_OK -> DRIVER_OK); any access it does not
 * allow, of any width at any offset, is ignored with a rate-limited log and
 * counted. A ring the driver breaks sets DEVICE_NEEDS_RESET and raises a
 * configuration interrupt; only a status write of 0 clears it.
 *
 * How the VMM uses it: virtio_mmio_init per device with the slot's address,
 * its interrupt line and a hook that raises it (an irqfd write); announce
 * the slot on the guest's command line (cmdline_add_mmio_device); route KVM_EXIT_MMIO
 * accesses inside the slot to virtio_mmio_read/virtio_mmio_write (from any
 * vCPU thread: a mutex protects the registers). Optionally register a
 * KVM_IOEVENTFD per queue from virtio_mmio_notify_match and, when one fires,
 * call virtio_mmio_notify from the event loop. Teardown: stop the vCPUs, the
 * device, then virtio_mmio_destroy. */
#ifndef KRUN_VIRTIO_MMIO_H
#define KRUN_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/device.h"

#define VIRTIO_MMIO_SLOT_SIZE 0x1000
/* "KRUN" in memory order, as QEMU's vendor ID spells "QEMU" */
#define VIRTIO_MMIO_VENDOR_KRUN 0x4e55524b

struct virtio_mmio_config {
	uint64_t base; /* guest physical address of the slot */
	uint32_t irq;  /* the interrupt line the guest is told about */
	/* Raise irq: the VMM writes an irqfd, tests count. Any thread. */
	void (*raise_irq)(void *opaque);
	void *irq_opaque;
};

struct virtio_mmio {
	struct virtio_device *dev;
	const struct guest_memory *gm;
	struct virtio_mmio_config cfg;

	pthread_mutex_t lock; /* the registers below, and every call into dev->ops */
	uint32_t status;      /* as the driver set it; NEEDS_RESET is kept apart */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	bool driver_features_beyond_64; /* the driver asked for bits we cannot offer */
	uint32_t queue_sel;		/* as written: checked at every use */
	bool active;			/* activate() succeeded */

	/* Also written by device workers, without the lock. */
	_Atomic uint32_t interrupt_status;
	_Atomic uint32_t config_generation;
	_Atomic bool needs_reset;
};

/* Where a queue's notification lands: a 4-byte write of datamatch at gpa
 * (KVM_IOEVENTFD with KVM_IOEVENTFD_FLAG_DATAMATCH). */
struct virtio_mmio_notify_match {
	uint64_t gpa;
	uint32_t len;
	uint32_t datamatch;
};

/* Attach dev (its device part filled in, queues initialised) to a slot;
 * -EINVAL for a device the transport cannot serve. */
int virtio_mmio_init(struct virtio_mmio *t, struct virtio_device *dev,
		     const struct guest_memory *gm, const struct virtio_mmio_config *cfg);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* A guest access of len bytes at offset inside the slot; data is in guest
 * (little-endian) byte order, as in struct kvm_run's mmio. A refused read
 * returns zeros. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len);

/* The driver kicked queue: what a QueueNotify write does, for the event loop
 * to call when that queue's ioeventfd fires. */
void virtio_mmio_notify(struct virtio_mmio *t, uint32_t queue);

/* -EINVAL for a queue the device does not have. */
int virtio_mmio_notify_match(const struct virtio_mmio *t, unsigned int queue,
			     struct virtio_mmio_notify_match *match);


#endif
