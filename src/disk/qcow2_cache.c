/* The caches of metadata clusters (L2 tables, refcount blocks): a fixed
 * number of slots of one cluster each, least recently used evicted. Read
 * through and written through, so a slot is never dirty and eviction never
 * writes: every update reaches the file in the order its caller makes it,
 * which is what crash safety rests on (qcow2.h). Under the image's lock. */
#include "disk/qcow2.h"
#include "disk/file_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qcow2_cache_init(struct qcow2_cache *c, unsigned int slots, uint64_t cluster_size)
{
	c->slots = slots;
	c->clock = 0;
	c->offset = calloc(slots, sizeof(*c->offset));
	c->used = calloc(slots, sizeof(*c->used));
	c->data = calloc(slots, cluster_size);
	return c->offset && c->used && c->data ? 0 : -ENOMEM;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	free(c->offset);
	free(c->used);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

static uint8_t *slot_data(const struct qcow2 *q, const struct qcow2_cache *c, unsigned int i)
{
	return c->data + (size_t)i * q->cluster_size;
}

static int find(const struct qcow2_cache *c, uint64_t off)
{
	for (unsigned int i = 0; i < c->slots; i++)
		if (c->offset[i] == off)
			return (int)i;
	return -1;
}

/* The slot to fill: an empty one, else the least recently used. */
static unsigned int victim(const struct qcow2_cache *c)
{
	unsigned int best = 0;

	for (unsigned int i = 0; i < c->slots; i++) {
		if (!c->offset[i])
			return i;
		if (c->used[i] < c->used[best])
			best = i;
	}
	return best;
}

/* A slot whose write failed no longer holds what the file holds: empty it,
 * so that the next lookup reads the file again. */
static int forget_on_error(struct qcow2_cache *c, unsigned int i, int ret)
{
	if (ret < 0)
		c->offset[i] = 0;
	return ret;
}

uint8_t *qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, int *err)
{
	int i = find(c, off);

	if (i < 0) {
		unsigned int v = victim(c);

		c->offset[v] = 0;
		/* A table past the file's end is corrupt metadata, not zeroes. */
		if ((*err = disk_file_pread(q->fd, slot_data(q, c, v), q->cluster_size, off)) < 0)
			return NULL;
		c->offset[v] = off;
		i = (int)v;
	}
	c->used[i] = ++c->clock;
	return slot_data(q, c, (unsigned int)i);
}

int qcow2_cache_put_new(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, const void *data)
{
	int i = find(c, off);
	unsigned int v = i < 0 ? victim(c) : (unsigned int)i;

	memcpy(slot_data(q, c, v), data, q->cluster_size);
	c->offset[v] = off;
	c->used[v] = ++c->clock;
	return forget_on_error(c, v, disk_file_pwrite(q->fd, data, q->cluster_size, off));
}

int qcow2_cache_write(struct qcow2 *q, struct qcow2_cache *c, uint64_t off, size_t at,
		      size_t len)
{
	int i = find(c, off);

	if (i < 0)
		return -EIO;
	return forget_on_error(c, (unsigned int)i,
			       disk_file_pwrite(q->fd, slot_data(q, c, (unsigned int)i) + at, len, off + at));
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	int i = find(c, off);

	if (i >= 0)
		c->offset[i] = 0;
}
