/* virtio-blk: a disk image (disk/image.h) as the guest's block device, one
 * request queue served by a small pool of worker threads.
 *
 * Why a worker pool and not io_uring: the image formats (qcow2's metadata
 * above all) are written as plain blocking calls under their own locks, and
 * a thread per request in flight runs them unchanged; a worker's seccomp
 * filter names the few calls it makes (positional reads and writes,
 * fdatasync, fallocate), where io_uring's submissions are beyond what a
 * filter can see. A handful of threads keeps a disk as busy as the guest's
 * queue depth needs on a microVM.
 *
 * Threads: the transport calls the ops (vCPU threads, the event loop) under
 * its lock; each worker pops a chain under the device's lock, serves it
 * without the lock, and pushes it back under the lock again, so that the
 * queue belongs to one thread at a time (virtio/queue.h). */
#ifndef KRUN_DEVICES_BLK_VIRTIO_BLK_H
#define KRUN_DEVICES_BLK_VIRTIO_BLK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <linux/virtio_blk.h>

#include "disk/image.h"
#include "virtio/device.h"

#define VIRTIO_BLK_QUEUE_SIZE 256
/* Requests of one disk served at once, each on a worker of its own; the
 * rest wait in the ring. */
#define VIRTIO_BLK_WORKERS 4
/* Data buffers per request (the header and status besides); a chain with
 * more is answered IOERR. */
#define VIRTIO_BLK_SEG_MAX 126
/* Bytes of one data buffer; with SEG_MAX, 126 MiB per read or write at
 * most, read and written in place in guest memory (never copied). */
#define VIRTIO_BLK_SIZE_MAX (1u << 20)
/* Ranges per discard or write-zeroes request, and sectors per range: one
 * request holds a worker for at most 16 ranges of 1 GiB. */
#define VIRTIO_BLK_MAX_RANGES 16
#define VIRTIO_BLK_MAX_RANGE_SECTORS (1u << 21)
#define VIRTIO_BLK_SECTOR 512u

struct virtio_blk_counters {
	_Atomic uint64_t requests;
	_Atomic uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	_Atomic uint64_t bytes_read, bytes_written;
	_Atomic uint64_t io_errors;   /* IOERR answered: out of range, read-only, host error */
	_Atomic uint64_t unsupported; /* UNSUPP answered: an unknown type or flag */
	_Atomic uint64_t malformed;   /* chains with no header or status: given back unanswered */
};

struct virtio_blk_worker {
	struct virtio_blk *blk;
	pthread_t thread;
	bool started;
	int (*run)(void); /* virtio_blk_on_workers' fn, until run (under lock) */
	int run_ret;
	struct virtq_chain *chain;
	struct iovec iov[VIRTIO_BLK_QUEUE_SIZE];
};

struct virtio_blk {
	struct virtio_device vdev;
	struct virtq queue;
	struct virtio_blk_config config;
	struct disk_image *img; /* owned */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint64_t capacity; /* in sectors */

	pthread_mutex_t lock; /* the queue and what follows */
	pthread_cond_t kicked; /* to the workers */
	pthread_cond_t idle;   /* from them: in_flight fell to 0, or a run was done */
	bool active, pending, stop;
	unsigned int in_flight;
	struct virtio_blk_worker workers[VIRTIO_BLK_WORKERS];
	struct virtio_blk_counters counters;
};

/* Serve img (owned from here on, closed on failure too) with serial (at
 * most 20 bytes, NUL-padded in GET_ID's answer); the image's read_only
 * makes the device read-only. 0, or -errno (logged) with nothing left. */
int virtio_blk_init(struct virtio_blk *blk, struct disk_image *img, const char *serial);
/* fn on each worker's thread, waited for: 0 or the first error. */
int virtio_blk_on_workers(struct virtio_blk *blk, int (*fn)(void));
void virtio_blk_destroy(struct virtio_blk *blk);

/* One request (request.c): serve chain, write its status byte, and return
 * the bytes written into its writable buffers; a chain with no header or
 * status byte is counted and answered 0 bytes. On a worker, unlocked. */
uint32_t virtio_blk_serve(struct virtio_blk *blk, const struct virtq_chain *chain,
			  struct iovec *iov);

#endif
