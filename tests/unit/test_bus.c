/* The bus: an access reaches the range that holds all of it, and nothing
 * else; ranges that are empty, wrap around or overlap are refused. */
#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

#include "check.h"

/* What a handler saw: how often it ran, and its last access. */
struct seen {
	unsigned int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
};

static void record(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct seen *s = opaque;

	s->calls++;
	s->offset = offset;
	s->len = len;
	s->is_write = is_write;
	if (!is_write)
		memset(data, 0x5a, len);
}

/* Dispatch an access; which handler ran is read from the seen structs. */
static bool access_at(const struct bus *bus, uint64_t addr, uint32_t len, bool is_write)
{
	uint8_t data[8] = { 0 };

	return bus_dispatch(bus, addr, data, len, is_write);
}

static void test_edges(void)
{
	struct bus bus = { 0 };
	struct seen a = { 0 }, b = { 0 };

	CHECK_EQ_INT(bus_register(&bus, 0x1000, 0x100, record, &a), 0);
	CHECK_EQ_INT(bus_register(&bus, 0x1100, 0x10, record, &b), 0);

	/* first byte */
	CHECK(access_at(&bus, 0x1000, 1, false));
	CHECK_EQ_INT(a.calls, 1);
	CHECK_EQ_INT(a.offset, 0);
	CHECK_EQ_INT(a.is_write, false);
	/* last byte, and the last 4 bytes, of the first range */
	CHECK(access_at(&bus, 0x10ff, 1, true));
	CHECK_EQ_INT(a.calls, 2);
	CHECK_EQ_INT(a.offset, 0xff);
	CHECK_EQ_INT(a.is_write, true);
	CHECK(access_at(&bus, 0x10fc, 4, false));
	CHECK_EQ_INT(a.offset, 0xfc);
	CHECK_EQ_INT(a.len, 4);
	/* one past its end is the next range's first byte */
	CHECK(access_at(&bus, 0x1100, 1, false));
	CHECK_EQ_INT(a.calls, 3);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_EQ_INT(b.offset, 0);
	/* one past the last range, and one before the first: nothing */
	CHECK(!access_at(&bus, 0x1110, 1, false));
	CHECK(!access_at(&bus, 0xfff, 1, false));
	CHECK(!access_at(&bus, 0, 1, false));
	CHECK(!access_at(&bus, UINT64_MAX, 1, false));
	CHECK_EQ_INT(a.calls, 3);
	CHECK_EQ_INT(b.calls, 1);
}

/* An access that starts inside a range and runs past its end reaches
 * neither that range nor the one after it. */
static void test_straddle(void)
{
	struct bus bus = { 0 };
	struct seen a = { 0 }, b = { 0 };

	CHECK_EQ_INT(bus_register(&bus, 0x60, 1, record, &a), 0);
	CHECK_EQ_INT(bus_register(&bus, 0x61, 4, record, &b), 0);
	CHECK(!access_at(&bus, 0x60, 2, true));
	CHECK(!access_at(&bus, 0x60, 4, false));
	CHECK(!access_at(&bus, 0x63, 4, false));
	CHECK(!access_at(&bus, 0x5f, 2, false));
	CHECK_EQ_INT(a.calls, 0);
	CHECK_EQ_INT(b.calls, 0);
	CHECK(access_at(&bus, 0x61, 4, false));
	CHECK_EQ_INT(b.calls, 1);
	/* an access of no bytes reaches nothing */
	CHECK(!access_at(&bus, 0x60, 0, false));
	CHECK_EQ_INT(a.calls, 0);
}

static void test_refused(void)
{
	struct bus bus = { 0 };
	struct seen a = { 0 };

	/* empty, wrapping, or without a handler */
	CHECK_EQ_INT(bus_register(&bus, 0x1000, 0, record, &a), -EINVAL);
	CHECK_EQ_INT(bus_register(&bus, UINT64_MAX, 2, record, &a), -EINVAL);
	CHECK_EQ_INT(bus_register(&bus, UINT64_MAX - 0xff, 0x101, record, &a), -EINVAL);
	CHECK_EQ_INT(bus_register(&bus, 2, UINT64_MAX, record, &a), -EINVAL);
	CHECK_EQ_INT(bus_register(&bus, 0x1000, 0x10, NULL, &a), -EINVAL);
	CHECK_EQ_INT(bus.nr_ranges, 0);

	/* overlaps of every kind, with ranges on both sides */
	CHECK_EQ_INT(bus_register(&bus, 0x1000, 0x100, record, &a), 0);
	CHECK_EQ_INT(bus_register(&bus, 0x3000, 0x100, record, &a), 0);
	CHECK_EQ_INT(bus_register(&bus, 0x1000, 0x100, record, &a), -EEXIST);  /* the same */
	CHECK_EQ_INT(bus_register(&bus, 0x10ff, 1, record, &a), -EEXIST);     /* its last byte */
	CHECK_EQ_INT(bus_register(&bus, 0xf00, 0x101, record, &a), -EEXIST);  /* its first */
	CHECK_EQ_INT(bus_register(&bus, 0x1010, 0x10, record, &a), -EEXIST);  /* inside it */
	CHECK_EQ_INT(bus_register(&bus, 0x800, 0x1000, record, &a), -EEXIST); /* around it */
	CHECK_EQ_INT(bus_register(&bus, 0x10ff, 0x1f02, record, &a), -EEXIST); /* both */
	CHECK_EQ_INT(bus_register(&bus, 0, UINT64_MAX, record, &a), -EEXIST);
	CHECK_EQ_INT(bus.nr_ranges, 2);
	/* what touches without overlapping is taken: right after, right before */
	CHECK_EQ_INT(bus_register(&bus, 0x1100, 0x1f00, record, &a), 0);
	CHECK_EQ_INT(bus_register(&bus, 0, 0x1000, record, &a), 0);
	/* and the very top of the address space, which does not wrap */
	CHECK_EQ_INT(bus_register(&bus, UINT64_MAX, 1, record, &a), 0);
	CHECK(access_at(&bus, UINT64_MAX, 1, false));
	CHECK(!access_at(&bus, UINT64_MAX, 2, false));
	CHECK_EQ_INT(bus.nr_ranges, 5);
}

/* Ranges registered in any order are found; a full bus refuses more. */
static void test_many(void)
{
	struct bus bus = { 0 };
	struct seen seen[BUS_MAX_RANGES] = { 0 };

	for (unsigned int i = 0; i < BUS_MAX_RANGES; i++) {
		/* 0, 31, 2, 29, ...: neither ascending nor descending */
		unsigned int slot = i % 2 ? BUS_MAX_RANGES - i : i;
		CHECK_EQ_INT(bus_register(&bus, 0xd0000000ull + slot * 0x1000ull, 0x1000, record,
					  &seen[slot]), 0);
	}
	CHECK_EQ_INT(bus_register(&bus, 0x1000, 1, record, &seen[0]), -ENOSPC);
	for (unsigned int slot = 0; slot < BUS_MAX_RANGES; slot++) {
		CHECK(access_at(&bus, 0xd0000000ull + slot * 0x1000ull + 0x70, 4, true));
		CHECK_EQ_INT(seen[slot].calls, 1);
		CHECK_EQ_INT(seen[slot].offset, 0x70);
	}
	CHECK(!access_at(&bus, 0xd0000000ull + BUS_MAX_RANGES * 0x1000ull, 4, true));
}

/* A read's bytes come from the handler. */
static void test_read_data(void)
{
	struct bus bus = { 0 };
	struct seen a = { 0 };
	uint8_t data[8];

	CHECK_EQ_INT(bus_register(&bus, 0x70, 2, record, &a), 0);
	memset(data, 0, sizeof(data));
	CHECK(bus_dispatch(&bus, 0x70, data, 2, false));
	CHECK_EQ_INT(data[0], 0x5a);
	CHECK_EQ_INT(data[1], 0x5a);
	CHECK_EQ_INT(data[2], 0);
}

int main(void)
{
	test_edges();
	test_straddle();
	test_refused();
	test_many();
	test_read_data();
	return CHECK_DONE();
}
