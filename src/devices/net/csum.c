#include "devices/net/csum.h"

#include <errno.h>

uint64_t net_csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	/* big-endian 16-bit words; an odd last byte is the high half of one */
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t net_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset)
{
	size_t field = (size_t)start + offset;
	uint16_t sum;

	if (field + 2 > len)
		return -EINVAL;
	sum = net_csum_fold(net_csum_add(0, frame + start, len - start));
	frame[field] = (uint8_t)(sum >> 8);
	frame[field + 1] = (uint8_t)sum;
	return 0;
}
