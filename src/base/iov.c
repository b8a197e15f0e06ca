#include "base/iov.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

size_t iov_gather(void *dst, size_t len, const struct iovec *iov, unsigned int n)
{
	uint8_t *p = dst;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t chunk = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		if (chunk) /* an empty buffer may have no address */
			memcpy(p + done, iov[i].iov_base, chunk);
		done += chunk;
	}
	return done;
}

size_t iov_scatter(const struct iovec *iov, unsigned int n, const void *src, size_t len)
{
	const uint8_t *p = src;
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t chunk = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		if (chunk)
			memcpy(iov[i].iov_base, p + done, chunk);
		done += chunk;
	}
	return done;
}

int iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len,
	      struct iovec *out, unsigned int max_out)
{
	unsigned int nr = 0;

	for (unsigned int i = 0; i < n && len > 0; i++) {
		size_t chunk;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (nr == max_out)
			return -EINVAL;
		chunk = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
		out[nr++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, chunk };
		len -= chunk;
		skip = 0;
	}
	return (int)nr;
}
