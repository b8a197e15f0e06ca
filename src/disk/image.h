/* A disk image as the block device sees it, whatever its format: a size, and
 * calls that read, write, flush, discard and zero byte ranges of the guest's
 * view of it. One ops table per format (raw.c, qcow2*.c); image.c opens a
 * path, takes the image's lock and picks the format.
 *
 * Threads: any thread may call any op but close, at the same time as others;
 * each format keeps its own lock for its metadata (raw needs none). close
 * runs once, after every other call has returned. Every op returns 0 or a
 * -errno; a range is always within size (the device checks the guest's
 * requests before they get here). */
#ifndef KRUN_DISK_IMAGE_H
#define KRUN_DISK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* libkrun.h's KRUN_DISK_FORMAT_* values. */
enum disk_format {
	DISK_FORMAT_RAW = 0,
	DISK_FORMAT_QCOW2 = 1,
	DISK_FORMAT_VMDK = 2, /* refused: not supported */
};

/* libkrun.h's KRUN_SYNC_* values: what a guest's flush does on the host. */
enum disk_sync {
	DISK_SYNC_NONE = 0,    /* nothing: the host writes back when it likes */
	DISK_SYNC_RELAXED = 1, /* fdatasync, except where the host makes it a no-op */
	DISK_SYNC_FULL = 2,    /* fdatasync every time */
};

struct disk_open_opts {
	bool read_only;
	bool direct_io; /* O_DIRECT on the image's data */
	enum disk_sync sync;
};

struct disk_image;

struct disk_image_ops {
	/* len = the iovec's total; off + len <= size. Whole or an error. */
	int (*readv)(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*writev)(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
	/* What the guest wrote so far is on stable storage, as opts.sync says. */
	int (*flush)(struct disk_image *img);
	/* The range's contents are no longer needed: free what backs it if the
	 * format can (reads may then return anything the format chooses; ours
	 * return zeroes). NULL: the format cannot. */
	int (*discard)(struct disk_image *img, uint64_t off, uint64_t len);
	/* The range reads as zeroes from now on; may_unmap lets the format
	 * free what backs it instead of writing zeroes. */
	int (*write_zeroes)(struct disk_image *img, uint64_t off, uint64_t len, bool may_unmap);
	void (*close)(struct disk_image *img);
};

/* The first member of every format's state. */
struct disk_image {
	const struct disk_image_ops *ops;
	uint64_t size; /* the guest's view, in bytes */
	bool read_only;
	const char *format; /* "raw", "qcow2": for log lines */
};

/* Open path as format (its backing files too, for qcow2) with opts: 0 and
 * *out, or -errno with a log line saying what was wrong. A writable image
 * is locked against any other writer (and a read-only one against writers)
 * with open file description locks, as QEMU does, so two VMMs never write
 * one image. */
int disk_image_open(const char *path, enum disk_format format, const struct disk_open_opts *opts,
		    struct disk_image **out);

/* disk_image_open in two steps, for a VMM that opens its images before it
 * opens KVM (so a wrong path, a directory or a lock held elsewhere fails
 * the same on a host without KVM) and reads their formats as it builds the
 * devices. open_file: the fd, opened as opts say and locked, or -errno
 * (logged). open_fd: the format on that fd (taken over, closed on failure
 * too): 0 and *out, or -errno (logged). */
int disk_image_open_file(const char *path, enum disk_format format,
			 const struct disk_open_opts *opts);
int disk_image_open_fd(int fd, const char *path, enum disk_format format,
		       const struct disk_open_opts *opts, struct disk_image **out);

/* The formats, for image.c: each takes fd (its own from then on, closed on
 * failure too); path names the image in log lines and, for qcow2, is where
 * a relative backing file name is found from. depth counts the images above
 * this one in a backing chain. */
int disk_raw_open(int fd, const char *path, const struct disk_open_opts *opts,
		  struct disk_image **out);
int disk_qcow2_open(int fd, const char *path, const struct disk_open_opts *opts,
		    unsigned int depth, struct disk_image **out);

#endif
