/* Virtio devices on MMIO slots: each gets the transport at the next slot of
 * the layout, its interrupt as an irqfd on the slot's line and each queue's
 * notify register as an ioeventfd, so that neither costs an exit to user
 * space, the slot on the guest's kernel command line, the one way the guest
 * finds it, and on the MMIO bus, where the vCPUs' accesses find the
 * transport. Plugging and unplugging run on the builder's thread,
 * before any vCPU does; kicks are served on the event loop's thread. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/vm.h"

static void raise_irq(void *opaque)
{
	struct vm_mmio_slot *slot = opaque;
	uint64_t one = 1;
	ssize_t unused = write(slot->irqfd, &one, sizeof(one));
	(void)unused;
}

static void slot_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm_mmio_slot *slot = opaque;

	if (is_write)
		virtio_mmio_write(&slot->transport, offset, data, len);
	else
		virtio_mmio_read(&slot->transport, offset, data, len);
}

static void on_queue_kick(void *opaque, uint32_t events)
{
	struct vm_ioeventfd *io = opaque;
	uint64_t count;
	(void)events;
	if (read(io->fd, &count, sizeof(count)) == sizeof(count))
		virtio_mmio_notify(&io->slot->transport, io->queue);
}

static int wire_slot(struct vm *vm, struct vm_mmio_slot *slot, struct virtio_device *dev,
		     uint64_t gpa, uint32_t irq)
{
	int ret;

	if (dev->nr_queues > VM_MAX_QUEUES_PER_DEVICE)
		return -EINVAL;
	slot->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (slot->irqfd < 0)
		return -errno;
	struct kvm_irqfd irqfd = { .fd = slot->irqfd, .gsi = irq };
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	const struct virtio_mmio_config cfg = {
		.base = gpa, .irq = irq, .raise_irq = raise_irq, .irq_opaque = slot,
	};
	if ((ret = virtio_mmio_init(&slot->transport, dev, &vm->mem, &cfg)) < 0)
		return ret;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct virtio_mmio_notify_match match;
		struct vm_ioeventfd *io = &slot->ioeventfds[q];
		if ((ret = virtio_mmio_notify_match(&slot->transport, q, &match)) < 0)
			return ret;
		*io = (struct vm_ioeventfd){ .slot = slot, .queue = q,
					     .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
		if (io->fd < 0)
			return -errno;
		slot->nr_ioeventfds++;
		struct kvm_ioeventfd ioev = {
			.datamatch = match.datamatch, .addr = match.gpa, .len = match.len,
			.fd = io->fd, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return -errno;
		if ((ret = event_loop_add(&vm->loop, io->fd, EPOLLIN, on_queue_kick, io)) < 0)
			return ret;
	}
	return 0;
}

static void destroy_slot(struct vm_mmio_slot *slot)
{
	for (unsigned int i = 0; i < slot->nr_ioeventfds; i++) {
		event_loop_remove(&slot->vm->loop, slot->ioeventfds[i].fd);
		close(slot->ioeventfds[i].fd);
	}
	if (slot->transport.dev)
		virtio_mmio_destroy(&slot->transport);
	if (slot->irqfd >= 0)
		close(slot->irqfd);
	*slot = (struct vm_mmio_slot){ .vm = slot->vm, .irqfd = -1 };
}

int vm_plug_virtio(void *opaque, struct virtio_device *dev)
{
	struct vm *vm = opaque;
	uint64_t gpa;
	uint32_t irq;
	int ret;

	if ((ret = x86_mmio_slot(vm->nr_slots, &gpa, &irq)) < 0) {
		LOG_ERR("more than %d devices", X86_MAX_MMIO_DEVICES);
		return ret;
	}
	struct vm_mmio_slot *slot = &vm->slots[vm->nr_slots++];
	*slot = (struct vm_mmio_slot){ .vm = vm, .irqfd = -1 };
	if ((ret = wire_slot(vm, slot, dev, gpa, irq)) < 0)
		LOG_ERR("cannot wire virtio device %u to KVM: %s", dev->device_id, strerror(-ret));
	else if ((ret = cmdline_add_mmio_device(&vm->cmdline, gpa, irq)) < 0)
		LOG_ERR("kernel command line: %s", vm->cmdline.reason);
	/* last: the bus has no way back, and a slot undone is taken again */
	else if ((ret = bus_register(&vm->mmio_bus, gpa, VIRTIO_MMIO_SLOT_SIZE, slot_access,
				     slot)) < 0)
		LOG_ERR("cannot place virtio device %u on the bus: %s", dev->device_id,
			strerror(-ret));
	if (ret < 0) {
		destroy_slot(slot);
		vm->nr_slots--;
	}
	return ret;
}

/* Its slot stays taken: the VM is being torn down, and no vCPU ever ran. */
void vm_unplug_virtio(void *opaque, struct virtio_device *dev)
{
	struct vm *vm = opaque;

	for (unsigned int i = 0; i < vm->nr_slots; i++) {
		if (vm->slots[i].transport.dev == dev)
			destroy_slot(&vm->slots[i]);
	}
}
