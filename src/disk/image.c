/* Opening a disk image: the file (or block device), its lock, its format.
 * Runs on the thread that builds the VM, before any sandbox. */
#include "disk/image.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "disk/backing.h"

/* QEMU's image locking, so that our VMMs and QEMU keep out of each other's
 * way alike: open file description locks on single bytes, 100 + bit for
 * each permission held and 200 + bit for each one refused to others, all
 * shared; an opener first checks that nobody else holds a byte that
 * conflicts. Only the write permission (bit 1) matters here: a writer holds
 * and refuses it, a reader only refuses it. */
#define LOCK_HOLD_WRITE 101
#define LOCK_REFUSE_WRITE 201

static int lock_byte(int fd, int cmd, struct flock *fl, off_t byte, short type)
{
	*fl = (struct flock){ .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	return fcntl(fd, cmd, fl) == 0 ? 0 : -errno;
}

/* 0, -EBUSY (another opener conflicts, logged) or another -errno. */
static int lock_image(int fd, const char *path, bool write)
{
	struct flock fl;
	int ret = lock_byte(fd, F_OFD_SETLK, &fl, LOCK_REFUSE_WRITE, F_RDLCK);

	if (ret == 0 && write)
		ret = lock_byte(fd, F_OFD_SETLK, &fl, LOCK_HOLD_WRITE, F_RDLCK);
	/* Does another opener write (so we may not read), or refuse writers
	 * (so we may not write)? Our own locks never conflict with us. */
	if (ret == 0 && (ret = lock_byte(fd, F_OFD_GETLK, &fl, LOCK_HOLD_WRITE, F_WRLCK)) == 0 &&
	    fl.l_type != F_UNLCK)
		ret = -EBUSY;
	if (ret == 0 && write &&
	    (ret = lock_byte(fd, F_OFD_GETLK, &fl, LOCK_REFUSE_WRITE, F_WRLCK)) == 0 &&
	    fl.l_type != F_UNLCK)
		ret = -EBUSY;
	if (ret == -EBUSY || ret == -EAGAIN || ret == -EACCES) {
		LOG_ERR("disk %s is in use by another VM or QEMU: %s", path,
			write ? "it reads or writes it" : "it writes it");
		return -EBUSY;
	}
	if (ret)
		LOG_ERR("cannot lock disk %s: %s", path, strerror(-ret));
	return ret;
}

/* Open and lock path: the fd, or -errno (logged). */
static int open_locked(const char *path, const struct disk_open_opts *opts, bool direct)
{
	int flags = (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	struct stat st;
	int fd, ret;

	if ((fd = open(path, flags)) < 0) {
		ret = -errno;
		LOG_ERR("cannot open disk %s%s: %s", path, opts->read_only ? "" : " for writing",
			strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		LOG_ERR("disk %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		LOG_ERR("disk %s is not a regular file or a block device", path);
		close(fd);
		return ret;
	}
	if ((ret = lock_image(fd, path, !opts->read_only)) < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

static int open_format(int fd, const char *path, enum disk_format format,
		       const struct disk_open_opts *opts, unsigned int depth,
		       struct disk_image **out)
{
	if (format == DISK_FORMAT_QCOW2)
		return disk_qcow2_open(fd, path, opts, depth, out);
	return disk_raw_open(fd, path, opts, out);
}

int disk_image_open_file(const char *path, enum disk_format format,
			 const struct disk_open_opts *opts)
{
	if (format == DISK_FORMAT_VMDK) {
		LOG_ERR("disk %s: VMDK images are not supported; convert it with "
			"`qemu-img convert -O qcow2`", path);
		return -EOPNOTSUPP;
	}
	if (format != DISK_FORMAT_RAW && format != DISK_FORMAT_QCOW2) {
		LOG_ERR("disk %s: unknown format %d", path, (int)format);
		return -EINVAL;
	}
	/* qcow2's metadata is not sector-aligned I/O: O_DIRECT is for raw. */
	return open_locked(path, opts, opts->direct_io && format == DISK_FORMAT_RAW);
}

int disk_image_open_fd(int fd, const char *path, enum disk_format format,
		       const struct disk_open_opts *opts, struct disk_image **out)
{
	return open_format(fd, path, format, opts, 0, out);
}

int disk_image_open(const char *path, enum disk_format format, const struct disk_open_opts *opts,
		    struct disk_image **out)
{
	int fd = disk_image_open_file(path, format, opts);

	return fd < 0 ? fd : disk_image_open_fd(fd, path, format, opts, out);
}

int disk_backing_open(const char *path, enum disk_format format, bool probe, unsigned int depth,
		      struct disk_image **out)
{
	static const uint8_t qcow2_magic[4] = { 'Q', 'F', 'I', 0xfb };
	const struct disk_open_opts ro = { .read_only = true, .sync = DISK_SYNC_NONE };
	uint8_t magic[4];
	int fd = open_locked(path, &ro, false);

	if (fd < 0)
		return fd;
	if (probe)
		format = pread(fd, magic, sizeof(magic), 0) == sizeof(magic) &&
					 memcmp(magic, qcow2_magic, sizeof(magic)) == 0
				 ? DISK_FORMAT_QCOW2
				 : DISK_FORMAT_RAW;
	return open_format(fd, path, format, &ro, depth, out);
}
