/* Flat bytes in and out of iovecs: each copy stops at the end of the
 * shorter side, crosses buffer boundaries, and skips empty buffers. */
#include "base/iov.h"

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

int main(void)
{
	test_total();
	test_gather();
	test_scatter();
	return CHECK_DONE();
}
