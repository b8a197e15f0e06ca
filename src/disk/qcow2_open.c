/* Opening a qcow2 image: the header (big-endian, version 2 or 3) checked
 * field by field before anything trusts it, its extensions parsed within
 * the first cluster, the L1 and refcount tables read whole (both bounded as
 * QEMU bounds them) and the backing file opened. Runs on the thread that
 * builds the VM. A read-only open never writes the file. */
#include "disk/qcow2.h"
#include "disk/file_io.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "disk/backing.h"

/* The header's fields, at their offsets (docs/interop/qcow2.txt). */
#define H_VERSION 4
#define H_BACKING_OFFSET 8
#define H_BACKING_SIZE 16
#define H_CLUSTER_BITS 20
#define H_SIZE 24
#define H_CRYPT 32
#define H_L1_SIZE 36
#define H_L1_OFFSET 40
#define H_REFTABLE_OFFSET 48
#define H_REFTABLE_CLUSTERS 56
#define H_NB_SNAPSHOTS 60
#define H_INCOMPAT 72
#define H_AUTOCLEAR 88
#define H_REFCOUNT_ORDER 96
#define H_HEADER_LENGTH 100
#define H_COMPRESSION 104
#define V2_HEADER_LENGTH 72
#define V3_HEADER_LENGTH 104

#define INCOMPAT_DIRTY (1ull << 0)
#define INCOMPAT_CORRUPT (1ull << 1)
#define INCOMPAT_DATA_FILE (1ull << 2)
#define INCOMPAT_COMPRESSION (1ull << 3)

#define EXT_END 0
#define EXT_BACKING_FORMAT 0xe2792acau
#define BACKING_NAME_MAX 1023

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

int qcow2_barrier(struct qcow2 *q)
{
	if (q->sync == DISK_SYNC_NONE)
		return 0;
	return fdatasync(q->fd) == 0 ? 0 : -errno;
}

static bool ranges_meet(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

bool qcow2_hits_fixed_metadata(const struct qcow2 *q, uint64_t off, uint64_t len)
{
	return ranges_meet(off, len, 0, q->cluster_size) ||
	       ranges_meet(off, len, q->l1_offset, (uint64_t)q->l1_size * 8) ||
	       ranges_meet(off, len, q->reftable_offset, q->reftable_entries * 8);
}

/* A table of n 8-byte entries at off: cluster-aligned, past the header,
 * inside a file of file_size bytes. */
static bool table_fits(const struct qcow2 *q, uint64_t off, uint64_t n, uint64_t file_size)
{
	return off % q->cluster_size == 0 && off >= q->cluster_size && off <= file_size &&
	       n <= (file_size - off) / 8;
}

static int read_table(struct qcow2 *q, uint64_t off, uint64_t n, uint64_t **out)
{
	uint64_t *t = calloc(n ? n : 1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	if ((ret = disk_file_pread(q->fd, t, n * 8, off)) < 0) {
		free(t);
		return ret;
	}
	for (uint64_t i = 0; i < n; i++)
		t[i] = be64toh(t[i]);
	*out = t;
	return 0;
}

/* The extensions after the header, up to an end mark or the end of the
 * first cluster:
 * only the backing file's format matters here (feature names, bitmaps and
 * the rest are skipped). fmt gets it, or "" when absent. */
static int parse_extensions(struct qcow2 *q, const uint8_t *h, uint64_t at, char fmt[17])
{
	fmt[0] = 0;
	while (at < q->cluster_size) {
		uint32_t type, len;

		if (q->cluster_size - at < 8) {
			LOG_ERR("disk %s: a qcow2 header extension runs past the first cluster",
				q->path);
			return -EINVAL;
		}
		type = be32_at(h + at);
		len = be32_at(h + at + 4);
		at += 8;
		if (type == EXT_END)
			return 0;
		if (len > q->cluster_size - at) {
			LOG_ERR("disk %s: a qcow2 header extension runs past the first cluster",
				q->path);
			return -EINVAL;
		}
		if (type == EXT_BACKING_FORMAT) {
			if (len == 0 || len > 16) {
				LOG_ERR("disk %s: a backing format name of %u bytes", q->path, len);
				return -EINVAL;
			}
			memcpy(fmt, h + at, len);
			fmt[len] = 0;
		}
		at += ((uint64_t)len + 7) & ~7ull;
	}
	return 0; /* the cluster is full: no room for an end mark */
}

/* Open the backing file named at h[off, off + len), found from the
 * directory of q->path when relative. */
static int open_backing(struct qcow2 *q, const uint8_t *h, uint64_t off, uint32_t len,
			const char *fmt, unsigned int depth)
{
	char name[BACKING_NAME_MAX + 1], path[4096];
	enum disk_format format = DISK_FORMAT_RAW;
	const char *slash = strrchr(q->path, '/');
	bool probe = fmt[0] == 0;
	int n;

	/* (len past a small cluster first: cluster_size - len must not wrap) */
	if (len == 0 || len > BACKING_NAME_MAX || len > q->cluster_size ||
	    off < V2_HEADER_LENGTH || off > q->cluster_size - len) {
		LOG_ERR("disk %s: the backing file name is not inside the first cluster", q->path);
		return -EINVAL;
	}
	memcpy(name, h + off, len);
	name[len] = 0;
	if (strlen(name) != len) {
		LOG_ERR("disk %s: the backing file name has a NUL byte", q->path);
		return -EINVAL;
	}
	if (!probe && strcmp(fmt, "qcow2") == 0)
		format = DISK_FORMAT_QCOW2;
	else if (!probe && strcmp(fmt, "raw") != 0) {
		LOG_ERR("disk %s: backing file %s has format %s: only raw and qcow2 are supported",
			q->path, name, fmt);
		return -EOPNOTSUPP;
	}
	if (name[0] == '/' || !slash)
		n = snprintf(path, sizeof(path), "%s", name);
	else
		n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - q->path), q->path,
			     name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (depth + 1 >= QCOW2_MAX_BACKING_DEPTH) {
		LOG_ERR("disk %s: a backing chain deeper than %d images (a loop?)", q->path,
			QCOW2_MAX_BACKING_DEPTH);
		return -ELOOP;
	}
	return disk_backing_open(path, format, probe, depth + 1, &q->backing);
}

/* The header's checks, in the order the fields come; 0 or -errno, logged. */
static int check_header(struct qcow2 *q, const uint8_t *h, uint32_t header_length,
			uint64_t file_size, const struct disk_open_opts *opts)
{
	/* A header too short for the compression type byte means zlib. */
	uint8_t compression = header_length > H_COMPRESSION ? h[H_COMPRESSION] : 0;
	uint64_t incompat = q->version >= 3 ? be64_at(h + H_INCOMPAT) : 0;
	uint64_t size = q->img.size, l2_reach;
	uint32_t crypt = be32_at(h + H_CRYPT);

	if (crypt) {
		LOG_ERR("disk %s: encrypted qcow2 images are not supported", q->path);
		return -EOPNOTSUPP;
	}
	if (incompat & INCOMPAT_DIRTY) {
		LOG_ERR("disk %s: the qcow2 image is dirty (its refcounts may be wrong): run "
			"`qemu-img check -r all` on it first", q->path);
		return -EOPNOTSUPP;
	}
	if (incompat & INCOMPAT_CORRUPT) {
		LOG_ERR("disk %s: the qcow2 image is marked corrupt: run `qemu-img check -r all`",
			q->path);
		return -EINVAL;
	}
	if (incompat & INCOMPAT_DATA_FILE) {
		LOG_ERR("disk %s: qcow2 images with an external data file are not supported",
			q->path);
		return -EOPNOTSUPP;
	}
	if ((incompat & INCOMPAT_COMPRESSION) && compression != 0) {
		LOG_ERR("disk %s: qcow2 compression type %u: only zlib is supported", q->path,
			compression);
		return -EOPNOTSUPP;
	}
	if (incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE |
			 INCOMPAT_COMPRESSION)) {
		LOG_ERR("disk %s: unknown qcow2 incompatible features 0x%llx", q->path,
			(unsigned long long)incompat);
		return -EOPNOTSUPP;
	}
	if (q->refcount_order > 6) {
		LOG_ERR("disk %s: refcount order %u", q->path, q->refcount_order);
		return -EINVAL;
	}
	/* The guest's size must be covered by L1 (and so fit in 64 bits
	 * rounded up to whole L2 tables). */
	l2_reach = q->cluster_size << q->l2_bits;
	if (size > QCOW2_MAX_OFFSET ||
	    (size + l2_reach - 1) / l2_reach > q->l1_size ||
	    (uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		LOG_ERR("disk %s: a size of %llu bytes and an L1 table of %u entries do not fit",
			q->path, (unsigned long long)size, q->l1_size);
		return -EINVAL;
	}
	if (q->reftable_entries * 8 > QCOW2_MAX_REFTABLE_BYTES) {
		LOG_ERR("disk %s: a refcount table larger than %u MiB", q->path,
			QCOW2_MAX_REFTABLE_BYTES >> 20);
		return -EINVAL;
	}
	if (!table_fits(q, q->l1_offset, q->l1_size, file_size) ||
	    !table_fits(q, q->reftable_offset, q->reftable_entries, file_size) ||
	    ranges_meet(q->l1_offset, (uint64_t)q->l1_size * 8, q->reftable_offset,
			q->reftable_entries * 8)) {
		LOG_ERR("disk %s: the qcow2 L1 or refcount table is outside the file, "
			"unaligned, on the header or on each other", q->path);
		return -EINVAL;
	}
	if (!opts->read_only && be32_at(h + H_NB_SNAPSHOTS)) {
		LOG_ERR("disk %s: qcow2 images with internal snapshots open read-only only",
			q->path);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Every refcount block the table names: aligned and off the fixed metadata
 * (their contents are read, and checked, when used). */
static int check_reftable(struct qcow2 *q)
{
	for (uint64_t i = 0; i < q->reftable_entries; i++) {
		uint64_t off = q->reftable[i];

		if (off && ((off & (q->cluster_size - 1)) || off >= QCOW2_MAX_OFFSET ||
			    qcow2_hits_fixed_metadata(q, off, q->cluster_size))) {
			LOG_ERR("disk %s: refcount table entry %llu is 0x%llx", q->path,
				(unsigned long long)i, (unsigned long long)off);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse(struct qcow2 *q, const uint8_t *h, uint64_t file_size, const struct disk_open_opts *opts,
		 unsigned int depth)
{
	uint32_t header_length = V2_HEADER_LENGTH;
	char fmt[17];
	int ret;

	if (be32_at(h) != QCOW2_MAGIC || (q->version = be32_at(h + H_VERSION)) < 2 ||
	    q->version > 3) {
		LOG_ERR("disk %s: not a qcow2 image of version 2 or 3", q->path);
		return -EINVAL;
	}
	q->cluster_bits = be32_at(h + H_CLUSTER_BITS);
	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS || q->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		LOG_ERR("disk %s: qcow2 cluster bits %u", q->path, q->cluster_bits);
		return -EINVAL;
	}
	q->cluster_size = 1ull << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	q->img.size = be64_at(h + H_SIZE);
	q->l1_size = be32_at(h + H_L1_SIZE);
	q->l1_offset = be64_at(h + H_L1_OFFSET);
	q->reftable_offset = be64_at(h + H_REFTABLE_OFFSET);
	q->reftable_entries = (uint64_t)be32_at(h + H_REFTABLE_CLUSTERS) << (q->cluster_bits - 3);
	q->refcount_order = 4;
	if (q->version >= 3) {
		q->refcount_order = be32_at(h + H_REFCOUNT_ORDER);
		header_length = be32_at(h + H_HEADER_LENGTH);
		if (header_length < V3_HEADER_LENGTH || header_length > q->cluster_size ||
		    header_length % 8) {
			LOG_ERR("disk %s: qcow2 header length %u", q->path, header_length);
			return -EINVAL;
		}
	}
	if ((ret = check_header(q, h, header_length, file_size, opts)) < 0)
		return ret;
	q->refblock_bits = q->cluster_bits + 3 - q->refcount_order;
	if ((ret = parse_extensions(q, h, header_length, fmt)) < 0)
		return ret;
	if ((ret = read_table(q, q->l1_offset, q->l1_size, &q->l1)) < 0 ||
	    (ret = read_table(q, q->reftable_offset, q->reftable_entries, &q->reftable)) < 0) {
		LOG_ERR("disk %s: cannot read the qcow2 tables: %s", q->path, strerror(-ret));
		return ret;
	}
	if ((ret = check_reftable(q)) < 0)
		return ret;
	if (be64_at(h + H_BACKING_OFFSET) &&
	    (ret = open_backing(q, h, be64_at(h + H_BACKING_OFFSET), be32_at(h + H_BACKING_SIZE),
				fmt, depth)) < 0)
		return ret;
	/* Autoclear bits stand for extensions (bitmaps) a writer that does
	 * not keep them must declare stale: we do not keep them. */
	if (!opts->read_only && q->version >= 3 && be64_at(h + H_AUTOCLEAR)) {
		uint64_t zero = 0;

		if ((ret = disk_file_pwrite(q->fd, &zero, sizeof(zero), H_AUTOCLEAR)) < 0 ||
		    (ret = qcow2_barrier(q)) < 0)
			return ret;
	}
	return 0;
}

static unsigned int l2_cache_slots(uint64_t cluster_size)
{
	uint64_t slots = QCOW2_L2_CACHE_BYTES / cluster_size;

	if (slots < QCOW2_L2_CACHE_MIN_SLOTS)
		return QCOW2_L2_CACHE_MIN_SLOTS;
	return slots > QCOW2_L2_CACHE_MAX_SLOTS ? QCOW2_L2_CACHE_MAX_SLOTS : (unsigned int)slots;
}

void qcow2_close(struct disk_image *img)
{
	struct qcow2 *q = QCOW2(img);

	if (q->backing)
		q->backing->ops->close(q->backing);
	qcow2_cache_free(&q->l2_cache);
	qcow2_cache_free(&q->refblock_cache);
	pthread_rwlock_destroy(&q->io);
	pthread_mutex_destroy(&q->lock);
	free(q->l1);
	free(q->reftable);
	free((char *)q->path);
	close(q->fd);
	free(q);
}

int disk_qcow2_open(int fd, const char *path, const struct disk_open_opts *opts,
		    unsigned int depth, struct disk_image **out)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	off_t file_size = lseek(fd, 0, SEEK_END);
	pthread_rwlockattr_t attr;
	uint8_t first[H_CLUSTER_BITS + 4], *h = NULL;
	uint32_t bits;
	int ret = -ENOMEM;

	if (!q || !(q->path = strdup(path))) {
		free(q);
		close(fd);
		return -ENOMEM;
	}
	q->fd = fd;
	q->sync = opts->sync;
	q->img = (struct disk_image){ .ops = &qcow2_ops, .read_only = opts->read_only,
				      .format = "qcow2" };
	/* Writers first: a discard must not wait behind a stream of reads. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&q->io, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&q->lock, NULL);
	/* The first cluster holds the header and its extensions: read it
	 * whole (zeroes past the file's end), its size as the header says
	 * where that is one parse() accepts. */
	if (file_size < V2_HEADER_LENGTH ||
	    pread(fd, first, sizeof(first), 0) != (ssize_t)sizeof(first)) {
		LOG_ERR("disk %s: too short for a qcow2 image", path);
		ret = -EINVAL;
		goto fail;
	}
	bits = be32_at(first + H_CLUSTER_BITS);
	if (bits < QCOW2_MIN_CLUSTER_BITS || bits > QCOW2_MAX_CLUSTER_BITS)
		bits = QCOW2_MIN_CLUSTER_BITS;
	if (!(h = calloc(1, 1u << bits)))
		goto fail;
	if (pread(fd, h, 1u << bits, 0) < V2_HEADER_LENGTH) {
		ret = -EIO;
		goto fail;
	}
	if ((ret = parse(q, h, (uint64_t)file_size, opts, depth)) < 0)
		goto fail;
	ret = -ENOMEM;
	if (qcow2_cache_init(&q->l2_cache, l2_cache_slots(q->cluster_size), q->cluster_size) ||
	    qcow2_cache_init(&q->refblock_cache, QCOW2_REFBLOCK_CACHE_SLOTS, q->cluster_size))
		goto fail;
	q->end = ((uint64_t)file_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	LOG_INF("disk %s: qcow2 v%u, %llu bytes, clusters of %llu bytes%s%s%s", path, q->version,
		(unsigned long long)q->img.size, (unsigned long long)q->cluster_size,
		q->backing ? ", backing " : "", q->backing ? q->backing->format : "",
		opts->read_only ? ", read-only" : "");
	free(h);
	*out = &q->img;
	return 0;
fail:
	free(h);
	qcow2_close(&q->img);
	return ret;
}
