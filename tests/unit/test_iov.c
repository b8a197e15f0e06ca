/* Flat bytes in and out of iovecs: each copy stops at the end of the
 * shorter side, crosses buffer boundaries, and skips empty buffers. */
#include "base/iov.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static void test_total(void)
{
	char a[3], b[5];
	struct iovec iov[] = { { a, sizeof(a) }, { NULL, 0 }, { b, sizeof(b) } };
	struct iovec huge[] = { { a, SIZE_MAX - 1 }, { b, 2 } };

	CHECK_EQ_INT(iov_total(iov, 0), 0);
	CHECK_EQ_INT(iov_total(iov, 3), 8);
	/* lengths a guest's descriptors could add up to: saturated, not wrapped */
	CHECK(iov_total(huge, 2) == SIZE_MAX);
}

static void test_gather(void)
{
	char a[] = "abc", b[] = "defgh";
	struct iovec iov[] = { { a, 3 }, { NULL, 0 }, { b, 5 } };
	char out[16];

	memset(out, '.', sizeof(out));
	CHECK_EQ_INT(iov_gather(out, 5, iov, 3), 5);
	CHECK(memcmp(out, "abcde.", 6) == 0);
	memset(out, '.', sizeof(out));
	CHECK_EQ_INT(iov_gather(out, sizeof(out), iov, 3), 8);
	CHECK(memcmp(out, "abcdefgh.", 9) == 0);
	CHECK_EQ_INT(iov_gather(out, 0, iov, 3), 0);
	CHECK_EQ_INT(iov_gather(out, sizeof(out), iov, 0), 0);
}

static void test_scatter(void)
{
	char a[3], b[5];
	struct iovec iov[] = { { a, sizeof(a) }, { NULL, 0 }, { b, sizeof(b) } };

	memset(a, '.', sizeof(a));
	memset(b, '.', sizeof(b));
	CHECK_EQ_INT(iov_scatter(iov, 3, "wxyz", 4), 4);
	CHECK(memcmp(a, "wxy", 3) == 0 && memcmp(b, "z....", 5) == 0);
	CHECK_EQ_INT(iov_scatter(iov, 3, "0123456789", 10), 8);
	CHECK(memcmp(a, "012", 3) == 0 && memcmp(b, "34567", 5) == 0);
	CHECK_EQ_INT(iov_scatter(iov, 1, "ABCD", 4), 3);
	CHECK(memcmp(a, "ABC", 3) == 0 && memcmp(b, "34567", 5) == 0);
}

/* A window of the buffers: skip crosses whole buffers and empty ones, len
 * ends inside one, and a slice that needs more entries than given fails. */
static void test_slice(void)
{
	char a[3], b[5], c[4];
	struct iovec iov[] = { { a, sizeof(a) }, { NULL, 0 }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec out[4];

	CHECK_EQ_INT(iov_slice(iov, 4, 0, SIZE_MAX, out, 4), 3);
	CHECK(out[0].iov_base == a && out[1].iov_base == b && out[2].iov_base == c);
	CHECK_EQ_INT(iov_slice(iov, 4, 4, 5, out, 4), 2);
	CHECK(out[0].iov_base == b + 1 && out[0].iov_len == 4);
	CHECK(out[1].iov_base == c && out[1].iov_len == 1);
	CHECK_EQ_INT(iov_slice(iov, 4, 3, 5, out, 1), 1);
	CHECK(out[0].iov_base == b && out[0].iov_len == 5);
	CHECK_EQ_INT(iov_slice(iov, 4, 3, 6, out, 1), -EINVAL);
	CHECK_EQ_INT(iov_slice(iov, 4, 12, 1, out, 4), 0);
	CHECK_EQ_INT(iov_slice(iov, 4, 0, 0, out, 4), 0);
}

int main(void)
{
	test_total();
	test_gather();
	test_scatter();
	test_slice();
	return CHECK_DONE();
}
