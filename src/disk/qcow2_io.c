/* The guest's reads, writes, zeroes and discards on a qcow2 image, a
 * cluster at a time: the mapping looked up under the lock, then
 *  - reads: data read outside the lock (io held shared), unallocated
 *    clusters from the backing file (zeroes past its end) or as zeroes,
 *    compressed ones inflated (raw deflate) from a buffer of at most two
 *    clusters plus one of output, per request;
 *  - writes: in place, outside the lock, where the cluster is ours alone
 *    (COPIED); anything else is an allocating write, all under the lock: a
 *    new cluster (its refcount synced first), what the guest does not
 *    overwrite copied in from what it read before (backing file,
 *    compressed cluster, a shared cluster), the data, then the L2 entry,
 *    then (after a barrier) the old cluster's reference dropped;
 *  - zeroes and discards (io held exclusive, as they free clusters that
 *    in-place writes could be writing): v3 sets the zero flag (and frees the
 *    cluster unless told to keep it, then as a preallocated zero cluster);
 *    v2 unallocates where there is no backing file, else writes zeroes.
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

/* The part [skip, skip + len) of iov, as at most IOV_MAX entries in out:
 * how many. */
static int iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
		     struct iovec *out)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		out[n++] = (struct iovec){ (char *)iov[i].iov_base + skip, l };
		len -= l;
		skip = 0;
	}
	return n;
}

static void iov_zero(const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		memset(iov[i].iov_base, 0, iov[i].iov_len);
}

/* Data at host, whole: a read past the file's end reads zeroes (a cluster
 * the file system never got), a short write is an error. */
static int data_rw(struct qcow2 *q, struct iovec *iov, int iovcnt, uint64_t host, bool write)
{
	while (iovcnt > 0) {
		ssize_t n = write ? pwritev(q->fd, iov, iovcnt, (off_t)host)
				  : preadv(q->fd, iov, iovcnt, (off_t)host);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -EIO;
			iov_zero(iov, iovcnt);
			return 0;
		}
		host += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
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
	if ((ret = data_rw(q, &v, 1, m->host, false)) < 0)
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
	int ret;

	if (!q->backing || guest_off >= q->backing->size) {
		iov_zero(iov, iovcnt);
		return 0;
	}
	have = q->backing->size - guest_off < len ? q->backing->size - guest_off : len;
	ret = q->backing->ops->readv(q->backing, part, iov_slice(iov, iovcnt, 0, have, part),
				     guest_off);
	iov_zero(part, iov_slice(iov, iovcnt, have, len - have, part));
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
		return data_rw(q, iov, iovcnt, m->host + in_cluster, false);
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

		if (n > total - done)
			n = total - done;
		pthread_mutex_lock(&q->lock);
		ret = qcow2_map_get(q, g, &m);
		pthread_mutex_unlock(&q->lock);
		if (ret == 0)
			ret = read_mapped(q, &m, sub, iov_slice(iov, iovcnt, done, n, sub), g, n);
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

/* Drop the reference the replaced entry m held, once the new entry is in
 * the file (the barrier between: a crash leaks, never frees in use). */
static int drop_old(struct qcow2 *q, const struct qcow2_mapping *m)
{
	uint64_t off, len;
	int ret;

	held_range(q, m, &off, &len);
	if (!len)
		return 0;
	if ((ret = qcow2_barrier(q)) < 0)
		return ret;
	return qcow2_free_range(q, off, len);
}

/* An allocating write of the n bytes of sub to guest_off (one cluster at
 * most), under the lock: see the top of the file. */
static int write_allocating(struct qcow2 *q, const struct qcow2_mapping *m, struct iovec *sub,
			    int subcnt, uint64_t guest_off, uint64_t n)
{
	uint64_t cluster_off = guest_off & ~(q->cluster_size - 1), target;
	/* A preallocated zero cluster that is ours alone is written in place. */
	bool reuse = m->kind == QCOW2_ZERO && m->host && m->copied;
	struct iovec whole = { 0 };
	uint8_t *buf = NULL;
	int ret;

	if (reuse)
		target = m->host;
	else if ((ret = qcow2_alloc_cluster(q, &target)) < 0)
		return ret;
	if (n == q->cluster_size) {
		ret = data_rw(q, sub, subcnt, target, true);
	} else if (!(buf = malloc(q->cluster_size))) {
		ret = -ENOMEM;
	} else {
		whole = (struct iovec){ buf, q->cluster_size };
		if ((ret = read_mapped(q, m, &whole, 1, cluster_off, q->cluster_size)) == 0) {
			iov_gather(buf + (guest_off - cluster_off), n, sub, (unsigned int)subcnt);
			whole = (struct iovec){ buf, q->cluster_size };
			ret = data_rw(q, &whole, 1, target, true);
		}
		free(buf);
	}
	if (ret == 0)
		ret = qcow2_map_set(q, guest_off, target | QCOW2_OFLAG_COPIED);
	if (ret < 0) {
		/* Nothing points at the new cluster: give it back. */
		if (!reuse)
			qcow2_free_range(q, target, q->cluster_size);
		return ret;
	}
	return reuse ? 0 : drop_old(q, m);
}

/* Write n bytes to guest_off, one cluster at most. zeroes: the bytes are
 * zeroes, so a cluster that already reads as zeroes is left alone. */
static int write_chunk(struct qcow2 *q, struct iovec *sub, int subcnt, uint64_t guest_off,
		       uint64_t n, bool zeroes)
{
	struct qcow2_mapping m;
	int ret;

	pthread_mutex_lock(&q->lock);
	ret = qcow2_map_get(q, guest_off, &m);
	if (ret == 0 && m.kind == QCOW2_DATA && m.copied) {
		pthread_mutex_unlock(&q->lock);
		return data_rw(q, sub, subcnt, m.host + (guest_off & (q->cluster_size - 1)), true);
	}
	if (ret == 0 && !(zeroes && (m.kind == QCOW2_ZERO ||
				     (m.kind == QCOW2_UNALLOCATED && !q->backing))))
		ret = write_allocating(q, &m, sub, subcnt, guest_off, n);
	pthread_mutex_unlock(&q->lock);
	return ret;
}

static int qcow2_writev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct qcow2 *q = QCOW2(img);
	size_t total = iov_total(iov, (unsigned int)iovcnt), done = 0;
	struct iovec sub[IOV_MAX];
	int ret = 0;

	if (img->read_only)
		return -EROFS;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	pthread_rwlock_rdlock(&q->io);
	while (ret == 0 && done < total) {
		uint64_t g = off + done, n = q->cluster_size - (g & (q->cluster_size - 1));

		if (n > total - done)
			n = total - done;
		ret = write_chunk(q, sub, iov_slice(iov, iovcnt, done, n, sub), g, n, false);
		done += n;
	}
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
	return drop_old(q, &m);
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
		if (ret == 1)
			ret = write_chunk(q, &v, 1, off, n, true);
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
