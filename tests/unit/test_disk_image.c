/* Opening disk images (disk/image.c) and the raw format (disk/raw.c),
 * named disk-image as disk-raw is the boot test's name: the locks as QEMU
 * takes them (two writers, a reader and a writer refused, two readers
 * fine; QEMU itself, as qemu-io, refused an image we write or read, and an
 * image QEMU writes refused to us), a directory, VMDK, a bad format; then
 * the raw ops on a real file: reads and writes, a discard punching a hole,
 * write-zeroes with and without unmap, reads past a file shortened behind
 * our back, flush. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "check.h"
#include "disk/image.h"

#define SIZE (1u << 20)

static char dir[] = "/tmp/test-disk-raw-XXXXXX";
static char path[64];

static const struct disk_open_opts rw = { .sync = DISK_SYNC_FULL };
static const struct disk_open_opts ro = { .read_only = true, .sync = DISK_SYNC_FULL };

static int open_image(const struct disk_open_opts *opts, struct disk_image **img)
{
	return disk_image_open(path, DISK_FORMAT_RAW, opts, img);
}

#define QEMU_IO "/usr/bin/qemu-io"

/* QEMU's qemu-io (qemu-utils) opening the image for writing, as QEMU does
 * (no -U), running cmd: its pid, or -1 when it is not installed. (Debian
 * 12's qemu-img info takes no lock that conflicts with a writer.) */
static pid_t qemu_io_start(const char *cmd)
{
	pid_t pid;

	if (access(QEMU_IO, X_OK))
		return -1;
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(QEMU_IO, "qemu-io", "-f", "raw", "-c", cmd, path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int qemu_io_status(pid_t pid)
{
	int status;

	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* QEMU and we keep out of each other's way. */
static void test_qemu_locks(void)
{
	struct disk_image *img;
	pid_t pid;
	int ret = 0;

	if ((pid = qemu_io_start("read 0 512")) < 0) {
		printf("qemu-io is not installed: QEMU's side of the locks not checked\n");
		return;
	}
	CHECK_EQ_INT(qemu_io_status(pid), 0);
	CHECK_EQ_INT(open_image(&rw, &img), 0);
	CHECK(qemu_io_status(qemu_io_start("read 0 512")) != 0); /* "Failed to get "write" lock" */
	img->ops->close(img);
	CHECK_EQ_INT(open_image(&ro, &img), 0);
	CHECK(qemu_io_status(qemu_io_start("read 0 512")) != 0);
	img->ops->close(img);
	/* QEMU holding it for a while (sleep, in ms): refused to us */
	pid = qemu_io_start("sleep 3000");
	for (int i = 0; i < 250 && (ret = open_image(&ro, &img)) == 0; i++) {
		img->ops->close(img);
		usleep(10000);
	}
	CHECK_EQ_INT(ret, -EBUSY);
	CHECK_EQ_INT(open_image(&rw, &img), -EBUSY);
	CHECK_EQ_INT(qemu_io_status(pid), 0);
	CHECK_EQ_INT(open_image(&rw, &img), 0);
	img->ops->close(img);
}

static void test_locks(void)
{
	struct disk_image *a, *b;

	CHECK_EQ_INT(open_image(&rw, &a), 0);
	CHECK_EQ_INT(open_image(&rw, &b), -EBUSY);
	CHECK_EQ_INT(open_image(&ro, &b), -EBUSY);
	a->ops->close(a);

	CHECK_EQ_INT(open_image(&ro, &a), 0);
	CHECK_EQ_INT(open_image(&ro, &b), 0);
	CHECK_EQ_INT(open_image(&rw, &a), -EBUSY);
	b->ops->close(b);
	CHECK_EQ_INT(open_image(&rw, &b), -EBUSY);
	a->ops->close(a);
	CHECK_EQ_INT(open_image(&rw, &a), 0);
	a->ops->close(a);
}

static void test_refused(void)
{
	struct disk_image *img;
	int fd;

	CHECK_EQ_INT(disk_image_open(dir, DISK_FORMAT_RAW, &ro, &img), -EISDIR);
	CHECK_EQ_INT(disk_image_open(dir, DISK_FORMAT_RAW, &rw, &img), -EISDIR);
	CHECK_EQ_INT(disk_image_open(path, DISK_FORMAT_VMDK, &rw, &img), -EOPNOTSUPP);
	CHECK_EQ_INT(disk_image_open(path, (enum disk_format)7, &rw, &img), -EINVAL);
	CHECK_EQ_INT(disk_image_open("/nonexistent/disk", DISK_FORMAT_RAW, &rw, &img), -ENOENT);
	CHECK_EQ_INT(disk_image_open("/dev/null", DISK_FORMAT_RAW, &ro, &img), -EINVAL);
	/* the two steps: a locked fd, then the format on it */
	fd = disk_image_open_file(path, DISK_FORMAT_RAW, &rw);
	CHECK(fd >= 0);
	CHECK_EQ_INT(disk_image_open_file(path, DISK_FORMAT_RAW, &ro), -EBUSY);
	CHECK_EQ_INT(disk_image_open_fd(fd, path, DISK_FORMAT_RAW, &rw, &img), 0);
	CHECK_EQ_INT(img->size, SIZE);
	CHECK(!img->read_only && !strcmp(img->format, "raw"));
	img->ops->close(img);
}

static long long blocks(void)
{
	struct stat st;

	CHECK_EQ_INT(stat(path, &st), 0);
	return (long long)st.st_blocks;
}

static void test_raw_ops(void)
{
	static uint8_t data[65536], back[65536], zeroes[65536];
	struct iovec iov[2] = { { data, 4096 }, { data + 4096, sizeof(data) - 4096 } };
	struct iovec in = { back, sizeof(back) };
	struct disk_image *img;
	long long before;

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	CHECK_EQ_INT(open_image(&rw, &img), 0);
	CHECK_EQ_INT(img->ops->writev(img, iov, 2, 65536), 0);
	CHECK_EQ_INT(img->ops->readv(img, &in, 1, 65536), 0);
	CHECK(memcmp(back, data, sizeof(data)) == 0);
	CHECK_EQ_INT(img->ops->flush(img), 0);

	before = blocks();
	CHECK_EQ_INT(img->ops->discard(img, 65536, sizeof(data)), 0);
	CHECK(blocks() <= before - (long long)sizeof(data) / 512);
	CHECK_EQ_INT(img->ops->readv(img, &in, 1, 65536), 0);
	CHECK(memcmp(back, zeroes, sizeof(back)) == 0);

	CHECK_EQ_INT(img->ops->writev(img, iov, 2, 0), 0);
	CHECK_EQ_INT(img->ops->write_zeroes(img, 0, 8192, false), 0);
	CHECK_EQ_INT(img->ops->write_zeroes(img, 8192, sizeof(data) - 8192, true), 0);
	CHECK_EQ_INT(img->ops->readv(img, &in, 1, 0), 0);
	CHECK(memcmp(back, zeroes, sizeof(back)) == 0);

	/* shortened behind our back: the rest reads as zeroes */
	CHECK_EQ_INT(img->ops->writev(img, iov, 2, SIZE - sizeof(data)), 0);
	CHECK_EQ_INT(truncate(path, SIZE - 4096), 0);
	memset(back, 0xff, sizeof(back));
	CHECK_EQ_INT(img->ops->readv(img, &in, 1, SIZE - sizeof(data)), 0);
	CHECK(memcmp(back, data, sizeof(data) - 4096) == 0);
	CHECK(memcmp(back + sizeof(data) - 4096, zeroes, 4096) == 0);
	img->ops->close(img);
	CHECK_EQ_INT(truncate(path, SIZE), 0);

	CHECK_EQ_INT(open_image(&ro, &img), 0);
	CHECK(img->read_only);
	CHECK(img->ops->writev(img, iov, 2, 0) < 0); /* the fd is read-only too */
	img->ops->close(img);
}

int main(void)
{
	int fd;

	log_set_level(getenv("TEST_LOG") ? LOG_DEBUG : LOG_OFF);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/disk.raw", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, SIZE) == 0);
	close(fd);
	test_locks();
	test_qemu_locks();
	test_refused();
	test_raw_ops();
	unlink(path);
	rmdir(dir);
	return CHECK_DONE();
}
