#include "vmm/ports.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"

#define I8042_DATA 0x60
#define I8042_COMMAND 0x64
#define I8042_CMD_RESET 0xfe
#define CMOS_INDEX 0x70 /* and the data port after it */
#define CMOS_PORTS 2

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

/* Both i8042 ports read as empty buffers, which the kernel's reset path waits
 * for; only the command port takes a write, and only the reset counts. */
static void i8042_data_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			      bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write)
		memset(data, 0, len);
}

static void i8042_command_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
				 bool is_write)
{
	struct guest_ports *p = opaque;

	(void)offset;
	if (!is_write)
		memset(data, 0, len);
	else if (data[0] == I8042_CMD_RESET)
		p->stop(p->opaque, VM_STOP_RESET);
}

/* The index port is write-only; the data port reads the indexed register
 * and ignores writes. */
static void cmos_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct guest_ports *p = opaque;

	for (uint32_t i = 0; i < len; i++) {
		bool index_port = offset + i == 0;

		if (is_write && index_port)
			p->cmos_index = data[i];
		else if (!is_write)
			data[i] = index_port ? 0xff : cmos_read(p->cmos_index);
	}
}

/* Write-only. The status is the byte at its port, whatever the width. */
static void ctl_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct guest_ports *p = opaque;
	uint64_t none = 0;

	if (!is_write)
		memset(data, 0xff, len);
	else if (offset == KRUN_CTL_BOOT_MARKER - KRUN_CTL_PORT)
		atomic_compare_exchange_strong(&p->boot_marker_ns, &none, monotonic_ns());
	else if (offset == KRUN_CTL_EXIT_STATUS - KRUN_CTL_PORT) {
		/* The status ends the VM at once: left running, the guest's
		 * reboot resets its virtio devices, and a console reset
		 * discards the output still in its rings (kernel 6.12's
		 * device_shutdown does that). */
		p->exit_status = data[0];
		p->stop(p->opaque, VM_STOP_EXITED);
	}
}

int ports_init(struct guest_ports *p, struct bus *pio,
	       void (*stop)(void *opaque, enum vm_stop_reason reason), void *opaque)
{
	int ret;

	p->stop = stop;
	p->opaque = opaque;
	p->boot_marker_ns = 0;
	p->exit_status = -1;
	p->cmos_index = 0;
	if ((ret = bus_register(pio, I8042_DATA, 1, i8042_data_access, p)) < 0 ||
	    (ret = bus_register(pio, I8042_COMMAND, 1, i8042_command_access, p)) < 0 ||
	    (ret = bus_register(pio, CMOS_INDEX, CMOS_PORTS, cmos_access, p)) < 0 ||
	    (ret = bus_register(pio, KRUN_CTL_PORT, KRUN_CTL_PORT_SIZE, ctl_access, p)) < 0)
		return ret;
	return 0;
}
