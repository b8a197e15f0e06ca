/* qcow2 images (QEMU's docs/interop/qcow2.txt), our own reading and writing:
 * the state the qcow2_*.c files share. One file per concern: the header
 * and opening (qcow2_open.c), the caches of metadata clusters
 * (qcow2_cache.c), refcounts and cluster allocation (qcow2_refcount.c),
 * the guest-to-host map through L1 and L2 (qcow2_map.c) and the guest's
 * reads, writes, zeroes and discards (qcow2_io.c).
 *
 * Locks: `lock` (a mutex) guards every piece of metadata: the L1 and
 * refcount tables, both caches, the allocation hint and the file's end;
 * every write of metadata to the file happens under it. `io` (a rwlock)
 * keeps clusters from being freed (and so reused) while data I/O to them
 * runs outside `lock`: reads and writes hold it shared, anything that
 * frees a cluster holds it exclusive. Order: io, then lock.
 *
 * Crash safety, as QEMU orders it: every metadata update is written through
 * to the file at once (the caches only ever hold what the file holds), and
 * where one update must not reach the disk before another, a barrier
 * (fdatasync) separates them: a cluster's refcount before any table points
 * at it, a new table's contents before the pointer to it, an L2 entry's
 * removal before the refcount it held goes down. A crash at any point
 * leaves at worst clusters with a refcount and no reference (leaks, which
 * `qemu-img check -r leaks` gives back). With DISK_SYNC_NONE the barriers
 * are skipped (QEMU's cache=unsafe): the order of the writes still holds
 * against a VMM killed at any point, not against the host losing power. */
#ifndef KRUN_DISK_QCOW2_H
#define KRUN_DISK_QCOW2_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "disk/image.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
/* A backing chain deeper than this is refused (a loop ends here too). */
#define QCOW2_MAX_BACKING_DEPTH 16
/* QEMU's own limits on the tables it keeps whole in memory. */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
/* Host offsets in table entries have 56 bits. */
#define QCOW2_MAX_OFFSET (1ull << 56)
/* The L2 cache's budget (slots of one cluster each, between the bounds). */
#define QCOW2_L2_CACHE_BYTES (4u << 20)
#define QCOW2_L2_CACHE_MIN_SLOTS 4
#define QCOW2_L2_CACHE_MAX_SLOTS 256
#define QCOW2_REFBLOCK_CACHE_SLOTS 4

/* Table entry bits. */
#define QCOW2_OFLAG_COPIED (1ull << 63)     /* refcount is exactly 1 */
#define QCOW2_OFLAG_COMPRESSED (1ull << 62) /* L2: a compressed cluster */
#define QCOW2_OFLAG_ZERO 1ull               /* L2, version 3: reads as zeroes */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9..55 */

/* A cache of whole metadata clusters (L2 tables, refcount blocks), read
 * through and written through: a slot only ever holds what the file holds. */
struct qcow2_cache {
	unsigned int slots;
	uint64_t clock;
	uint64_t *offset; /* 0: empty (cluster 0 is the header, never a table) */
	uint64_t *used;   /* the clock at the last lookup, for LRU eviction */
	uint8_t *data;    /* slots x cluster_size */
};

struct qcow2 {
	struct disk_image img;
	int fd;
	const char *path; /* owned */
	enum disk_sync sync;
	unsigned int version;
	unsigned int cluster_bits;
	uint64_t cluster_size;
	unsigned int l2_bits; /* entries per L2 table = 1 << l2_bits */
	unsigned int refcount_order;
	unsigned int refblock_bits; /* entries per refcount block = 1 << refblock_bits */
	struct disk_image *backing; /* NULL: unallocated clusters read as zeroes */

	pthread_rwlock_t io;
	pthread_mutex_t lock;
	/* Guarded by lock: */
	uint64_t *l1; /* host byte order */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *reftable; /* host byte order */
	uint64_t reftable_entries;
	uint64_t reftable_offset;
	uint64_t end;       /* the file's end, a cluster multiple: where new clusters go */
	uint64_t free_hint; /* no cluster below this one is free */
	struct qcow2_cache l2_cache;
	struct qcow2_cache refblock_cache;
};

#define QCOW2(i) ((struct qcow2 *)(i))

/* qcow2_io.c: the ops; qcow2_open.c: close (also undoes a failed open). */
extern const struct disk_image_ops qcow2_ops;
void qcow2_close(struct disk_image *img);

/* qcow2_open.c: sync the file if the sync mode asks for barriers. */
int qcow2_barrier(struct qcow2 *q);
/* Whether [off, off + len) touches the header cluster, the L1 table or the
 * refcount table: never a place for an L2 table, a refcount block or data. */
bool qcow2_hits_fixed_metadata(const struct qcow2 *q, uint64_t off, uint64_t len);

/* qcow2_cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned int slots, uint64_t cluster_size);
void qcow2_cache_free(struct qcow2_cache *c);
/* The cluster at off, read into the cache if absent: NULL and *err. */
uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, int *err);
/* A freshly made cluster: its contents given, written to the file. */
int qcow2_cache_put_new(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, const void *data);
/* Bytes [at, at + len) of the cached cluster at off changed: write them. */
int qcow2_cache_write(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, size_t at,
		      size_t len);
/* The cluster at off is no longer a table: forget it. */
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);

/* qcow2_map.c (under lock): what a guest cluster is. */
enum qcow2_kind {
	QCOW2_UNALLOCATED, /* the backing file's, or zeroes */
	QCOW2_ZERO,        /* zeroes (v3); host may still hold a cluster */
	QCOW2_DATA,        /* at host */
	QCOW2_COMPRESSED,  /* compressed_len bytes at host (any byte offset) */
};

struct qcow2_mapping {
	enum qcow2_kind kind;
	uint64_t entry; /* the L2 entry as it is */
	uint64_t host;
	uint64_t compressed_len; /* at most 2 clusters (the field's width) */
	bool copied;             /* host's refcount is 1: writable in place */
};

/* The mapping of the cluster holding guest_off: 0, or -EIO for bad
 * metadata (logged). */
int qcow2_map_get(struct qcow2 *q, uint64_t guest_off, struct qcow2_mapping *m);
/* Point the cluster holding guest_off at entry (making its L2 table if it
 * has none): written through. */
int qcow2_map_set(struct qcow2 *q, uint64_t guest_off, uint64_t entry);

/* qcow2_refcount.c (all under lock) */
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *value);
/* A free cluster, its refcount made 1 (not synced: the caller's barrier
 * comes before any table points at it): its host offset. */
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *offset);
/* Drop one reference to each cluster of [off, off + len); a cluster left
 * with none is punched out of the file. The references must be gone from
 * the tables (and synced: the caller's barrier) first. */
int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len);

#endif
