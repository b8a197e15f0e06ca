#include "arch/x86_64/irqchip.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "base/log.h"

/* Each unmasked pin's entry becomes an MSI route on the pin's GSI. A masked
 * pin has no route: like a real I/O APIC, it drops edges while masked. */
static void route_ioapic_pins(struct x86_irqchip *chip)
{
	struct {
		struct kvm_irq_routing table;
		struct kvm_irq_routing_entry entries[IOAPIC_NR_PINS];
	} routing = { 0 };
	struct ioapic_msi msi;

	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		if (!ioapic_pin_msi(&chip->ioapic, pin, &msi))
			continue;
		routing.entries[routing.table.nr++] = (struct kvm_irq_routing_entry){
			.gsi = pin,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = msi.address, .data = msi.data },
		};
	}
	if (ioctl(chip->vm_fd, KVM_SET_GSI_ROUTING, &routing.table) < 0)
		LOG_RATELIMITED(LOG_WARN, "cannot route the I/O APIC's pins: %s", strerror(errno));
}

void x86_irqchip_ioapic_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			       bool is_write)
{
	struct x86_irqchip *chip = opaque;

	pthread_mutex_lock(&chip->lock);
	if (!is_write)
		ioapic_mmio_read(&chip->ioapic, offset, data, len);
	else if (ioapic_mmio_write(&chip->ioapic, offset, data, len))
		route_ioapic_pins(chip);
	pthread_mutex_unlock(&chip->lock);
}

int x86_irqchip_create(struct x86_irqchip *chip, int vm_fd, bool split, unsigned int nr_vcpus)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_enable_cap split_cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = IOAPIC_NR_PINS };

	*chip = (struct x86_irqchip){ .vm_fd = vm_fd };
	if (split) {
		/* No PIC or PIT: the guest keeps time with kvmclock and the
		 * local APIC timer. */
		if (ioctl(vm_fd, KVM_ENABLE_CAP, &split_cap) < 0) {
			LOG_ERR("cannot split the irqchip: %s", strerror(errno));
			return -errno;
		}
		pthread_mutex_init(&chip->lock, NULL);
		ioapic_init(&chip->ioapic, nr_vcpus);
		return 0;
	}
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP) < 0 || ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		LOG_ERR("cannot create the in-kernel interrupt controllers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
