/* The guest-to-host map: a guest offset's L1 entry names an L2 table, whose
 * entry says what the guest cluster is (unallocated, zeroes, data at a host
 * offset, or compressed data). Every entry is checked before it is used:
 * reserved bits clear, offsets aligned and off the header and fixed tables;
 * a bad one is an I/O error for that request, logged (rate-limited), never
 * a crash or an access outside the file's metadata rules. Under the
 * image's lock. */
#include "disk/qcow2.h"
#include "disk/file_io.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Bits an L1 entry may have set: the offset and COPIED. */
#define L1_VALID (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COPIED)
/* ... and a standard L2 entry: the offset, COPIED and (v3) ZERO. */
#define L2_VALID (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COPIED | QCOW2_OFLAG_ZERO)

static int corrupt(struct qcow2 *q, const char *what, uint64_t guest_off, uint64_t entry)
{
	LOG_RATELIMITED(LOG_ERROR, "disk %s: bad qcow2 %s entry 0x%llx for guest offset %llu",
			q->path, what, (unsigned long long)entry, (unsigned long long)guest_off);
	return -EIO;
}

static uint64_t l1_index(const struct qcow2 *q, uint64_t guest_off)
{
	return guest_off >> (q->cluster_bits + q->l2_bits);
}

static uint64_t l2_index(const struct qcow2 *q, uint64_t guest_off)
{
	return (guest_off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
}

/* The L2 table for guest_off: its offset (0: none) and, when it has one,
 * its cached contents. */
static int l2_table(struct qcow2 *q, uint64_t guest_off, uint64_t *table_off, uint64_t **table)
{
	uint64_t e = q->l1[l1_index(q, guest_off)];
	int err;

	*table_off = e & QCOW2_OFFSET_MASK;
	*table = NULL;
	if (e & ~L1_VALID)
		return corrupt(q, "L1", guest_off, e);
	if (!*table_off)
		return 0;
	if (qcow2_hits_fixed_metadata(q, *table_off, q->cluster_size))
		return corrupt(q, "L1", guest_off, e);
	*table = (uint64_t *)qcow2_cache_get(q, &q->l2_cache, *table_off, &err);
	return *table ? 0 : corrupt(q, "L1 (unreadable table)", guest_off, e);
}

static int parse_compressed(struct qcow2 *q, uint64_t guest_off, uint64_t e,
			    struct qcow2_mapping *m)
{
	unsigned int shift = 62 - (q->cluster_bits - 8);
	uint64_t sectors = ((e >> shift) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;

	m->kind = QCOW2_COMPRESSED;
	m->host = e & ((1ull << shift) - 1);
	/* The compressed bytes run from host to the end of its last sector. */
	m->compressed_len = sectors * 512 - (m->host & 511);
	if ((e & QCOW2_OFLAG_COPIED) || m->host < q->cluster_size ||
	    m->host + m->compressed_len > QCOW2_MAX_OFFSET)
		return corrupt(q, "compressed L2", guest_off, e);
	return 0;
}

int qcow2_map_get(struct qcow2 *q, uint64_t guest_off, struct qcow2_mapping *m)
{
	uint64_t table_off, *table, e;
	int ret = l2_table(q, guest_off, &table_off, &table);

	memset(m, 0, sizeof(*m));
	m->kind = QCOW2_UNALLOCATED;
	if (ret < 0 || !table)
		return ret;
	e = m->entry = be64toh(table[l2_index(q, guest_off)]);
	if (e & QCOW2_OFLAG_COMPRESSED)
		return parse_compressed(q, guest_off, e, m);
	if ((e & ~L2_VALID) || ((e & QCOW2_OFLAG_ZERO) && q->version < 3))
		return corrupt(q, "L2", guest_off, e);
	m->host = e & QCOW2_OFFSET_MASK;
	m->copied = e & QCOW2_OFLAG_COPIED;
	if (m->host && qcow2_hits_fixed_metadata(q, m->host, q->cluster_size))
		return corrupt(q, "L2", guest_off, e);
	if (e & QCOW2_OFLAG_ZERO)
		m->kind = QCOW2_ZERO;
	else if (m->host)
		m->kind = QCOW2_DATA;
	return 0;
}

/* Guest offset guest_off has no L2 table: a new one, all unallocated, its
 * refcount and contents synced before the L1 entry points at it. */
static int add_l2_table(struct qcow2 *q, uint64_t guest_off, uint64_t *table_off)
{
	uint64_t idx = l1_index(q, guest_off), be;
	void *zeroes = calloc(1, q->cluster_size);
	int ret;

	if (!zeroes)
		return -ENOMEM;
	if ((ret = qcow2_alloc_cluster(q, table_off)) == 0)
		ret = qcow2_cache_put_new(q, &q->l2_cache, *table_off, zeroes);
	free(zeroes);
	if (ret < 0 || (ret = qcow2_barrier(q)) < 0)
		return ret;
	be = htobe64(*table_off | QCOW2_OFLAG_COPIED);
	if ((ret = disk_file_pwrite(q->fd, &be, sizeof(be), q->l1_offset + idx * 8)) < 0)
		return ret;
	q->l1[idx] = *table_off | QCOW2_OFLAG_COPIED;
	return 0;
}

int qcow2_map_set(struct qcow2 *q, uint64_t guest_off, uint64_t entry)
{
	uint64_t table_off, *table, idx = l2_index(q, guest_off);
	int ret = l2_table(q, guest_off, &table_off, &table);

	if (ret < 0)
		return ret;
	/* A table without COPIED is shared with a snapshot: never written
	 * (images with snapshots open read-only). */
	if (table && !(q->l1[l1_index(q, guest_off)] & QCOW2_OFLAG_COPIED))
		return corrupt(q, "L1 (shared table)", guest_off, q->l1[l1_index(q, guest_off)]);
	if (!table) {
		int err;

		if ((ret = add_l2_table(q, guest_off, &table_off)) < 0)
			return ret;
		if (!(table = (uint64_t *)qcow2_cache_get(q, &q->l2_cache, table_off, &err)))
			return err;
	}
	table[idx] = htobe64(entry);
	return qcow2_cache_write(q, &q->l2_cache, table_off, idx * 8, 8);
}
