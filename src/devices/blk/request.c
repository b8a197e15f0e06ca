/* One virtio-blk request, on a worker: its header read, every number in it
 * checked against the disk, the image called, the status byte written.
 *
 * A chain is the header (16 readable bytes: type, ioprio, sector), the
 * data (readable for a write, writable for a read), and the status byte,
 * the last writable byte. The guest is hostile: a sector and length past
 * the capacity, or adding up past 2^64, a length that is no whole number of
 * sectors, too many buffers, a write to a read-only disk are answered
 * IOERR; a chain without its header or status byte cannot be answered and
 * is given back with nothing written, counted. */
#include "devices/blk/virtio_blk.h"

#include <endian.h>
#include <string.h>

#include "base/iov.h"
#include "base/log.h"

struct request {
	struct virtio_blk *blk;
	const struct virtq_chain *chain;
	struct iovec *iov; /* room for the chain's buffers */
	uint32_t type;
	uint64_t sector;
	size_t out_len; /* readable bytes after the header */
	size_t in_len;	/* writable bytes before the status byte */
};

static bool negotiated(const struct virtio_blk *blk, unsigned int bit)
{
	return virtio_has_feature(&blk->vdev, bit);
}

/* Whether sectors [sector, sector + count) lie on the disk. */
static bool in_range(const struct virtio_blk *blk, uint64_t sector, uint64_t count)
{
	return sector <= blk->capacity && count <= blk->capacity - sector;
}

/* The readable data after the header (a write's, the ranges of a discard),
 * into r->iov: how many buffers. */
static unsigned int out_data(struct request *r)
{
	return (unsigned int)iov_slice(r->chain->bufs, r->chain->nr_readable,
				       sizeof(struct virtio_blk_outhdr), SIZE_MAX, r->iov,
				       r->chain->nr_readable);
}

/* The writable data before the status byte (a read's), into r->iov. */
static unsigned int in_data(struct request *r)
{
	const struct virtq_chain *c = r->chain;

	return (unsigned int)iov_slice(c->bufs + c->nr_readable, c->nr_bufs - c->nr_readable, 0,
				       r->in_len, r->iov, c->nr_bufs);
}

static uint8_t read_write(struct request *r, bool write)
{
	struct virtio_blk *blk = r->blk;
	size_t len = write ? r->out_len : r->in_len;
	unsigned int nr;
	int ret;

	if (write && blk->img->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (len % VIRTIO_BLK_SECTOR || len > (size_t)VIRTIO_BLK_SEG_MAX * VIRTIO_BLK_SIZE_MAX ||
	    !in_range(blk, r->sector, len / VIRTIO_BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	nr = write ? out_data(r) : in_data(r);
	if (nr > VIRTIO_BLK_SEG_MAX)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	ret = write ? blk->img->ops->writev(blk->img, r->iov, (int)nr,
					    r->sector * VIRTIO_BLK_SECTOR)
		    : blk->img->ops->readv(blk->img, r->iov, (int)nr, r->sector * VIRTIO_BLK_SECTOR);
	if (ret < 0) {
		LOG_RATELIMITED(LOG_WARN, "virtio-blk %.20s: %s of %zu bytes at sector %llu: %s",
				blk->serial, write ? "a write" : "a read", len,
				(unsigned long long)r->sector, strerror(-ret));
		return VIRTIO_BLK_S_IOERR;
	}
	if (write)
		blk->counters.bytes_written += len;
	else
		blk->counters.bytes_read += len;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: up to VIRTIO_BLK_MAX_RANGES ranges, all checked
 * before any is done. */
static uint8_t ranges(struct request *r, bool zeroes)
{
	struct virtio_blk_discard_write_zeroes seg[VIRTIO_BLK_MAX_RANGES];
	struct virtio_blk *blk = r->blk;
	unsigned int n, nr = out_data(r);
	uint32_t known = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;

	if (!negotiated(blk, zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
		return VIRTIO_BLK_S_UNSUPP;
	if (blk->img->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (r->out_len == 0 || r->out_len % sizeof(seg[0]) || r->out_len > sizeof(seg))
		return VIRTIO_BLK_S_IOERR;
	n = (unsigned int)(r->out_len / sizeof(seg[0]));
	iov_gather(seg, r->out_len, r->iov, nr);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t sector = le64toh(seg[i].sector);
		uint32_t count = le32toh(seg[i].num_sectors), flags = le32toh(seg[i].flags);

		/* The spec's rule: an unknown flag, or UNMAP on a discard, is
		 * UNSUPP. */
		if (flags & ~known)
			return VIRTIO_BLK_S_UNSUPP;
		if (count > VIRTIO_BLK_MAX_RANGE_SECTORS || !in_range(blk, sector, count))
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t off = le64toh(seg[i].sector) * VIRTIO_BLK_SECTOR;
		uint64_t len = (uint64_t)le32toh(seg[i].num_sectors) * VIRTIO_BLK_SECTOR;
		bool unmap = le32toh(seg[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		int ret = 0;

		if (len == 0)
			continue;
		if (zeroes)
			ret = blk->img->ops->write_zeroes(blk->img, off, len, unmap);
		else if (blk->img->ops->discard)
			ret = blk->img->ops->discard(blk->img, off, len);
		if (ret < 0) {
			LOG_RATELIMITED(LOG_WARN, "virtio-blk %.20s: %s of %llu bytes at %llu: %s",
					blk->serial, zeroes ? "zeroing" : "a discard",
					(unsigned long long)len, (unsigned long long)off,
					strerror(-ret));
			/* A discard is a hint: the data may stay. */
			if (zeroes || ret != -EOPNOTSUPP)
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* GET_ID: the serial, NUL-padded to its 20 bytes, or what fits. */
static uint8_t get_id(struct request *r, uint32_t *data_written)
{
	unsigned int nr = in_data(r);

	*data_written = (uint32_t)iov_scatter(r->iov, nr, r->blk->serial, sizeof(r->blk->serial));
	return VIRTIO_BLK_S_OK;
}

static uint8_t serve(struct request *r, uint32_t *data_written)
{
	struct virtio_blk_counters *c = &r->blk->counters;
	uint8_t status;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		c->reads++;
		if ((status = read_write(r, false)) == VIRTIO_BLK_S_OK)
			*data_written = (uint32_t)r->in_len;
		return status;
	case VIRTIO_BLK_T_OUT:
		c->writes++;
		return read_write(r, true);
	case VIRTIO_BLK_T_FLUSH:
		c->flushes++;
		return r->blk->img->ops->flush(r->blk->img) < 0 ? VIRTIO_BLK_S_IOERR
								 : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		c->get_ids++;
		return get_id(r, data_written);
	case VIRTIO_BLK_T_DISCARD:
		c->discards++;
		return ranges(r, false);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		c->write_zeroes++;
		return ranges(r, true);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

uint32_t virtio_blk_serve(struct virtio_blk *blk, const struct virtq_chain *chain,
			  struct iovec *iov)
{
	struct request r = { .blk = blk, .chain = chain, .iov = iov };
	struct virtio_blk_outhdr hdr;
	const struct iovec *last;
	uint32_t data_written = 0;
	uint8_t status;

	blk->counters.requests++;
	if (chain->readable_bytes < sizeof(hdr) || chain->writable_bytes == 0) {
		blk->counters.malformed++;
		LOG_RATELIMITED(LOG_WARN, "virtio-blk %.20s: a request without its header or "
				"status byte (%llu bytes to read, %llu to write): given back "
				"unanswered", blk->serial,
				(unsigned long long)chain->readable_bytes,
				(unsigned long long)chain->writable_bytes);
		return 0;
	}
	virtq_chain_gather(chain, &hdr, sizeof(hdr));
	r.type = le32toh(hdr.type);
	r.sector = le64toh(hdr.sector);
	r.out_len = chain->readable_bytes - sizeof(hdr);
	r.in_len = chain->writable_bytes - 1;
	status = serve(&r, &data_written);
	if (status == VIRTIO_BLK_S_IOERR)
		blk->counters.io_errors++;
	else if (status == VIRTIO_BLK_S_UNSUPP)
		blk->counters.unsupported++;
	last = &chain->bufs[chain->nr_bufs - 1];
	((uint8_t *)last->iov_base)[last->iov_len - 1] = status;
	return data_written + 1;
}
