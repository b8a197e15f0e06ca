#include "devices/net/csum.h"

#include <errno.h>

int net_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset)
{
	size_t field = (size_t)start + offset;
	uint64_t sum = 0;

	if (field + 2 > len)
		return -EINVAL;
	/* big-endian 16-bit words; an odd last byte is the high half of one */
	for (size_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if ((len - start) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	frame[field] = (uint8_t)(sum >> 8);
	frame[field + 1] = (uint8_t)sum;
	return 0;
}
