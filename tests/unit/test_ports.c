/* Legacy port I/O as the guest sees it: the i8042 reset line, the CMOS clock,
 * our control port and the silence everywhere else, at every access size. */
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "check.h"
#include "vmm/ports.h"

#define I8042_DATA 0x60
#define I8042_COMMAND 0x64
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_DISABLE 0x80

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t sizes[] = { 1, 2, 4 };

static void count_reset(void *opaque)
{
	unsigned int *resets = opaque;

	(*resets)++;
}

static void out(struct guest_ports *p, uint16_t port, uint32_t value, uint32_t size)
{
	uint8_t data[4];

	memcpy(data, &value, sizeof(data));
	ports_io(p, port, true, data, size);
}

/* A read of size bytes; the bytes past size must stay as they were. */
static uint32_t in(struct guest_ports *p, uint16_t port, uint32_t size)
{
	uint8_t data[8];
	uint32_t value = 0;

	memset(data, 0xa5, sizeof(data));
	ports_io(p, port, false, data, size);
	for (uint32_t i = size; i < sizeof(data); i++)
		CHECK_EQ_INT(data[i], 0xa5);
	memcpy(&value, data, size);
	return value;
}

static uint8_t cmos(struct guest_ports *p, uint8_t index)
{
	out(p, CMOS_INDEX, index, 1);
	return in(p, CMOS_DATA, 1);
}

static int from_bcd(uint8_t v)
{
	CHECK((v & 0xf) < 10 && (v >> 4) < 10);
	return (v >> 4) * 10 + (v & 0xf);
}

static void test_initial_state(void)
{
	struct guest_ports p;
	unsigned int resets = 0;

	memset(&p, 0x5a, sizeof(p));
	ports_init(&p, count_reset, &resets);
	CHECK_EQ_INT(p.boot_marker_ns, 0);
	CHECK_EQ_INT(p.exit_status, -1);
	CHECK_EQ_INT(p.cmos_index, 0);
	CHECK_EQ_INT(resets, 0);
}

/* Only the reset command, 0xfe at the command port, pulls the line; the byte
 * that lands on the port is what counts, whatever the access width. */
static void test_i8042(void)
{
	static const uint32_t not_reset[] = { 0x00, 0xfd, 0xff, 0xd1, 0xfe00, 0xfe0000 };
	struct guest_ports p;
	unsigned int resets = 0;

	ports_init(&p, count_reset, &resets);
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		/* empty buffers, which the kernel's reset path waits for */
		CHECK_EQ_INT(in(&p, I8042_COMMAND, sizes[s]), 0);
		CHECK_EQ_INT(in(&p, I8042_DATA, sizes[s]), 0);
		for (size_t i = 0; i < ARRAY_SIZE(not_reset); i++)
			out(&p, I8042_COMMAND, not_reset[i], sizes[s]);
		out(&p, I8042_DATA, 0xfe, sizes[s]);
		out(&p, CMOS_INDEX, 0xfe, sizes[s]);
		out(&p, KRUN_CTL_BOOT_MARKER, 0xfe, sizes[s]);
		CHECK_EQ_INT(resets, s);
		out(&p, I8042_COMMAND, 0x1200fe, sizes[s]);
		CHECK_EQ_INT(resets, s + 1);
	}
	CHECK_EQ_INT(p.exit_status, -1);
}

/* The guest reads the clock as Linux does: seconds, the rest, seconds again,
 * and once more if a second went by meanwhile. */
static void test_cmos_clock(void)
{
	struct guest_ports p;
	struct tm guest = { 0 }, host;
	time_t before, after, guest_time;
	int century, year, tries = 0;

	ports_init(&p, NULL, NULL);
	CHECK_EQ_INT(cmos(&p, 0x0a) & 0x80, 0); /* no update in progress */
	CHECK_EQ_INT(cmos(&p, 0x0b) & 0x06, 0x02); /* BCD, 24-hour */
	CHECK_EQ_INT(cmos(&p, 0x0d), 0x80); /* the time is valid */
	do {
		before = time(NULL);
		guest.tm_sec = from_bcd(cmos(&p, 0x00));
		guest.tm_min = from_bcd(cmos(&p, 0x02));
		guest.tm_hour = from_bcd(cmos(&p, 0x04));
		guest.tm_mday = from_bcd(cmos(&p, 0x07));
		guest.tm_mon = from_bcd(cmos(&p, 0x08)) - 1;
		year = from_bcd(cmos(&p, 0x09));
		century = from_bcd(cmos(&p, 0x32));
		after = time(NULL);
	} while (from_bcd(cmos(&p, 0x00)) != guest.tm_sec && ++tries < 3);
	guest.tm_year = century * 100 + year - 1900;
	guest_time = timegm(&guest);
	CHECK(guest_time >= before - 1 && guest_time <= after + 1);
	/* day of the week, 1 = Sunday, for the day read */
	gmtime_r(&guest_time, &host);
	CHECK_EQ_INT(from_bcd(cmos(&p, 0x06)), host.tm_wday + 1);

	/* the NMI-disable bit is not part of the index */
	CHECK_EQ_INT(cmos(&p, CMOS_NMI_DISABLE | 0x0d), 0x80);
	CHECK_EQ_INT(cmos(&p, CMOS_NMI_DISABLE | 0x0b), cmos(&p, 0x0b));
	/* registers with nothing behind them read zero */
	CHECK_EQ_INT(cmos(&p, 0x0e), 0);
	CHECK_EQ_INT(cmos(&p, 0x7f), 0);
	/* the index sticks until rewritten; the data port ignores writes */
	out(&p, CMOS_INDEX, 0x0d, 1);
	out(&p, CMOS_DATA, 0x00, 1);
	CHECK_EQ_INT(in(&p, CMOS_DATA, 1), 0x80);
	CHECK_EQ_INT(in(&p, CMOS_DATA, 1), 0x80);
	CHECK_EQ_INT(in(&p, CMOS_DATA, 2), 0x80);
	CHECK_EQ_INT(in(&p, CMOS_DATA, 4), 0x80);
}

static void test_boot_marker(void)
{
	struct guest_ports p;
	uint64_t before, after, marker;

	ports_init(&p, NULL, NULL);
	before = monotonic_ns();
	out(&p, KRUN_CTL_BOOT_MARKER, 0, 1);
	after = monotonic_ns();
	marker = p.boot_marker_ns;
	CHECK(marker >= before && marker <= after);
	/* the first one counts */
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		out(&p, KRUN_CTL_BOOT_MARKER, 0x55, sizes[s]);
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

	ports_init(&p, NULL, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		out(&p, KRUN_CTL_EXIT_STATUS, cases[i].written, cases[i].size);
		CHECK_EQ_INT(p.exit_status, cases[i].status);
	}
	/* the next ports of the control block are not the status */
	out(&p, KRUN_CTL_EXIT_STATUS + 1, 7, 1);
	out(&p, KRUN_CTL_PORT + 2, 7, 2);
	CHECK_EQ_INT(p.exit_status, cases[ARRAY_SIZE(cases) - 1].status);
	CHECK_EQ_INT(p.boot_marker_ns, 0);
}

/* Nothing there: reads all ones at every width, writes change nothing. */
static void test_unknown_ports(void)
{
	static const uint16_t ports[] = {
		0x0000, 0x0061, CMOS_INDEX, 0x03f8, KRUN_CTL_BOOT_MARKER, KRUN_CTL_EXIT_STATUS,
		KRUN_CTL_PORT + 8, 0xcf8, 0xffff,
	};
	struct guest_ports p;
	unsigned int resets = 0;

	ports_init(&p, count_reset, &resets);
	out(&p, CMOS_INDEX, 0x0d, 1);
	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
			CHECK_EQ_INT(in(&p, ports[i], sizes[s]),
				     sizes[s] == 4 ? 0xffffffffu : (1u << (8 * sizes[s])) - 1);
			if (ports[i] != CMOS_INDEX && ports[i] != KRUN_CTL_BOOT_MARKER &&
			    ports[i] != KRUN_CTL_EXIT_STATUS)
				out(&p, ports[i], 0xfe, sizes[s]);
		}
	}
	CHECK_EQ_INT(resets, 0);
	CHECK_EQ_INT(p.exit_status, -1);
	CHECK_EQ_INT(p.boot_marker_ns, 0);
	CHECK_EQ_INT(in(&p, CMOS_DATA, 1), 0x80);
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
