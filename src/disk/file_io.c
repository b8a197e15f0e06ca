#include "disk/file_io.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

int disk_file_rw(int fd, struct iovec *iov, int iovcnt, uint64_t off, unsigned int flags)
{
	bool write = flags & DISK_IO_WRITE;

	if (iovcnt < 0)
		return iovcnt; /* an iov_slice that failed */
	while (iovcnt > 0) {
		ssize_t n = write ? pwritev(fd, iov, iovcnt, (off_t)off)
				  : preadv(fd, iov, iovcnt, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write || !(flags & DISK_IO_ZERO_PAST_END))
				return -EIO;
			for (int i = 0; i < iovcnt; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int disk_file_pread(int fd, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { buf, len };

	return disk_file_rw(fd, &v, 1, off, 0);
}

int disk_file_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { (void *)buf, len };

	return disk_file_rw(fd, &v, 1, off, DISK_IO_WRITE);
}
