/* Refcounts and cluster allocation. Every cluster of the file has a
 * refcount (refcount_order bits, in refcount blocks the refcount table
 * points at): the number of table entries that use it. We only ever set
 * one from 0 to 1 (a new cluster) or take one off (a reference dropped).
 *
 * Allocation takes the lowest free cluster at or past free_hint (freed
 * clusters are used again; a file that only grows would let a guest that
 * discards and rewrites make it as large as it likes), not one of the
 * fixed tables. A cluster whose refcount block is missing gets one made in
 * itself; past the refcount table's reach, the table grows (at most to
 * QEMU's 8 MiB). The caller puts a barrier between an allocation and the
 * table entry that makes the cluster reachable (one for many clusters, so
 * that a large write is not a sync per cluster). All of it under the
 * image's lock. */
#include "disk/qcow2.h"
#include "disk/file_io.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The refcount of entry i of block b, refcount_order bits wide (below a
 * byte, the lowest bits first, as QEMU packs them). */
static uint64_t entry_get(const struct qcow2 *q, const uint8_t *b, uint64_t i)
{
	unsigned int bits = 1u << q->refcount_order;

	switch (q->refcount_order) {
	case 4: return be16toh(((const uint16_t *)b)[i]);
	case 5: return be32toh(((const uint32_t *)b)[i]);
	case 6: return be64toh(((const uint64_t *)b)[i]);
	default: return (b[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	}
}

/* Set entry i; *at and *len get the bytes that changed. */
static void entry_set(const struct qcow2 *q, uint8_t *b, uint64_t i, uint64_t v, size_t *at,
		      size_t *len)
{
	unsigned int bits = 1u << q->refcount_order;

	switch (q->refcount_order) {
	case 4: ((uint16_t *)b)[i] = htobe16((uint16_t)v); break;
	case 5: ((uint32_t *)b)[i] = htobe32((uint32_t)v); break;
	case 6: ((uint64_t *)b)[i] = htobe64(v); break;
	default: {
		unsigned int shift = i * bits % 8, mask = ((1u << bits) - 1) << shift;

		b[i * bits / 8] = (uint8_t)((b[i * bits / 8] & ~mask) | ((v << shift) & mask));
		break;
	}
	}
	*at = i * bits / 8;
	*len = bits >= 8 ? bits / 8 : 1;
}

/* The block holding cluster's refcount: NULL with *err 0 when it has none
 * (the refcount is 0), or with *err < 0. */
static uint8_t *block_of(struct qcow2 *q, uint64_t cluster, uint64_t *block_off, int *err)
{
	uint64_t idx = cluster >> q->refblock_bits;

	*err = 0;
	if (idx >= q->reftable_entries || !(*block_off = q->reftable[idx]))
		return NULL;
	return qcow2_cache_get(q, &q->refblock_cache, *block_off, err);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *value)
{
	uint64_t off;
	int err;
	uint8_t *b = block_of(q, cluster, &off, &err);

	*value = b ? entry_get(q, b, cluster & ((1ull << q->refblock_bits) - 1)) : 0;
	return err;
}

static int refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value)
{
	uint64_t off;
	size_t at, len;
	int err;
	uint8_t *b = block_of(q, cluster, &off, &err);

	if (!b)
		return err ? err : -EIO;
	entry_set(q, b, cluster & ((1ull << q->refblock_bits) - 1), value, &at, &len);
	return qcow2_cache_write(q, &q->refblock_cache, off, at, len);
}

static void note_end(struct qcow2 *q, uint64_t clusters)
{
	if (q->end < clusters << q->cluster_bits)
		q->end = clusters << q->cluster_bits;
}

/* A block of zeroes with the refcounts of clusters [first, last] that fall
 * in block idx set to 1. */
static uint8_t *new_block(struct qcow2 *q, uint64_t idx, uint64_t first, uint64_t last)
{
	uint8_t *b = calloc(1, q->cluster_size);
	size_t at, len;

	for (uint64_t c = first; b && c <= last; c++)
		if (c >> q->refblock_bits == idx)
			entry_set(q, b, c & ((1ull << q->refblock_bits) - 1), 1, &at, &len);
	return b;
}

static int write_reftable_entry(struct qcow2 *q, uint64_t idx)
{
	uint64_t be = htobe64(q->reftable[idx]);

	return disk_file_pwrite(q->fd, &be, sizeof(be), q->reftable_offset + idx * 8);
}

/* Cluster c has no refcount block: make one in c itself (its first
 * refcount its own), synced before the table points at it. */
static int add_block(struct qcow2 *q, uint64_t c)
{
	uint64_t idx = c >> q->refblock_bits;
	uint8_t *b = new_block(q, idx, c, c);
	int ret;

	if (!b)
		return -ENOMEM;
	ret = qcow2_cache_put_new(q, &q->refblock_cache, c << q->cluster_bits, b);
	free(b);
	if (ret < 0 || (ret = qcow2_barrier(q)) < 0)
		return ret;
	q->reftable[idx] = c << q->cluster_bits;
	if ((ret = write_reftable_entry(q, idx)) < 0) {
		q->reftable[idx] = 0;
		return ret;
	}
	note_end(q, c + 1);
	return qcow2_barrier(q);
}

/* Cluster c lies past the refcount table's reach: a larger table at c (or
 * at the file's end, if that is further: nothing is there), followed by the blocks its own clusters and theirs need; written and
 * synced, then the header points at it (one 12-byte write), synced, then
 * the old table's clusters are freed (a crash before leaks them). */
static int grow_reftable(struct qcow2 *q, uint64_t c)
{
	uint64_t cs = q->cluster_size, old_off = q->reftable_offset;
	uint64_t old_clusters = q->reftable_entries * 8 / cs;
	uint64_t k = old_clusters * 2, m = 1, entries, first, *table = NULL;
	uint8_t *buf = NULL, hdr[12];
	int ret = -ENOMEM;

	if (c < q->end >> q->cluster_bits)
		c = q->end >> q->cluster_bits;
	first = c >> q->refblock_bits;

	for (;;) {
		uint64_t last = (c + k + m - 1) >> q->refblock_bits;
		uint64_t need_m = last - first + 1, need_k = ((last + 1) * 8 + cs - 1) / cs;

		if (need_m <= m && need_k <= k)
			break;
		m = need_m > m ? need_m : m;
		k = need_k > k ? need_k : k;
	}
	entries = k * cs / 8;
	if (k * cs > QCOW2_MAX_REFTABLE_BYTES || (c + k + m) << q->cluster_bits > QCOW2_MAX_OFFSET) {
		LOG_RATELIMITED(LOG_ERROR, "disk %s: the qcow2 refcount table is full", q->path);
		return -ENOSPC;
	}
	if (!(table = calloc(entries, sizeof(*table))) || !(buf = malloc(k * cs)))
		goto out;
	memcpy(table, q->reftable, q->reftable_entries * 8);
	for (uint64_t r = 0; r < m; r++) {
		uint8_t *b = new_block(q, first + r, c, c + k + m - 1);

		if (!b)
			goto out;
		table[first + r] = (c + k + r) << q->cluster_bits;
		ret = qcow2_cache_put_new(q, &q->refblock_cache, table[first + r], b);
		free(b);
		if (ret < 0)
			goto out;
	}
	for (uint64_t i = 0; i < entries; i++)
		((uint64_t *)buf)[i] = htobe64(table[i]);
	if ((ret = disk_file_pwrite(q->fd, buf, k * cs, c << q->cluster_bits)) < 0 ||
	    (ret = qcow2_barrier(q)) < 0)
		goto out;
	*(uint64_t *)hdr = htobe64(c << q->cluster_bits);
	*(uint32_t *)(hdr + 8) = htobe32((uint32_t)k);
	if ((ret = disk_file_pwrite(q->fd, hdr, sizeof(hdr), 48)) < 0 || (ret = qcow2_barrier(q)) < 0)
		goto out;
	free(q->reftable);
	q->reftable = table;
	table = NULL;
	q->reftable_entries = entries;
	q->reftable_offset = c << q->cluster_bits;
	note_end(q, c + k + m);
	ret = qcow2_free_range(q, old_off, old_clusters * cs);
out:
	free(table);
	free(buf);
	return ret;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *offset)
{
	uint64_t limit = QCOW2_MAX_OFFSET >> q->cluster_bits, value;
	int ret;

	for (uint64_t c = q->free_hint; c < limit; c++) {
		if (c >> q->refblock_bits >= q->reftable_entries) {
			if ((ret = grow_reftable(q, c)) < 0)
				return ret;
			continue; /* c now holds the table: on to the next */
		}
		if (qcow2_hits_fixed_metadata(q, c << q->cluster_bits, q->cluster_size))
			continue;
		if (!q->reftable[c >> q->refblock_bits]) {
			if ((ret = add_block(q, c)) < 0)
				return ret;
			continue;
		}
		if ((ret = qcow2_refcount_get(q, c, &value)) < 0)
			return ret;
		if (value)
			continue;
		if ((ret = refcount_set(q, c, 1)) < 0)
			return ret;
		q->free_hint = c + 1;
		note_end(q, c + 1);
		*offset = c << q->cluster_bits;
		return 0;
	}
	return -ENOSPC;
}

int qcow2_free_range(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits, value;
	int ret;

	for (uint64_t c = first; len && c <= last; c++) {
		/* (A compressed entry's range may name any cluster.) */
		if (qcow2_hits_fixed_metadata(q, c << q->cluster_bits, q->cluster_size)) {
			LOG_RATELIMITED(LOG_ERROR, "disk %s: qcow2 cluster %llu is a table, not data",
					q->path, (unsigned long long)c);
			return -EIO;
		}
		if ((ret = qcow2_refcount_get(q, c, &value)) < 0)
			return ret;
		if (!value) {
			LOG_RATELIMITED(LOG_ERROR,
					"disk %s: qcow2 cluster %llu is freed with no references",
					q->path, (unsigned long long)c);
			return -EIO;
		}
		if ((ret = refcount_set(q, c, value - 1)) < 0)
			return ret;
		if (value > 1)
			continue;
		/* Unused now: give the host its blocks back (where the file
		 * system cannot, the cluster just stays as it was). */
		fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)(c << q->cluster_bits), (off_t)q->cluster_size);
		qcow2_cache_drop(&q->l2_cache, c << q->cluster_bits);
		if (c < q->free_hint)
			q->free_hint = c;
	}
	return 0;
}
