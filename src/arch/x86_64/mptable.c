#include "arch/x86_64/mptable.h"

#include <errno.h>
#include <string.h>

/* The layouts of the MP specification 1.4, chapter 4. */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* the configuration table */
	uint8_t length;    /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1; /* 0: a configuration table is present */
	uint8_t feature2; /* bit 7 clear: virtual wire mode, no IMCR */
	uint8_t feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* the base table: header and entries */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature; /* CPUID signature */
	uint32_t featureflag; /* CPUID.1:EDX */
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

/* An I/O or a local interrupt assignment: the same layout. */
struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag; /* 0: polarity and trigger as the bus defines them */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq; /* I/O APIC pin, or LINTIN# */
} __attribute__((packed));

enum {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4,
};

enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

#define MP_SPEC_1_4 4
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define IOAPIC_ENABLED 1
#define LAPIC_VERSION 0x14 /* an integrated local APIC */
#define IOAPIC_VERSION 0x11
#define CPU_SIGNATURE 0x600 /* family 6 */
#define CPU_FEATURES ((1u << 0) | (1u << 9)) /* FPU, APIC */
#define ISA_BUS_ID 0
#define ISA_IRQS 16
#define ALL_LAPICS 0xff

#define MPTABLE_MAX_SIZE \
	(sizeof(struct mpf_intel) + sizeof(struct mpc_table) + \
	 X86_MPTABLE_MAX_CPUS * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) + \
	 sizeof(struct mpc_ioapic) + (ISA_IRQS + 2) * sizeof(struct mpc_intsrc))

_Static_assert(MPTABLE_MAX_SIZE <= X86_EBDA_END - X86_EBDA_START, "MP table outgrows the EBDA");
_Static_assert(X86_MMIO_LAST_IRQ < ISA_IRQS, "virtio IRQs must be ISA IRQs the table routes");

/* Bytes summing to 0 mod 256 with the checksum included. */
static uint8_t checksum(const void *data, size_t len)
{
	const uint8_t *bytes = data;
	uint8_t sum = 0;

	while (len--)
		sum += *bytes++;
	return (uint8_t)-sum;
}

/* Appends entries to a buffer that MPTABLE_MAX_SIZE bounds by construction. */
struct mp_writer {
	uint8_t *buf;
	size_t len;
	uint16_t nr_entries;
};

static void put_entry(struct mp_writer *w, const void *entry, size_t len)
{
	memcpy(w->buf + w->len, entry, len);
	w->len += len;
	w->nr_entries++;
}

static void put_intsrc(struct mp_writer *w, uint8_t type, uint8_t irqtype, uint8_t srcbusirq,
		       uint8_t dstapic, uint8_t dstirq)
{
	struct mpc_intsrc entry = {
		.type = type,
		.irqtype = irqtype,
		.srcbus = ISA_BUS_ID,
		.srcbusirq = srcbusirq,
		.dstapic = dstapic,
		.dstirq = dstirq,
	};
	put_entry(w, &entry, sizeof(entry));
}

int x86_write_mptable(const struct guest_memory *gm, unsigned int nr_cpus)
{
	uint8_t buf[MPTABLE_MAX_SIZE] = { 0 };
	const size_t table_offset = sizeof(struct mpf_intel);
	struct mp_writer w = { .buf = buf, .len = table_offset + sizeof(struct mpc_table) };
	/* The I/O APIC's ID follows the CPUs' APIC IDs, clashing with none. */
	const uint8_t ioapic_id = nr_cpus;
	struct mpc_table table = {
		.spec = MP_SPEC_1_4,
		.lapic = X86_LAPIC_ADDR,
	};
	struct mpf_intel mpf = {
		.physptr = X86_MPTABLE_ADDR + table_offset,
		.length = sizeof(struct mpf_intel) / 16,
		.specification = MP_SPEC_1_4,
	};

	if (nr_cpus == 0 || nr_cpus > X86_MPTABLE_MAX_CPUS)
		return -EINVAL;

	for (unsigned int cpu = 0; cpu < nr_cpus; cpu++) {
		struct mpc_cpu entry = {
			.type = MP_PROCESSOR,
			.apicid = cpu,
			.apicver = LAPIC_VERSION,
			.cpuflag = CPU_ENABLED | (cpu == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = CPU_SIGNATURE,
			.featureflag = CPU_FEATURES,
		};
		put_entry(&w, &entry, sizeof(entry));
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = ISA_BUS_ID };
	memcpy(bus.bustype, "ISA   ", sizeof(bus.bustype));
	put_entry(&w, &bus, sizeof(bus));
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = ioapic_id,
		.apicver = IOAPIC_VERSION,
		.flags = IOAPIC_ENABLED,
		.apicaddr = X86_IOAPIC_ADDR,
	};
	put_entry(&w, &ioapic, sizeof(ioapic));
	for (uint8_t irq = 0; irq < ISA_IRQS; irq++)
		put_intsrc(&w, MP_INTSRC, MP_INT, irq, ioapic_id, irq);
	put_intsrc(&w, MP_LINTSRC, MP_EXTINT, 0, ALL_LAPICS, 0);
	put_intsrc(&w, MP_LINTSRC, MP_NMI, 0, ALL_LAPICS, 1);

	/* Fixed-width fields without a NUL, hence memcpy rather than initializers. */
	memcpy(table.signature, "PCMP", sizeof(table.signature));
	memcpy(table.oem, "LIBKRUN ", sizeof(table.oem));
	memcpy(table.productid, "MICROVM     ", sizeof(table.productid));
	table.length = w.len - table_offset;
	table.oemcount = w.nr_entries;
	memcpy(buf + table_offset, &table, sizeof(table));
	buf[table_offset + offsetof(struct mpc_table, checksum)] =
		checksum(buf + table_offset, table.length);
	memcpy(mpf.signature, "_MP_", sizeof(mpf.signature));
	mpf.checksum = checksum(&mpf, sizeof(mpf));
	memcpy(buf, &mpf, sizeof(mpf));
	return gm_write(gm, X86_MPTABLE_ADDR, buf, w.len);
}
