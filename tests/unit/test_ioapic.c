/* The user-space I/O APIC: its registers through the MMIO window, what a
 * hostile guest can do to them, and the MSIs its redirection entries make. */
#include <string.h>

#include "check.h"
#include "arch/x86_64/ioapic.h"

static void select_register(struct ioapic *io, uint32_t reg)
{
	CHECK(!ioapic_mmio_write(io, IOAPIC_IOREGSEL, (const uint8_t *)&reg, 4));
}

static uint32_t read_register(struct ioapic *io, uint32_t reg)
{
	uint32_t value;
	select_register(io, reg);
	ioapic_mmio_read(io, IOAPIC_IOWIN, (uint8_t *)&value, 4);
	return value;
}

/* True when the write changed a redirection entry. */
static bool write_register(struct ioapic *io, uint32_t reg, uint32_t value)
{
	select_register(io, reg);
	return ioapic_mmio_write(io, IOAPIC_IOWIN, (const uint8_t *)&value, 4);
}

static void test_reset_state(void)
{
	struct ioapic io;
	struct ioapic_msi msi;

	ioapic_init(&io, 2);
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_ID), 2u << 24);
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_ARBITRATION), 2u << 24);
	/* version 0x11, 24 entries */
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_VERSION), 0x170011);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * pin), 0x10000);
		CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * pin + 1), 0);
		CHECK(!ioapic_pin_msi(&io, pin, &msi));
	}
}

static void test_registers(void)
{
	struct ioapic io;
	uint32_t value;

	ioapic_init(&io, 0);
	select_register(&io, 0x13);
	ioapic_mmio_read(&io, IOAPIC_IOREGSEL, (uint8_t *)&value, 4);
	CHECK_EQ_INT(value, 0x13);
	/* only the 4-bit APIC ID of the ID register is writable */
	CHECK(!write_register(&io, IOAPIC_REG_ID, 0xffffffff));
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_ID), 0x0f000000);
	CHECK(!write_register(&io, IOAPIC_REG_VERSION, 0));
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_VERSION), 0x170011);
	CHECK(!write_register(&io, IOAPIC_REG_ARBITRATION, 0));
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_ARBITRATION), 0x0f000000);

	/* an entry written in halves, as Linux does: high, then low */
	CHECK(write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5 + 1, 0x03000000));
	CHECK(write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5, 0x00000031));
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5 + 1), 0x03000000);
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5), 0x31);
	/* the same value again changes nothing, and needs no new routes */
	CHECK(!write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5, 0x00000031));
	/* delivery status, Remote IRR and reserved bits are not the guest's */
	CHECK(!write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5, 0xfffe5031));
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5), 0x31);
	CHECK(!write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5 + 1, 0x03ffffff));
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5 + 1), 0x03000000);
	/* the neighbours are untouched */
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * 4), 0x10000);
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * 6), 0x10000);
}

static void test_hostile_accesses(void)
{
	struct ioapic io, before;
	uint8_t data[8];
	uint32_t value = 0x12345678;

	ioapic_init(&io, 1);
	before = io;
	/* past the last entry, and the unused indexes below the table */
	const uint32_t bad_regs[] = { 0x03, 0x0f, IOAPIC_REG_REDIRECTION + 2 * IOAPIC_NR_PINS, 0x80,
				      0xff };
	for (unsigned int i = 0; i < sizeof(bad_regs) / sizeof(bad_regs[0]); i++) {
		CHECK(!write_register(&io, bad_regs[i], 0));
		CHECK_EQ_INT(read_register(&io, bad_regs[i]), 0);
	}
	/* IOREGSEL is 8 bits wide: a 32-bit write keeps the low byte */
	select_register(&io, 0x1234);
	CHECK_EQ_INT(io.regsel, 0x34);
	CHECK_EQ_INT(read_register(&io, IOAPIC_REG_REDIRECTION + 2 * IOAPIC_NR_PINS + 0x100), 0);

	/* odd widths: a byte selects, a partial IOWIN access does nothing */
	data[0] = IOAPIC_REG_VERSION;
	CHECK(!ioapic_mmio_write(&io, IOAPIC_IOREGSEL, data, 1));
	memset(data, 0xaa, sizeof(data));
	ioapic_mmio_read(&io, IOAPIC_IOWIN, data, 2);
	CHECK(data[0] == 0 && data[1] == 0 && data[2] == 0xaa);
	memset(data, 0xaa, sizeof(data));
	ioapic_mmio_read(&io, IOAPIC_IOREGSEL, data, 8);
	CHECK(data[0] == IOAPIC_REG_VERSION && data[1] == 0 && data[7] == 0);
	select_register(&io, IOAPIC_REG_REDIRECTION);
	CHECK(!ioapic_mmio_write(&io, IOAPIC_IOWIN, (const uint8_t *)&value, 2));
	CHECK(!ioapic_mmio_write(&io, IOAPIC_IOWIN, (const uint8_t *)&value, 0));
	CHECK(!ioapic_mmio_write(&io, IOAPIC_IOREGSEL, (const uint8_t *)&value, 0));
	/* registers are only at their offsets */
	CHECK(!ioapic_mmio_write(&io, IOAPIC_IOWIN + 4, (const uint8_t *)&value, 4));
	CHECK(!ioapic_mmio_write(&io, IOAPIC_MMIO_SIZE - 4, (const uint8_t *)&value, 4));
	ioapic_mmio_read(&io, IOAPIC_MMIO_SIZE - 4, data, 4);
	CHECK(data[0] == 0 && data[3] == 0);
	CHECK(memcmp(io.redirection, before.redirection, sizeof(io.redirection)) == 0);
	CHECK_EQ_INT(io.id, before.id);
}

static void test_msi(void)
{
	struct ioapic io;
	struct ioapic_msi msi;

	ioapic_init(&io, 0);
	/* fixed, physical destination 3, edge, vector 0x31 */
	write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5 + 1, 0x03000000);
	write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5, 0x00000031);
	CHECK(ioapic_pin_msi(&io, 5, &msi));
	CHECK_EQ_INT(msi.address, 0xfee03000);
	CHECK_EQ_INT(msi.data, 0x31);

	/* lowest priority, logical destination 0x0f, level, active low */
	write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 23 + 1, 0x0f000000);
	write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 23, 0x0000a941);
	CHECK(ioapic_pin_msi(&io, 23, &msi));
	CHECK_EQ_INT(msi.address, 0xfee0f004);
	CHECK_EQ_INT(msi.data, 0x8141);

	/* masking the pin takes its route away; unmasking brings it back */
	CHECK(write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5, 0x00010031));
	CHECK(!ioapic_pin_msi(&io, 5, &msi));
	CHECK(write_register(&io, IOAPIC_REG_REDIRECTION + 2 * 5, 0x00000031));
	CHECK(ioapic_pin_msi(&io, 5, &msi));
	CHECK(!ioapic_pin_msi(&io, IOAPIC_NR_PINS, &msi));
	CHECK(!ioapic_pin_msi(&io, ~0u, &msi));
}

int main(void)
{
	test_reset_state();
	test_registers();
	test_hostile_accesses();
	test_msi();
	return CHECK_DONE();
}
