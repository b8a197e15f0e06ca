/* The MP table, parsed back the way a guest kernel finds and reads it, by the
 * byte offsets of the MP specification 1.4 rather than by our structs. */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/mptable.h"
#include "check.h"

static uint16_t le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	while (len--)
		s += *p++;
	return s;
}

/* Linux scans the last KiB of base memory on 16-byte boundaries. */
static const uint8_t *find_mpf(const struct guest_memory *gm)
{
	for (uint64_t gpa = 639 * 1024; gpa < 640 * 1024; gpa += 16) {
		const uint8_t *p = gm_ptr(gm, gpa, 16);
		if (memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && sum(p, 16) == 0)
			return p;
	}
	return NULL;
}

static void check_table(unsigned int nr_cpus)
{
	struct guest_memory gm = { 0 };
	unsigned int counts[5] = { 0 };
	unsigned int isa_irqs_routed = 0;
	int ioapic_id = -1;

	CHECK_EQ_INT(gm_add_anon(&gm, 0, 1 << 20), 0);
	CHECK_EQ_INT(x86_write_mptable(&gm, nr_cpus), 0);

	const uint8_t *mpf = find_mpf(&gm);
	CHECK(mpf != NULL);
	if (!mpf)
		return;
	CHECK_EQ_INT(mpf[9], 4); /* specification 1.4 */
	CHECK_EQ_INT(mpf[11], 0); /* a configuration table follows, no default one */
	uint32_t table_gpa = le32(mpf + 4);
	const uint8_t *table = gm_ptr(&gm, table_gpa, 44);
	CHECK(table != NULL);
	if (!table)
		return;
	uint16_t length = le16(table + 4);
	CHECK(table_gpa + length <= 0xa0000); /* inside the reserved EBDA */
	CHECK(memcmp(table, "PCMP", 4) == 0);
	CHECK_EQ_INT(table[6], 4);
	CHECK_EQ_INT(sum(table, length), 0);
	CHECK_EQ_INT(le32(table + 36), 0xfee00000);
	CHECK_EQ_INT(le16(table + 40), 0); /* no extended table */

	unsigned int nr_entries = le16(table + 34), seen = 0;
	size_t pos = 44;
	while (pos < length) {
		const uint8_t *e = table + pos;
		size_t size = e[0] == 0 ? 20 : 8;
		CHECK(e[0] <= 4);
		if (e[0] > 4 || pos + size > length)
			break;
		counts[e[0]]++;
		seen++;
		switch (e[0]) {
		case 0: /* processor: APIC IDs in order, enabled, CPU 0 boots */
			CHECK_EQ_INT(e[1], counts[0] - 1);
			CHECK_EQ_INT(e[3], counts[0] == 1 ? 3 : 1);
			break;
		case 1:
			CHECK(memcmp(e + 2, "ISA   ", 6) == 0);
			break;
		case 2:
			ioapic_id = e[1];
			CHECK_EQ_INT(e[3] & 1, 1);
			CHECK_EQ_INT(le32(e + 4), 0xfec00000);
			break;
		case 3: /* ISA IRQ n on I/O APIC pin n, as the bus defines it */
			CHECK_EQ_INT(e[1], 0);
			CHECK_EQ_INT(le16(e + 2), 0);
			CHECK_EQ_INT(e[4], 0);
			CHECK_EQ_INT(e[5], e[7]);
			CHECK_EQ_INT(e[6], ioapic_id);
			if (e[5] < 16)
				isa_irqs_routed |= 1u << e[5];
			break;
		case 4: /* ExtINT on LINT0, NMI on LINT1 */
			CHECK_EQ_INT(e[7], e[1] == 3 ? 0 : 1);
			CHECK(e[1] == 3 || e[1] == 1);
			CHECK_EQ_INT(e[6], 0xff);
			break;
		}
		pos += size;
	}
	CHECK_EQ_INT(pos, length);
	CHECK_EQ_INT(seen, nr_entries);
	CHECK_EQ_INT(counts[0], nr_cpus);
	CHECK_EQ_INT(counts[1], 1);
	CHECK_EQ_INT(counts[2], 1);
	CHECK_EQ_INT(counts[3], 16);
	CHECK_EQ_INT(counts[4], 2);
	CHECK_EQ_INT(isa_irqs_routed, 0xffff); /* the virtio IRQs 5..15 among them */
	CHECK(ioapic_id >= (int)nr_cpus); /* no clash with a CPU's APIC ID */
	gm_destroy(&gm);
}

static void test_refused(void)
{
	struct guest_memory gm = { 0 };

	CHECK_EQ_INT(gm_add_anon(&gm, 0, 1 << 20), 0);
	CHECK_EQ_INT(x86_write_mptable(&gm, 0), -EINVAL);
	CHECK_EQ_INT(x86_write_mptable(&gm, X86_MPTABLE_MAX_CPUS + 1), -EINVAL);
	CHECK(find_mpf(&gm) == NULL);
	gm_destroy(&gm);
	/* base memory not in the guest's memory */
	CHECK_EQ_INT(gm_add_anon(&gm, 1 << 20, 1 << 20), 0);
	CHECK_EQ_INT(x86_write_mptable(&gm, 1), -EFAULT);
	gm_destroy(&gm);
}

int main(void)
{
	check_table(1);
	check_table(4);
	check_table(16);
	check_table(X86_MPTABLE_MAX_CPUS);
	test_refused();
	return CHECK_DONE();
}
