#include "vmm/ports.h"

#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

#define I8042_DATA 0x60
#define I8042_COMMAND 0x64
#define I8042_CMD_RESET 0xfe
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

void ports_init(struct guest_ports *p, void (*reset)(void *), void *opaque)
{
	p->reset = reset;
	p->opaque = opaque;
	p->boot_marker_ns = 0;
	p->exit_status = -1;
	p->cmos_index = 0;
}

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* The registers Linux reads for the wall clock at boot, in BCD, 24-hour. */
static uint8_t cmos_read(uint8_t index)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (index & 0x7f) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(tm.tm_year / 100 + 19); /* century */
	case 0x0a: return 0x26;	/* no update in progress */
	case 0x0b: return 0x02;	/* 24-hour, BCD */
	case 0x0d: return 0x80;	/* battery good, time valid */
	default: return 0;
	}
}

void ports_io(struct guest_ports *p, uint16_t port, bool write, uint8_t *data, uint32_t size)
{
	uint32_t value = 0;

	if (write) {
		memcpy(&value, data, size < 4 ? size : 4);
		switch (port) {
		/* Byte-wide registers take the byte that lands on their port,
		 * the first one, whatever the access width. */
		case I8042_COMMAND:
			if (data[0] == I8042_CMD_RESET)
				p->reset(p->opaque);
			break;
		case CMOS_INDEX:
			p->cmos_index = data[0];
			break;
		case KRUN_CTL_BOOT_MARKER: {
			uint64_t expected = 0;
			atomic_compare_exchange_strong(&p->boot_marker_ns, &expected, monotonic_ns());
			break;
		}
		case KRUN_CTL_EXIT_STATUS:
			p->exit_status = value & 0xff;
			break;
		default:
			LOG_RATELIMITED(LOG_DEBUG, "guest wrote 0x%x to unhandled port 0x%x", value, port);
			break;
		}
		return;
	}
	switch (port) {
	case I8042_DATA:
	case I8042_COMMAND:
		value = 0; /* empty buffers: the kernel's reset path waits for that */
		break;
	case CMOS_DATA:
		value = cmos_read(p->cmos_index);
		break;
	default:
		value = 0xffffffff;
		break;
	}
	memcpy(data, &value, size < 4 ? size : 4);
}
