/* The Internet checksum (RFC 1071) over len bytes, in host byte order: what
 * the guest program and the host's test peer both put in their headers. */
#ifndef KRUN_TESTS_INET_CHECKSUM_H
#define KRUN_TESTS_INET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t inet_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
