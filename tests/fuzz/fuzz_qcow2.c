/* qcow2 images (src/disk/qcow2_*.c): a fuzzed image file in a memfd,
 * opened read-only or writable, then reads, writes, zeroes, discards and
 * flushes of the guest's view through it. Input format: formats.h.
 *
 * Beside ASan and UBSan (no access outside a buffer, no overflow in the
 * arithmetic on the header's sizes and offsets): an open either fails or
 * gives a size the actions can use, every action returns 0 or a -errno,
 * and a read-only image refuses writes and is never written. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/image.h"
#include "fuzz_input.h"

static uint8_t image[QC_IMAGE_MAX];
static uint8_t buf[65536];

static void act(struct disk_image *img, struct input *in)
{
	uint8_t op = take_u8(in) % QC_OP_COUNT;
	uint64_t off = take_u32(in) % img->size, len = take_u16(in);
	struct iovec v = { buf, 0 };
	int ret = 0;

	memset(buf, take_u8(in), sizeof(buf));
	if (len > img->size - off)
		len = img->size - off;
	v.iov_len = len;
	switch (op) {
	case QC_READ: ret = img->ops->readv(img, &v, 1, off); break;
	case QC_WRITE: ret = img->ops->writev(img, &v, 1, off); break;
	case QC_ZEROES: ret = img->ops->write_zeroes(img, off, len, false); break;
	case QC_ZEROES_UNMAP: ret = img->ops->write_zeroes(img, off, len, true); break;
	case QC_DISCARD: ret = img->ops->discard(img, off, len); break;
	case QC_FLUSH: ret = img->ops->flush(img); break;
	}
	FUZZ_CHECK(ret <= 0);
	if (img->read_only && op != QC_READ && op != QC_FLUSH)
		FUZZ_CHECK(ret < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	size_t len = take_u16(&in) % (QC_IMAGE_MAX + 1);
	uint8_t mode;
	struct disk_open_opts opts;
	struct disk_image *img;
	struct stat before, after;
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

	FUZZ_CHECK(fd >= 0);
	take_bytes(&in, image, len);
	FUZZ_CHECK(write(fd, image, len) == (ssize_t)len);
	mode = take_u8(&in);
	opts = (struct disk_open_opts){ .read_only = mode & 1,
					.sync = (enum disk_sync)((mode >> 1) % 3) };
	FUZZ_CHECK(fstat(fd, &before) == 0);
	/* A relative backing name resolves below a directory that is not. */
	if (disk_qcow2_open(fd, "/nonexistent/fuzz.qcow2", &opts, 0, &img) < 0)
		return 0;
	for (int i = 0; i < QC_MAX_ACTIONS && !input_empty(&in) && img->size; i++)
		act(img, &in);
	if (opts.read_only) {
		uint8_t *now = malloc(len ? len : 1);

		FUZZ_CHECK(now && fstat(fd, &after) == 0 && after.st_size == before.st_size);
		FUZZ_CHECK(pread(fd, now, len, 0) == (ssize_t)len && memcmp(now, image, len) == 0);
		free(now);
	}
	img->ops->close(img);
	return 0;
}
