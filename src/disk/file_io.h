/* Positional file I/O done whole. preadv and pwritev may move fewer bytes
 * than asked, or stop at a signal; every format needs the same loop around
 * them, so it is written once here. Any thread; no state. */
#ifndef KRUN_DISK_FILE_IO_H
#define KRUN_DISK_FILE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_IO_WRITE 1u
/* A read that meets the file's end fills the rest with zeroes (data the file
 * system never got: a sparse tail) instead of failing with -EIO. */
#define DISK_IO_ZERO_PAST_END 2u

/* Move the whole iovec at off: 0 or -errno (-EIO for a write that moves
 * nothing, or a read at the end without DISK_IO_ZERO_PAST_END). iov is the
 * caller's scratch copy: the loop advances it in place. A negative iovcnt
 * (an iov_slice that failed) is returned as it is. */
int disk_file_rw(int fd, struct iovec *iov, int iovcnt, uint64_t off, unsigned int flags);

/* One buffer, whole; the end of the file is -EIO (metadata must be there). */
int disk_file_pread(int fd, void *buf, size_t len, uint64_t off);
int disk_file_pwrite(int fd, const void *buf, size_t len, uint64_t off);

#endif
