/* virtio-fs: a thin adapter between virtqueues and the FUSE server. Queue 0
 * is the high-priority queue, the others carry requests; each queue has its
 * own worker thread, so a slow request never holds up another queue and the
 * high-priority queue never waits behind requests. */
#ifndef KRUN_DEVICES_VIRTIO_FS_H
#define KRUN_DEVICES_VIRTIO_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <linux/virtio_fs.h>

#include "fs/fuse_server.h"
#include "virtio/device.h"

#define VIRTIO_FS_REQUEST_QUEUES 2
#define VIRTIO_FS_NR_QUEUES (1 + VIRTIO_FS_REQUEST_QUEUES)
#define VIRTIO_FS_QUEUE_SIZE 1024
/* Requests of one device waiting at once (SETLKW for a taken lock), all
 * queues together, each on a thread of its own; past this a SETLKW that
 * would wait is answered ENOLCK instead. */
#define VIRTIO_FS_MAX_WAITING 64
/* A waiting request's thread only ever serves a SETLKW (the server refuses
 * anything else there), whose deepest path (the lock's open beneath the
 * root, a log line) uses a few KiB. */
#define VIRTIO_FS_WAITING_STACK (64u << 10)

/* A request that may wait (fuse_server_request_may_wait), served on its own
 * thread so that its queue goes on; the queue's worker pushes its reply. */
struct virtio_fs_waiting {
	struct virtio_fs_waiting *next;
	struct virtio_fs_worker *w;
	pthread_t thread;
	bool done; /* under the worker's lock */
	uint16_t head;
	uint32_t written;
	unsigned int nr_in, nr_out;
	struct iovec iov[];
};

/* A queue's worker lives as long as the device, so that no vCPU (whose
 * register writes activate and reset the device) ever creates it: a thread
 * inherits its creator's seccomp filter. It serves its queue while active. */
struct virtio_fs_worker {
	struct virtio_fs *fs;
	unsigned int queue;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t kicked; /* to the worker: pending, active, stop, run */
	pthread_cond_t idle;   /* from the worker: serving ended, run done */
	/* under lock: */
	bool pending; /* a kick, or a waiting request done, not yet served */
	bool active;  /* the device is activated and this queue ready */
	bool serving;
	bool stop;
	int (*run)(void); /* virtio_fs_on_workers' fn, until run */
	int run_ret;
	struct virtio_fs_waiting *waiting; /* under lock: running or done */
	struct virtq_chain *chain;
};

struct virtio_fs_counters {
	_Atomic uint64_t requests;
	_Atomic uint64_t malformed; /* requests the server could not answer */
	_Atomic uint64_t waited;    /* requests served on a thread of their own */
};

struct virtio_fs {
	struct virtio_device vdev;
	struct virtq queues[VIRTIO_FS_NR_QUEUES];
	struct virtio_fs_config config;
	struct fuse_server *server;
	struct virtio_fs_worker workers[VIRTIO_FS_NR_QUEUES];
	struct virtio_fs_counters counters;
	atomic_bool cancel_waiting; /* set while the device resets */
	atomic_uint nr_waiting; /* threads of waiting requests, joined or not */
};

/* tag: the mount tag the guest names (at most 36 bytes). The server is owned
 * by the device from here on; on failure (-errno, logged) it is still the
 * caller's, and nothing of the device is left to destroy. */
int virtio_fs_init(struct virtio_fs *fs, const char *tag, struct fuse_server *server);
/* Each worker calls fn on its own thread, and the caller waits for them
 * all: what is set per thread (the VMM's seccomp filter). 0, or the first
 * error fn returns. */
int virtio_fs_on_workers(struct virtio_fs *fs, int (*fn)(void));
void virtio_fs_destroy(struct virtio_fs *fs);

#endif
