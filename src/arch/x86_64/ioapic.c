#include "arch/x86_64/ioapic.h"

#include <string.h>

#define ID_MASK (0xfu << 24)
/* What the guest may change in an entry: not the delivery status or the
 * Remote IRR, and not the reserved bits between the flags and the
 * destination. */
#define RTE_WRITABLE (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELIVERY_MODE | IOAPIC_RTE_DEST_LOGICAL | \
		      IOAPIC_RTE_POLARITY_LOW | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | \
		      (0xffull << IOAPIC_RTE_DEST_SHIFT))

/* The MSI format the local APICs take, as KVM decodes it. */
#define MSI_ADDRESS_BASE 0xfee00000u
#define MSI_ADDRESS_DEST_SHIFT 12
#define MSI_ADDRESS_DEST_LOGICAL (1u << 2)
#define MSI_DATA_DELIVERY_MODE_SHIFT 8
#define MSI_DATA_LEVEL (1u << 15)

void ioapic_init(struct ioapic *ioapic, uint8_t apic_id)
{
	*ioapic = (struct ioapic){ .id = ((uint32_t)apic_id << 24) & ID_MASK };
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		ioapic->redirection[pin] = IOAPIC_RTE_MASKED;
}

static uint32_t read_register(const struct ioapic *ioapic, uint32_t reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARBITRATION:
		return ioapic->id;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION | (IOAPIC_NR_PINS - 1) << 16;
	}
	if (reg < IOAPIC_REG_REDIRECTION || reg >= IOAPIC_REG_REDIRECTION + 2 * IOAPIC_NR_PINS)
		return 0;
	uint64_t rte = ioapic->redirection[(reg - IOAPIC_REG_REDIRECTION) / 2];
	return reg % 2 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
}

/* True when a redirection entry changed. */
static bool write_register(struct ioapic *ioapic, uint32_t reg, uint32_t value)
{
	if (reg == IOAPIC_REG_ID) {
		ioapic->id = value & ID_MASK;
		return false;
	}
	if (reg < IOAPIC_REG_REDIRECTION || reg >= IOAPIC_REG_REDIRECTION + 2 * IOAPIC_NR_PINS)
		return false; /* version, arbitration and the rest read only */
	uint64_t *rte = &ioapic->redirection[(reg - IOAPIC_REG_REDIRECTION) / 2];
	uint64_t half = reg % 2 ? 0xffffffff00000000ull : 0xffffffffull;
	uint64_t shifted = reg % 2 ? (uint64_t)value << 32 : value;
	uint64_t old = *rte;
	*rte = (old & ~(half & RTE_WRITABLE)) | (shifted & half & RTE_WRITABLE);
	return *rte != old;
}

void ioapic_mmio_read(const struct ioapic *ioapic, uint64_t offset, uint8_t *data, uint32_t len)
{
	uint32_t value = 0;

	if (offset == IOAPIC_IOREGSEL)
		value = ioapic->regsel;
	else if (offset == IOAPIC_IOWIN && len == 4)
		value = read_register(ioapic, ioapic->regsel);
	/* Little endian, as the guest sees memory; bytes past a register read 0. */
	memset(data, 0, len);
	memcpy(data, &value, len < sizeof(value) ? len : sizeof(value));
}

bool ioapic_mmio_write(struct ioapic *ioapic, uint64_t offset, const uint8_t *data, uint32_t len)
{
	uint32_t value;

	if (len == 0)
		return false;
	/* IOREGSEL is an 8-bit register: any width sets it from its low byte. */
	if (offset == IOAPIC_IOREGSEL) {
		ioapic->regsel = data[0];
		return false;
	}
	/* A partial write to a 32-bit register would need a merge no OS asks
	 * for: ignore it. */
	if (offset != IOAPIC_IOWIN || len != 4)
		return false;
	memcpy(&value, data, sizeof(value));
	return write_register(ioapic, ioapic->regsel, value);
}

bool ioapic_pin_msi(const struct ioapic *ioapic, unsigned int pin, struct ioapic_msi *msi)
{
	if (pin >= IOAPIC_NR_PINS)
		return false;
	uint64_t rte = ioapic->redirection[pin];
	if (rte & IOAPIC_RTE_MASKED)
		return false;
	/* Polarity means nothing to an MSI: the irqfd is the line. */
	uint32_t dest = (uint32_t)(rte >> IOAPIC_RTE_DEST_SHIFT) & 0xff;
	*msi = (struct ioapic_msi){
		.address = MSI_ADDRESS_BASE | dest << MSI_ADDRESS_DEST_SHIFT |
			   (rte & IOAPIC_RTE_DEST_LOGICAL ? MSI_ADDRESS_DEST_LOGICAL : 0),
		.data = (uint32_t)(rte & IOAPIC_RTE_VECTOR) |
			(uint32_t)((rte & IOAPIC_RTE_DELIVERY_MODE) >> 8)
				<< MSI_DATA_DELIVERY_MODE_SHIFT |
			(rte & IOAPIC_RTE_LEVEL ? MSI_DATA_LEVEL : 0),
	};
	return true;
}
