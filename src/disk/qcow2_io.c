/* The guest's reads, writes, zeroes and discards on a qcow2 image, a
 * cluster at a time: the mapping looked up under the lock, then
 *  - reads: data read outside the lock (io held shared), unallocated
 *    clusters from the backing file (zeroes past its end) or as zeroes,
 *    compressed ones inflated (raw deflate) from a buffer of at most two
 *    clusters plus one of output, per request; in a writable image,
 *    compressed and shared clusters under the lock (a write may free them);
 *  - writes: in place, outside the lock, where the cluster is ours alone
 *    (COPIED); anything else is an allocating write, all under the lock,
 *    up to 64 clusters at once: new clusters (their refcounts synced
 *    first, one barrier for the batch), what the guest does not
 *    overwrite copied in from what it read before (backing file,
 *    compressed cluster, a shared cluster), the data, then the L2 entry,
 *    then (after a barrier) the old cluster's reference dropped;
 *  - zeroes and discards (io held exclusive, as they free clusters that
 *    in-place writes could be writing): v3 sets the zero flag (and frees the
 *    cluster unless told to keep it, then as a preallocated zero cluster);
 *    v2 unallocates where it may unmap and has no backing file, else
 *    writes zeroes.
 *    A discard reads back as zeroes (image.h leaves it to us). */
#include "disk/qcow2.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/iov.h"
#include "base/log.h"
#include "disk/file_io.h"

static void iov_zero(const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

/* A compressed cluster, inflated whole into out (one cluster). */
static int read_compressed(struct qcow2 *q, const struct qcow2_mapping *m, uint8_t *out)
{
	uint8_t *in = calloc(1, m->compressed_len);
	struct iovec v = { in, m->compressed_len };
	z_stream z = { 0 };
	int ret;

	if (!in)
		return -ENOMEM;
	/* The last sector may run past the file's end: zeroes there. */
	if ((ret = disk_file_rw(q->fd, &v, 1, m->host, DISK_IO_ZERO_PAST_END)) < 0)
		goto out;
	ret = -EIO;
	if (inflateInit2(&z, -12) != Z_OK)
		goto out;
	z.next_in = in;
	z.avail_in = (uInt)m->compressed_len;
	z.next_out = out;
	z.avail_out = (uInt)q->cluster_size;
	/* Done when the cluster is full, whether the stream says it ended. */
	int z_ret = inflate(&z, Z_FINISH);
	if ((z_ret == Z_STREAM_END || z_ret == Z_BUF_ERROR || z_ret == Z_OK) && z.avail_out == 0)
		ret = 0;
	else
		LOG_RATELIMITED(LOG_ERROR, "disk %s: a qcow2 compressed cluster at %llu is corrupt",
				q->path, (unsigned long long)m->host);
	inflateEnd(&z);
out:
	free(in);
	return ret;
}

/* What the guest sees of len bytes at guest_off in an unallocated cluster. */
static int read_backing(struct qcow2 *q, struct iovec *iov, int iovcnt, uint64_t guest_off,
			uint64_t len)
{
	struct iovec part[IOV_MAX];
	uint64_t have;
	int n, ret;

	if (!q->backing || guest_off >= q->backing->size) {
		iov_zero(iov, iovcnt);
		return 0;
	}
	have = q->backing->size - guest_off < len ? q->backing->size - guest_off : len;
	n = iov_slice(iov, (unsigned int)iovcnt, 0, have, part, IOV_MAX);
	ret = q->backing->ops->readv(q->backing, part, n, guest_off);
	iov_zero(part, iov_slice(iov, (unsigned int)iovcnt, have, len - have, part, IOV_MAX));
	return ret;
}

/* Read len bytes at guest_off, all in the cluster that m maps. */
static int read_mapped(struct qcow2 *q, const struct qcow2_mapping *m, struct iovec *iov,
		       int iovcnt, uint64_t guest_off, uint64_t len)
{
	uint64_t in_cluster = guest_off & (q->cluster_size - 1);
	uint8_t *buf;
	int ret;

	switch (m->kind) {
	case QCOW2_DATA:
		return disk_file_rw(q->fd, iov, iovcnt, m->host + in_cluster, DISK_IO_ZERO_PAST_END);
	case QCOW2_ZERO:
		iov_zero(iov, iovcnt);
		return 0;
	case QCOW2_UNALLOCATED:
		return read_backing(q, iov, iovcnt, guest_off, len);
	case QCOW2_COMPRESSED:
		if (!(buf = malloc(q->cluster_size)))
			return -ENOMEM;
		if ((ret = read_compressed(q, m, buf)) == 0)
			iov_scatter(iov, (unsigned int)iovcnt, buf + in_cluster, len);
		free(buf);
		return ret;
	}
	return -EIO;
}

static int qcow2_readv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct qcow2 *q = QCOW2(img);
	size_t total = iov_total(iov, (unsigned int)iovcnt), done = 0;
	struct iovec sub[IOV_MAX];
	int ret = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	pthread_rwlock_rdlock(&q->io);
	while (ret == 0 && done < total) {
		uint64_t g = off + done, n = q->cluster_size - (g & (q->cluster_size - 1));
		struct qcow2_mapping m;
		bool shared;

		if (n > total - done)
			n = total - done;
		pthread_mutex_lock(&q->lock);
		ret = qcow2_map_get(q, g, &m);
		/* A compressed or shared cluster is one a write elsewhere in
		 * it may replace and free (and the file use again) while
		 * io is held shared: read it under the lock. */
		shared = !img->read_only && (m.kind == QCOW2_COMPRESSED ||
					     (m.kind == QCOW2_DATA && !m.copied));
		if (!shared)
			pthread_mutex_unlock(&q->lock);
		if (ret == 0)
			ret = read_mapped(q, &m, sub,
					  iov_slice(iov, (unsigned int)iovcnt, done, n, sub, IOV_MAX),
					  g, n);
		if (shared)
			pthread_mutex_unlock(&q->lock);
		done += n;
	}
	pthread_rwlock_unlock(&q->io);
	return ret;
}

/* The host range m's entry holds a reference to (len 0: none). */
static void held_range(const struct qcow2 *q, const struct qcow2_mapping *m, uint64_t *off,
		       uint64_t *len)
{
	*off = *len = 0;
	if (m->kind == QCOW2_COMPRESSED) {
		*off = m->host & ~511ull;
		*len = m->compressed_len + (m->host & 511);
	} else if (m->host) {
		*off = m->host;
		*len = q->cluster_size;
	}
}

/* Drop the reference the replaced entry m held, if any. The caller's
 * barrier comes first, after the new entry is written: a crash leaks, never
 * frees a cluster in use. */
static int release_old(struct qcow2 *q, const struct qcow2_mapping *m)
{
	uint64_t off, len;

	held_range(q, m, &off, &len);
	return len ? qcow2_free_range(q, off, len) : 0;
}

static bool holds_cluster(const struct qcow2 *q, const struct qcow2_mapping *m)
{
	uint64_t off, len;

	held_range(q, m, &off, &len);
	return len != 0;
}

/* One cluster of an allocating write: where in the request, its old
 * mapping, its new place. */
struct alloc_job {
	struct qcow2_mapping m;
	uint64_t guest_off, n; /* n bytes at guest_off, within one cluster */
	size_t at;             /* their offset in the request */
	uint64_t target;
	bool reuse; /* a preallocated zero cluster ours alone: written in place */
};

/* The data of job j, whole clusters straight from the request, partial
 * ones over what the guest saw there before (backing file, compressed
 * cluster, shared cluster, zeroes) in buf, one cluster. */
static int write_job_data(struct qcow2 *q, const struct alloc_job *j, const struct iovec *iov,
			  int iovcnt, uint8_t **buf)
{
	uint64_t cluster_off = j->guest_off & ~(q->cluster_size - 1);
	struct iovec sub[IOV_MAX], whole;
	int subcnt = iov_slice(iov, (unsigned int)iovcnt, j->at, j->n, sub, IOV_MAX), ret;

	if (j->n == q->cluster_size)
		return disk_file_rw(q->fd, sub, subcnt, j->target, DISK_IO_WRITE);
	if (!*buf && !(*buf = malloc(q->cluster_size)))
		return -ENOMEM;
	whole = (struct iovec){ *buf, q->cluster_size };
	if ((ret = read_mapped(q, &j->m, &whole, 1, cluster_off, q->cluster_size)) < 0)
		return ret;
	iov_gather(*buf + (j->guest_off - cluster_off), j->n, sub, (unsigned int)subcnt);
	whole = (struct iovec){ *buf, q->cluster_size };
	return disk_file_rw(q->fd, &whole, 1, j->target, DISK_IO_WRITE);
}

/* Up to ALLOC_BATCH clusters of allocating writes, under the lock, in the
 * crash-safe order: every new cluster's refcount, one barrier, the data,
 * the L2 entries, a barrier, the old clusters' references dropped. On an
 * error, new clusters nothing points at yet are given back. */
#define ALLOC_BATCH 64

static int write_batch(struct qcow2 *q, struct alloc_job *jobs, unsigned int count,
		       const struct iovec *iov, int iovcnt)
{
	unsigned int allocated = 0, mapped = 0;
	bool old = false;
	uint8_t *buf = NULL;
	int ret = 0;

	for (; ret == 0 && allocated < count; allocated++) {
		struct alloc_job *j = &jobs[allocated];

		j->reuse = j->m.kind == QCOW2_ZERO && j->m.host && j->m.copied;
		if (j->reuse)
			j->target = j->m.host;
		else if ((ret = qcow2_alloc_cluster(q, &j->target)) < 0)
			break;
	}
	if (ret == 0)
		ret = qcow2_barrier(q);
	for (unsigned int i = 0; ret == 0 && i < count; i++)
		ret = write_job_data(q, &jobs[i], iov, iovcnt, &buf);
	free(buf);
	for (; ret == 0 && mapped < count; mapped++) {
		struct alloc_job *j = &jobs[mapped];

		if ((ret = qcow2_map_set(q, j->guest_off, j->target | QCOW2_OFLAG_COPIED)) < 0)
			break;
		old |= !j->reuse && holds_cluster(q, &j->m);
	}
	for (unsigned int i = mapped; i < allocated; i++)
		if (!jobs[i].reuse)
			qcow2_free_range(q, jobs[i].target, q->cluster_size);
	/* After an error, the old clusters of the entries replaced stay
	 * allocated: leaked, never freed in use. */
	if (ret == 0 && old && (ret = qcow2_barrier(q)) == 0)
		for (unsigned int i = 0; ret == 0 && i < mapped; i++)
			if (!jobs[i].reuse)
				ret = release_old(q, &jobs[i].m);
	return ret;
}

/* Write the request iov (total bytes, to guest offset off) from *done on:
 * the clusters that are ours alone in place, outside the lock, one at a
 * time; a run of others as one batch. zeroes: the bytes are zeroes, so a
 * cluster that already reads as zeroes is left alone. */
static int write_some(struct qcow2 *q, const struct iovec *iov, int iovcnt, uint64_t off,
		      size_t total, size_t *done, bool zeroes)
{
	struct alloc_job jobs[ALLOC_BATCH];
	unsigned int count = 0;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (ret == 0 && count < ALLOC_BATCH && *done < total) {
		uint64_t g = off + *done, n = q->cluster_size - (g & (q->cluster_size - 1));
		struct qcow2_mapping m;

		if (n > total - *done)
			n = total - *done;
		if ((ret = qcow2_map_get(q, g, &m)) < 0)
			break;
		if (m.kind == QCOW2_DATA && m.copied) {
			struct iovec sub[IOV_MAX];

			if (count)
				break; /* the batch first; this one next time */
			pthread_mutex_unlock(&q->lock);
			ret = disk_file_rw(q->fd, sub,
					   iov_slice(iov, (unsigned int)iovcnt, *done, n, sub, IOV_MAX),
					   m.host + (g & (q->cluster_size - 1)), DISK_IO_WRITE);
			*done += n;
			return ret;
		}
		if (!(zeroes && (m.kind == QCOW2_ZERO ||
				 (m.kind == QCOW2_UNALLOCATED && !q->backing))))
			jobs[count++] = (struct alloc_job){ .m = m, .guest_off = g, .n = n,
							    .at = *done };
		*done += n;
	}
	if (ret == 0 && count)
		ret = write_batch(q, jobs, count, iov, iovcnt);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static int qcow2_writev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct qcow2 *q = QCOW2(img);
	size_t total = iov_total(iov, (unsigned int)iovcnt), done = 0;
	int ret = 0;

	if (img->read_only)
		return -EROFS;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	pthread_rwlock_rdlock(&q->io);
	while (ret == 0 && done < total)
		ret = write_some(q, iov, iovcnt, off, total, &done, false);
	pthread_rwlock_unlock(&q->io);
	return ret;
}

/* Make the whole cluster at guest_off read as zeroes through its L2 entry
 * alone; 1 where the format cannot (v2 with a backing file, or asked to
 * keep the cluster): the caller writes zeroes. Under the lock. */
static int zero_cluster(struct qcow2 *q, uint64_t guest_off, bool may_unmap)
{
	struct qcow2_mapping m;
	uint64_t entry = 0;
	int ret = qcow2_map_get(q, guest_off, &m);

	if (ret < 0)
		return ret;
	if (q->version < 3) {
		if (!may_unmap || q->backing)
			return 1;
		if (m.kind == QCOW2_UNALLOCATED)
			return 0;
	} else if ((m.kind == QCOW2_UNALLOCATED && !q->backing) ||
		   (m.kind == QCOW2_ZERO && (!may_unmap || !m.host))) {
		return 0;
	} else if (!may_unmap && m.kind == QCOW2_DATA && m.copied) {
		/* Kept: a preallocated zero cluster. */
		return qcow2_map_set(q, guest_off, m.host | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO);
	} else {
		entry = QCOW2_OFLAG_ZERO;
	}
	if ((ret = qcow2_map_set(q, guest_off, entry)) < 0)
		return ret;
	if (!holds_cluster(q, &m))
		return 0;
	return (ret = qcow2_barrier(q)) < 0 ? ret : release_old(q, &m);
}

static int qcow2_write_zeroes(struct disk_image *img, uint64_t off, uint64_t len, bool may_unmap)
{
	struct qcow2 *q = QCOW2(img);
	uint8_t *zeroes;
	int ret = 0;

	if (img->read_only)
		return -EROFS;
	if (!(zeroes = calloc(1, q->cluster_size)))
		return -ENOMEM;
	pthread_rwlock_wrlock(&q->io);
	while (ret == 0 && len > 0) {
		uint64_t n = q->cluster_size - (off & (q->cluster_size - 1));
		struct iovec v = { zeroes, 0 };

		if (n > len)
			n = len;
		v.iov_len = n;
		ret = 1;
		if (n == q->cluster_size) {
			pthread_mutex_lock(&q->lock);
			ret = zero_cluster(q, off, may_unmap);
			pthread_mutex_unlock(&q->lock);
		}
		if (ret == 1) {
			size_t done = 0;

			ret = write_some(q, &v, 1, off, n, &done, true);
		}
		off += n;
		len -= n;
	}
	pthread_rwlock_unlock(&q->io);
	free(zeroes);
	return ret;
}

static int qcow2_discard(struct disk_image *img, uint64_t off, uint64_t len)
{
	return qcow2_write_zeroes(img, off, len, true);
}

static int qcow2_flush(struct disk_image *img)
{
	struct qcow2 *q = QCOW2(img);

	if (q->sync == DISK_SYNC_NONE || img->read_only)
		return 0;
	return fdatasync(q->fd) == 0 ? 0 : -errno;
}

const struct disk_image_ops qcow2_ops = {
	.readv = qcow2_readv,
	.writev = qcow2_writev,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.close = qcow2_close,
};
