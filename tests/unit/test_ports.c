/* Legacy port I/O as the guest sees it through the port I/O bus: the i8042
 * reset line, the CMOS clock, our control port, each at every access size,
 * and nothing at the ports between. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "check.h"
#include "vmm/bus.h"
#include "vmm/ports.h"

#define I8042_DATA 0x60
#define I8042_COMMAND 0x64
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_DISABLE 0x80
#define NOTHING 0xa5 /* what a buffer holds that no handler wrote */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t sizes[] = { 1, 2, 4 };

/* opaque: a count per reason */
static void count_stop(void *opaque, enum vm_stop_reason reason)
{
	unsigned int *stops = opaque;

	stops[reason]++;
}

/* A write of size bytes: whether a port took it. */
static bool out(const struct bus *bus, uint16_t port, uint32_t value, uint32_t size)
{
	uint8_t data[4];

	memcpy(data, &value, sizeof(data));
	return bus_dispatch(bus, port, data, size, true);
}

/* A read of size bytes that a port answers; the bytes past size must stay
 * as they were. */
static uint32_t in(const struct bus *bus, uint16_t port, uint32_t size)
{
	uint8_t data[8];
	uint32_t value = 0;

	memset(data, NOTHING, sizeof(data));
	CHECK(bus_dispatch(bus, port, data, size, false));
	for (uint32_t i = size; i < sizeof(data); i++)
		CHECK_EQ_INT(data[i], NOTHING);
	memcpy(&value, data, size);
	return value;
}

/* A read of size bytes that no port answers: the buffer stays as it was. */
static bool reaches_nothing(const struct bus *bus, uint16_t port, uint32_t size)
{
	uint8_t data[4];

	memset(data, NOTHING, sizeof(data));
	if (bus_dispatch(bus, port, data, size, false))
		return false;
	for (uint32_t i = 0; i < sizeof(data); i++)
		CHECK_EQ_INT(data[i], NOTHING);
	return true;
}

static uint8_t cmos(const struct bus *bus, uint8_t index)
{
	CHECK(out(bus, CMOS_INDEX, index, 1));
	return in(bus, CMOS_DATA, 1);
}

static int from_bcd(uint8_t v)
{
	CHECK((v & 0xf) < 10 && (v >> 4) < 10);
	return (v >> 4) * 10 + (v & 0xf);
}

static void test_initial_state(void)
{
	struct guest_ports p;
	struct bus bus = { 0 };
	unsigned int stops[VM_STOP_EXITED + 1] = { 0 };

	memset(&p, 0x5a, sizeof(p));
	CHECK_EQ_INT(ports_init(&p, &bus, count_stop, stops), 0);
	CHECK_EQ_INT(p.boot_marker_ns, 0);
	CHECK_EQ_INT(p.exit_status, -1);
	CHECK_EQ_INT(p.cmos_index, 0);
	CHECK_EQ_INT(stops[VM_STOP_RESET], 0);
	/* a bus that holds one of the ports already refuses the set */
	struct guest_ports again;
	CHECK_EQ_INT(ports_init(&again, &bus, count_stop, stops), -EEXIST);
}

/* Only the reset command, 0xfe at the command port, pulls the line. The
 * registers are a byte wide: a wider access runs past the port and reaches
 * nothing (Linux uses outb). */
static void test_i8042(void)
{
	static const uint32_t not_reset[] = { 0x00, 0xfd, 0xff, 0xd1 };
	struct guest_ports p;
	struct bus bus = { 0 };
	unsigned int stops[VM_STOP_EXITED + 1] = { 0 };

	CHECK_EQ_INT(ports_init(&p, &bus, count_stop, stops), 0);
	/* empty buffers, which the kernel's reset path waits for */
	CHECK_EQ_INT(in(&bus, I8042_COMMAND, 1), 0);
	CHECK_EQ_INT(in(&bus, I8042_DATA, 1), 0);
	for (size_t i = 0; i < ARRAY_SIZE(not_reset); i++)
		CHECK(out(&bus, I8042_COMMAND, not_reset[i], 1));
	CHECK(out(&bus, I8042_DATA, 0xfe, 1));
	CHECK(out(&bus, CMOS_INDEX, 0xfe, 1));
	CHECK(out(&bus, KRUN_CTL_BOOT_MARKER, 0xfe, 1));
	for (size_t s = 1; s < ARRAY_SIZE(sizes); s++) {
		CHECK(reaches_nothing(&bus, I8042_COMMAND, sizes[s]));
		CHECK(reaches_nothing(&bus, I8042_DATA, sizes[s]));
		CHECK(!out(&bus, I8042_COMMAND, 0xfe, sizes[s]));
	}
	CHECK_EQ_INT(stops[VM_STOP_RESET], 0);
	CHECK(out(&bus, I8042_COMMAND, 0xfe, 1));
	CHECK_EQ_INT(stops[VM_STOP_RESET], 1);
	CHECK_EQ_INT(p.exit_status, -1);
}

/* The guest reads the clock as Linux does: seconds, the rest, seconds again,
 * and once more if a second went by meanwhile. */
static void test_cmos_clock(void)
{
	struct guest_ports p;
	struct bus bus = { 0 };
	struct tm guest = { 0 }, host;
	time_t before, after, guest_time;
	int century, year, tries = 0;

	CHECK_EQ_INT(ports_init(&p, &bus, NULL, NULL), 0);
	CHECK_EQ_INT(cmos(&bus, 0x0a) & 0x80, 0); /* no update in progress */
	CHECK_EQ_INT(cmos(&bus, 0x0b) & 0x06, 0x02); /* BCD, 24-hour */
	CHECK_EQ_INT(cmos(&bus, 0x0d), 0x80); /* the time is valid */
	do {
		before = time(NULL);
		guest.tm_sec = from_bcd(cmos(&bus, 0x00));
		guest.tm_min = from_bcd(cmos(&bus, 0x02));
		guest.tm_hour = from_bcd(cmos(&bus, 0x04));
		guest.tm_mday = from_bcd(cmos(&bus, 0x07));
		guest.tm_mon = from_bcd(cmos(&bus, 0x08)) - 1;
		year = from_bcd(cmos(&bus, 0x09));
		century = from_bcd(cmos(&bus, 0x32));
		after = time(NULL);
	} while (from_bcd(cmos(&bus, 0x00)) != guest.tm_sec && ++tries < 3);
	guest.tm_year = century * 100 + year - 1900;
	guest_time = timegm(&guest);
	CHECK(guest_time >= before - 1 && guest_time <= after + 1);
	/* day of the week, 1 = Sunday, for the day read */
	gmtime_r(&guest_time, &host);
	CHECK_EQ_INT(from_bcd(cmos(&bus, 0x06)), host.tm_wday + 1);

	/* the NMI-disable bit is not part of the index */
	CHECK_EQ_INT(cmos(&bus, CMOS_NMI_DISABLE | 0x0d), 0x80);
	CHECK_EQ_INT(cmos(&bus, CMOS_NMI_DISABLE | 0x0b), cmos(&bus, 0x0b));
	/* registers with nothing behind them read zero */
	CHECK_EQ_INT(cmos(&bus, 0x0e), 0);
	CHECK_EQ_INT(cmos(&bus, 0x7f), 0);
	/* the index sticks until rewritten; the data port ignores writes, and
	 * the index port is write-only */
	CHECK(out(&bus, CMOS_INDEX, 0x0d, 1));
	CHECK(out(&bus, CMOS_DATA, 0x00, 1));
	CHECK_EQ_INT(in(&bus, CMOS_DATA, 1), 0x80);
	CHECK_EQ_INT(in(&bus, CMOS_DATA, 1), 0x80);
	CHECK_EQ_INT(in(&bus, CMOS_INDEX, 1), 0xff);
	/* a word at the index port is a byte at each port, as on ISA */
	CHECK_EQ_INT(in(&bus, CMOS_INDEX, 2), 0x80ff);
	CHECK(out(&bus, CMOS_INDEX, 0x000b, 2));
	CHECK_EQ_INT(in(&bus, CMOS_DATA, 1), 0x02);
	/* wider, or from the data port on, it runs past the clock */
	CHECK(reaches_nothing(&bus, CMOS_INDEX, 4));
	CHECK(reaches_nothing(&bus, CMOS_DATA, 2));
	CHECK(!out(&bus, CMOS_DATA, 0x0d0d, 2));
	CHECK_EQ_INT(in(&bus, CMOS_DATA, 1), 0x02);
}

static void test_boot_marker(void)
{
	struct guest_ports p;
	struct bus bus = { 0 };
	uint64_t before, after, marker;

	CHECK_EQ_INT(ports_init(&p, &bus, NULL, NULL), 0);
	before = monotonic_ns();
	CHECK(out(&bus, KRUN_CTL_BOOT_MARKER, 0, 1));
	after = monotonic_ns();
	marker = p.boot_marker_ns;
	CHECK(marker >= before && marker <= after);
	/* the first one counts */
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		CHECK(out(&bus, KRUN_CTL_BOOT_MARKER, 0x55, sizes[s]));
	CHECK_EQ_INT(p.boot_marker_ns, marker);
	CHECK_EQ_INT(p.exit_status, -1);
}

static void test_exit_status(void)
{
	static const struct {
		uint32_t written, size;
		int status;
	} cases[] = {
		{ 0, 4, 0 },
		{ 3, 4, 3 },
		{ 255, 4, 255 },
		{ 256, 4, 0 },
		{ 0x1ff, 4, 255 },
		{ 0xffffffff, 4, 255 },
		{ 0x80000001, 4, 1 },
		{ 42, 1, 42 },
		{ 0x1234, 2, 0x34 },
	};
	struct guest_ports p;
	struct bus bus = { 0 };
	unsigned int stops[VM_STOP_EXITED + 1] = { 0 };

	CHECK_EQ_INT(ports_init(&p, &bus, count_stop, stops), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(out(&bus, KRUN_CTL_EXIT_STATUS, cases[i].written, cases[i].size));
		CHECK_EQ_INT(p.exit_status, cases[i].status);
		/* each report ends the VM (the vCPU runs no further) */
		CHECK_EQ_INT(stops[VM_STOP_EXITED], i + 1);
	}
	CHECK_EQ_INT(stops[VM_STOP_RESET], 0);
	/* the next ports of the control block are not the status */
	CHECK(out(&bus, KRUN_CTL_EXIT_STATUS + 1, 7, 1));
	CHECK(out(&bus, KRUN_CTL_PORT + 2, 7, 2));
	CHECK_EQ_INT(p.exit_status, cases[ARRAY_SIZE(cases) - 1].status);
	CHECK_EQ_INT(p.boot_marker_ns, 0);
}

/* The control block is write-only: it reads all ones at every width. The
 * ports around the devices reach nothing, at every width, reads or writes. */
static void test_unknown_ports(void)
{
	static const uint16_t ports[] = {
		0x0000, 0x005f, 0x0061, 0x0063, 0x0072, 0x03f8, KRUN_CTL_PORT - 1,
		KRUN_CTL_PORT + KRUN_CTL_PORT_SIZE, 0xcf8, 0xffff,
	};
	struct guest_ports p;
	struct bus bus = { 0 };
	unsigned int stops[VM_STOP_EXITED + 1] = { 0 };

	CHECK_EQ_INT(ports_init(&p, &bus, count_stop, stops), 0);
	CHECK(out(&bus, CMOS_INDEX, 0x0d, 1));
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint32_t ones = sizes[s] == 4 ? 0xffffffffu : (1u << (8 * sizes[s])) - 1;

		CHECK_EQ_INT(in(&bus, KRUN_CTL_BOOT_MARKER, sizes[s]), ones);
		CHECK_EQ_INT(in(&bus, KRUN_CTL_EXIT_STATUS, sizes[s]), ones);
		for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
			CHECK(reaches_nothing(&bus, ports[i], sizes[s]));
			CHECK(!out(&bus, ports[i], 0xfe, sizes[s]));
		}
	}
	CHECK_EQ_INT(stops[VM_STOP_RESET], 0);
	CHECK_EQ_INT(p.exit_status, -1);
	CHECK_EQ_INT(p.boot_marker_ns, 0);
	CHECK_EQ_INT(in(&bus, CMOS_DATA, 1), 0x80);
}

int main(void)
{
	test_initial_state();
	test_i8042();
	test_cmos_clock();
	test_boot_marker();
	test_exit_status();
	test_unknown_ports();
	return CHECK_DONE();
}
