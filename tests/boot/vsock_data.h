/* What the vsock boot test's two sides share: the ports, the size of the
 * bulk transfer and how its bytes are made and summed, so that each side
 * can check what the other sent without the data crossing twice. */
#ifndef KRUN_TESTS_BOOT_VSOCK_DATA_H
#define KRUN_TESTS_BOOT_VSOCK_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define VSOCK_TEST_CONNECT_PORT 1234 /* the guest connects, the host's unix listener answers */
#define VSOCK_TEST_LISTEN_PORT 5678  /* the guest listens, the host connects to the VMM's socket */
#define VSOCK_TEST_UNMAPPED_PORT 9999
#define VSOCK_TEST_BULK (16u << 20)

/* The bulk transfer's bytes: a xorshift stream, seeded per direction. */
static inline void vsock_test_fill(uint64_t *state, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		buf[i] = (uint8_t)*state;
	}
}

/* FNV-1a, 64 bits, over a stream in pieces. */
static inline uint64_t vsock_test_sum(uint64_t sum, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum = (sum ^ buf[i]) * 0x100000001b3ull;
	return sum;
}
#define VSOCK_TEST_SUM_INIT 0xcbf29ce484222325ull

/* All of len bytes written, or false. */
static inline bool vsock_test_write_all(int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

#endif
