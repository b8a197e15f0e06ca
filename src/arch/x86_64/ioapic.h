/* The I/O APIC emulated in user space, for a split irqchip: KVM keeps the
 * local APICs, and this model keeps the registers the guest programs. It
 * never delivers an interrupt itself: each pin's redirection entry becomes
 * the MSI that KVM sends when the pin's irqfd fires (ioapic_pin_msi). */
#ifndef KRUN_ARCH_X86_64_IOAPIC_H
#define KRUN_ARCH_X86_64_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_NR_PINS 24
#define IOAPIC_MMIO_SIZE 0x1000u

/* The MMIO window's registers, at their offsets. */
#define IOAPIC_IOREGSEL 0x00u
#define IOAPIC_IOWIN 0x10u

/* What IOREGSEL selects. */
#define IOAPIC_REG_ID 0x00u
#define IOAPIC_REG_VERSION 0x01u
#define IOAPIC_REG_ARBITRATION 0x02u
#define IOAPIC_REG_REDIRECTION 0x10u /* two per pin: low, then high half */

#define IOAPIC_VERSION 0x11u

/* Redirection entry fields. */
#define IOAPIC_RTE_VECTOR 0xffull
#define IOAPIC_RTE_DELIVERY_MODE (7ull << 8)
#define IOAPIC_RTE_DEST_LOGICAL (1ull << 11)
#define IOAPIC_RTE_DELIVERY_STATUS (1ull << 12)
#define IOAPIC_RTE_POLARITY_LOW (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)
#define IOAPIC_RTE_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

struct ioapic {
	uint32_t id; /* as the ID register reads: the APIC ID in bits 24..27 */
	uint32_t regsel;
	uint64_t redirection[IOAPIC_NR_PINS];
};

/* An MSI as KVM's routing table takes it. */
struct ioapic_msi {
	uint32_t address, data; /* the address's high half is 0 */
};

/* The state after reset: every pin masked. */
void ioapic_init(struct ioapic *ioapic, uint8_t apic_id);
/* An access at offset in the MMIO window, of any length (a guest may use
 * odd ones; only 32-bit IOWIN accesses reach a register). */
void ioapic_mmio_read(const struct ioapic *ioapic, uint64_t offset, uint8_t *data, uint32_t len);
/* True when a redirection entry changed: the MSI routes must follow. */
bool ioapic_mmio_write(struct ioapic *ioapic, uint64_t offset, const uint8_t *data, uint32_t len);
/* The MSI the pin's entry asks for; false when the pin is masked. */
bool ioapic_pin_msi(const struct ioapic *ioapic, unsigned int pin, struct ioapic_msi *msi);

#endif
