/* Raw images: the guest's bytes are the file's, at the same offsets. No
 * metadata, so no lock: every op is one or a few positional system calls. */
#include "disk/image.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "disk/file_io.h"

struct raw_image {
	struct disk_image img;
	int fd;
	enum disk_sync sync;
	bool block_device;
};

#define RAW(i) ((struct raw_image *)(i))

/* The whole iovec at off; a read past the end of a file someone shortened
 * behind our back reads zeroes. iov is copied, as the loop changes it. */
static int raw_rw(struct raw_image *r, const struct iovec *iov, int iovcnt, uint64_t off,
		  bool write)
{
	struct iovec copy[IOV_MAX];

	if (iovcnt < 0 || (size_t)iovcnt > sizeof(copy) / sizeof(copy[0]))
		return -EINVAL;
	memcpy(copy, iov, (size_t)iovcnt * sizeof(*iov));
	return disk_file_rw(r->fd, copy, iovcnt, off,
			    write ? DISK_IO_WRITE : DISK_IO_ZERO_PAST_END);
}

static int raw_readv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return raw_rw(RAW(img), iov, iovcnt, off, false);
}

static int raw_writev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return raw_rw(RAW(img), iov, iovcnt, off, true);
}

static int raw_flush(struct disk_image *img)
{
	struct raw_image *r = RAW(img);

	if (r->sync == DISK_SYNC_NONE)
		return 0;
	return fdatasync(r->fd) == 0 ? 0 : -errno;
}

/* Punch a hole (a file) or discard the range (a block device). */
static int raw_discard(struct disk_image *img, uint64_t off, uint64_t len)
{
	struct raw_image *r = RAW(img);

	if (r->block_device) {
		uint64_t range[2] = { off, len };

		return ioctl(r->fd, BLKDISCARD, range) == 0 ? 0 : -errno;
	}
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

static int raw_write_zeroes(struct disk_image *img, uint64_t off, uint64_t len, bool may_unmap)
{
	struct raw_image *r = RAW(img);
	static const uint8_t zeroes[65536];

	/* A hole reads as zeroes; where the filesystem cannot make one, or for
	 * a block device, zeroes are written (ZERO_RANGE or by hand). */
	if (may_unmap && !r->block_device && raw_discard(img, off, len) == 0)
		return 0;
	if (!r->block_device && fallocate(r->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len > 0) {
		struct iovec iov = { (void *)zeroes, len < sizeof(zeroes) ? len : sizeof(zeroes) };
		int ret = raw_rw(r, &iov, 1, off, true);

		if (ret)
			return ret;
		off += iov.iov_len;
		len -= iov.iov_len;
	}
	return 0;
}

static void raw_close(struct disk_image *img)
{
	close(RAW(img)->fd);
	free(img);
}

static const struct disk_image_ops raw_ops = {
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};

int disk_raw_open(int fd, const char *path, const struct disk_open_opts *opts,
		  struct disk_image **out)
{
	struct raw_image *r;
	struct stat st;
	uint64_t size;

	if (fstat(fd, &st) < 0) {
		int ret = -errno;

		LOG_ERR("disk %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			int ret = -errno;

			LOG_ERR("disk %s: cannot read the block device's size: %s", path,
				strerror(-ret));
			close(fd);
			return ret;
		}
	} else {
		size = (uint64_t)st.st_size;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		close(fd);
		return -ENOMEM;
	}
	r->img = (struct disk_image){ .ops = &raw_ops, .size = size, .read_only = opts->read_only,
				      .format = "raw" };
	r->fd = fd;
	r->sync = opts->sync;
	r->block_device = S_ISBLK(st.st_mode);
	*out = &r->img;
	return 0;
}
