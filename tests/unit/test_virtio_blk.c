/* virtio-blk through the MMIO transport on a real raw image, with the test
 * as the guest's driver: reads and writes round trip to the file, FLUSH,
 * GET_ID, DISCARD punching a hole (the file's blocks shrink),
 * WRITE_ZEROES, a read-only disk refusing what would change it, requests
 * in flight together, and every hostile request: past the end, overflowing,
 * not whole sectors, too many buffers, bad ranges and flags, chains with no
 * header or status byte or with their buffers the wrong way. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "base/log.h"
#include "check.h"
#include "virtq_driver.h"
#include "devices/blk/virtio_blk.h"
#include "disk/image.h"
#include "virtio/mmio.h"

#define MEM_SIZE (16u << 20)
#define QUEUE_SIZE 256
#define RINGS_GPA 0x1000
#define BUFS_GPA 0x10000
#define SLOT_BASE 0xd0000000ull
#define DISK_SECTORS 4096u /* 2 MiB */
#define SERIAL "disk-serial"

static struct guest_memory gm;
static char image_path[64];

struct bench {
	struct virtio_blk blk;
	struct virtio_mmio t;
	struct virtq_driver driver;
	unsigned int irqs;
	uint16_t used; /* chains given back so far */
};

static void count_irq(void *opaque)
{
	((struct bench *)opaque)->irqs++;
}

static uint64_t device_features(struct bench *b)
{
	wr(&b->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = rd(&b->t, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(&b->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(&b->t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* The image opened as opts say, the device and transport on it, and the
 * driver started with every feature the device offers. */
static void bench_init(struct bench *b, bool read_only)
{
	const struct virtio_mmio_config cfg = {
		.base = SLOT_BASE, .irq = 5, .raise_irq = count_irq, .irq_opaque = b,
	};
	struct disk_open_opts opts = { .read_only = read_only, .sync = DISK_SYNC_FULL };
	struct disk_image *img;

	*b = (struct bench){ 0 };
	b->driver = (struct virtq_driver){
		.t = &b->t, .gm = &gm, .queue_size = QUEUE_SIZE, .rings_gpa = RINGS_GPA,
		.bufs_gpa = BUFS_GPA, .bufs_end = MEM_SIZE,
	};
	CHECK_EQ_INT(disk_image_open(image_path, DISK_FORMAT_RAW, &opts, &img), 0);
	CHECK_EQ_INT(virtio_blk_init(&b->blk, img, SERIAL), 0);
	CHECK_EQ_INT(virtio_mmio_init(&b->t, &b->blk.vdev, &gm, &cfg), 0);
	vqd_start(&b->driver, device_features(b), 1);
}

static void bench_destroy(struct bench *b)
{
	virtio_mmio_destroy(&b->t);
	virtio_blk_destroy(&b->blk);
}

/* Wait for the device to give back count more chains (its workers run on
 * their own): the used ring's index. */
static void wait_used(struct bench *b, unsigned int count)
{
	struct timespec nap = { 0, 1000000 };

	b->used += count;
	for (int i = 0; i < 5000 && (uint16_t)(vqd_used_idx(&b->driver, 0) - b->used) > 0x8000;
	     i++)
		nanosleep(&nap, NULL);
	CHECK_EQ_INT(vqd_used_idx(&b->driver, 0), b->used);
}

struct req {
	uint32_t type;
	uint64_t sector;
	const void *out; /* data after the header, or NULL */
	uint32_t out_len;
	uint32_t in_len; /* room for data before the status byte */
	/* filled in */
	uint8_t status;
	uint32_t used_len;
	uint64_t in_gpa;
};

/* Make r's chain available (header, data out, data in, status), not kicked. */
static void add_req(struct bench *b, struct req *r, struct vqd_seg *segs)
{
	struct virtio_blk_outhdr hdr = { .type = htole32(r->type), .sector = htole64(r->sector) };
	unsigned int n = 0;

	segs[n++] = (struct vqd_seg){ .data = memcpy(malloc(sizeof(hdr)), &hdr, sizeof(hdr)),
				      .len = sizeof(hdr) };
	if (r->out_len)
		segs[n++] = (struct vqd_seg){ .data = r->out, .len = r->out_len };
	if (r->in_len)
		segs[n++] = (struct vqd_seg){ .len = r->in_len };
	segs[n++] = (struct vqd_seg){ .len = 1 };
	vqd_add_chain(&b->driver, 0, segs, n);
	free((void *)segs[0].data);
	r->in_gpa = r->in_len ? segs[n - 2].gpa : 0;
}

static void finish_req(struct bench *b, struct req *r, const struct vqd_seg *status_seg,
		       uint16_t idx)
{
	r->status = *(uint8_t *)gm_ptr(&gm, status_seg->gpa, 1);
	r->used_len = vqd_used_len(&b->driver, 0, idx);
}

/* One request, waited for: its status. */
static uint8_t request(struct bench *b, struct req *r)
{
	struct vqd_seg segs[4];

	add_req(b, r, segs);
	vqd_kick(&b->driver, 0);
	wait_used(b, 1);
	finish_req(b, r, &segs[1 + !!r->out_len + !!r->in_len], b->used);
	return r->status;
}

static uint8_t simple(struct bench *b, uint32_t type, uint64_t sector, const void *out,
		      uint32_t out_len, uint32_t in_len)
{
	struct req r = { .type = type, .sector = sector, .out = out, .out_len = out_len,
			 .in_len = in_len };
	return request(b, &r);
}

static uint8_t ranges(struct bench *b, uint32_t type, const struct virtio_blk_discard_write_zeroes *seg,
		      unsigned int n)
{
	return simple(b, type, 0, seg, n * sizeof(*seg), 0);
}

static struct virtio_blk_discard_write_zeroes range(uint64_t sector, uint32_t count,
						    uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){
		.sector = htole64(sector), .num_sectors = htole32(count), .flags = htole32(flags),
	};
}

static void host_read(void *buf, size_t len, off_t off)
{
	int fd = open(image_path, O_RDONLY);

	CHECK_EQ_INT(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static long long host_blocks(void)
{
	struct stat st;

	CHECK_EQ_INT(stat(image_path, &st), 0);
	return (long long)st.st_blocks;
}

static void test_config(void)
{
	struct bench b;
	struct virtio_blk_config c;
	uint64_t f;

	bench_init(&b, false);
	f = device_features(&b);
	CHECK(!(f & 1ull << VIRTIO_BLK_F_RO));
	CHECK(f & 1ull << VIRTIO_BLK_F_FLUSH && f & 1ull << VIRTIO_BLK_F_DISCARD &&
	      f & 1ull << VIRTIO_BLK_F_WRITE_ZEROES && f & 1ull << VIRTIO_BLK_F_SEG_MAX);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	for (unsigned int i = 0; i < sizeof(c); i += 4) {
		uint32_t v = rd(&b.t, VIRTIO_MMIO_CONFIG + i);
		memcpy((uint8_t *)&c + i, &v, sizeof(c) - i < 4 ? sizeof(c) - i : 4);
	}
	CHECK_EQ_INT(le64toh(c.capacity), DISK_SECTORS);
	CHECK_EQ_INT(le32toh(c.seg_max), VIRTIO_BLK_SEG_MAX);
	CHECK_EQ_INT(le32toh(c.max_discard_seg), VIRTIO_BLK_MAX_RANGES);
	CHECK_EQ_INT(le32toh(c.max_write_zeroes_sectors), VIRTIO_BLK_MAX_RANGE_SECTORS);
	bench_destroy(&b);
}

static void test_read_write_flush_id(void)
{
	static uint8_t data[8192], back[8192];
	struct bench b;
	struct req r = { .type = VIRTIO_BLK_T_IN, .sector = 8, .in_len = sizeof(back) };
	char id[VIRTIO_BLK_ID_BYTES];

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	bench_init(&b, false);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, 8, data, sizeof(data), 0), VIRTIO_BLK_S_OK);
	host_read(back, sizeof(back), 8 * 512);
	CHECK(memcmp(back, data, sizeof(data)) == 0);
	CHECK_EQ_INT(request(&b, &r), VIRTIO_BLK_S_OK);
	CHECK_EQ_INT(r.used_len, sizeof(back) + 1);
	CHECK(memcmp(gm_ptr(&gm, r.in_gpa, sizeof(back)), data, sizeof(data)) == 0);
	/* the last sector of the disk, and none */
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, NULL, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0), VIRTIO_BLK_S_OK);
	r = (struct req){ .type = VIRTIO_BLK_T_GET_ID, .in_len = VIRTIO_BLK_ID_BYTES };
	CHECK_EQ_INT(request(&b, &r), VIRTIO_BLK_S_OK);
	memset(id, 0, sizeof(id));
	memcpy(id, SERIAL, strlen(SERIAL));
	CHECK(memcmp(gm_ptr(&gm, r.in_gpa, sizeof(id)), id, sizeof(id)) == 0);
	CHECK_EQ_INT(r.used_len, VIRTIO_BLK_ID_BYTES + 1);
	CHECK_EQ_INT(b.blk.counters.bytes_written, sizeof(data));
	CHECK(b.irqs > 0);
	bench_destroy(&b);
}

static void test_discard_write_zeroes(void)
{
	static uint8_t data[65536], back[65536], zeroes[65536];
	struct virtio_blk_discard_write_zeroes segs[2];
	struct bench b;
	long long before;
	int fd;

	memset(data, 0xa5, sizeof(data));
	bench_init(&b, false);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, 1024, data, sizeof(data), 0), VIRTIO_BLK_S_OK);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, 2048, data, sizeof(data), 0), VIRTIO_BLK_S_OK);
	fd = open(image_path, O_RDONLY);
	fsync(fd);
	close(fd);
	before = host_blocks();
	segs[0] = range(1024, 128, 0);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_DISCARD, segs, 1), VIRTIO_BLK_S_OK);
	CHECK(host_blocks() <= before - 128);
	host_read(back, sizeof(back), 1024 * 512);
	CHECK(memcmp(back, zeroes, sizeof(back)) == 0);
	/* write-zeroes, kept allocated and unmapped, in one request */
	segs[0] = range(2048, 64, 0);
	segs[1] = range(2048 + 64, 64, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_WRITE_ZEROES, segs, 2), VIRTIO_BLK_S_OK);
	host_read(back, sizeof(back), 2048 * 512);
	CHECK(memcmp(back, zeroes, sizeof(back)) == 0);
	CHECK_EQ_INT(b.blk.counters.io_errors, 0);
	bench_destroy(&b);
}

static void test_read_only(void)
{
	static uint8_t data[4096];
	struct virtio_blk_discard_write_zeroes seg = range(0, 8, 0);
	struct bench b;

	bench_init(&b, true);
	CHECK(device_features(&b) & 1ull << VIRTIO_BLK_F_RO);
	CHECK(!(device_features(&b) & 1ull << VIRTIO_BLK_F_DISCARD));
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_IN, 0, NULL, 0, sizeof(data)), VIRTIO_BLK_S_OK);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, 0, data, sizeof(data), 0), VIRTIO_BLK_S_IOERR);
	/* not offered, so not negotiated */
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_DISCARD, &seg, 1), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_WRITE_ZEROES, &seg, 1), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0), VIRTIO_BLK_S_OK);
	CHECK_EQ_INT(b.blk.counters.bytes_written, 0);
	bench_destroy(&b);
}

/* Requests made available together, one kick: all served, by several
 * workers. */
static void test_in_flight(void)
{
	enum { N = 32 };
	static uint8_t data[N][4096];
	struct vqd_seg segs[N][4];
	struct req r[N];
	struct bench b;

	bench_init(&b, false);
	for (unsigned int i = 0; i < N; i++) {
		memset(data[i], (int)i + 1, sizeof(data[i]));
		r[i] = (struct req){ .type = VIRTIO_BLK_T_OUT, .sector = 8u * i, .out = data[i],
				     .out_len = sizeof(data[i]) };
		add_req(&b, &r[i], segs[i]);
	}
	vqd_kick(&b.driver, 0);
	wait_used(&b, N);
	for (unsigned int i = 0; i < N; i++) {
		uint8_t back[4096];

		CHECK_EQ_INT(*(uint8_t *)gm_ptr(&gm, segs[i][2].gpa, 1), VIRTIO_BLK_S_OK);
		host_read(back, sizeof(back), 4096 * i);
		CHECK(memcmp(back, data[i], sizeof(back)) == 0);
	}
	CHECK_EQ_INT(b.blk.counters.writes, N);
	bench_destroy(&b);
}

static void test_hostile(void)
{
	static uint8_t data[1024];
	struct virtio_blk_discard_write_zeroes segs[VIRTIO_BLK_MAX_RANGES + 1];
	struct vqd_seg chain[VIRTIO_BLK_SEG_MAX + 3];
	struct virtio_blk_outhdr hdr = { .type = htole32(VIRTIO_BLK_T_IN) };
	struct bench b;

	bench_init(&b, false);
	/* past the end, across it, overflowing 2^64 as bytes or sectors */
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_IN, DISK_SECTORS, NULL, 0, 512), VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, NULL, 0, 1024),
		     VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, UINT64_MAX, data, 512, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, data, 512, 0),
		     VIRTIO_BLK_S_IOERR);
	/* not whole sectors */
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_IN, 0, NULL, 0, 100), VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_OUT, 0, data, 513, 0), VIRTIO_BLK_S_IOERR);
	/* unknown types */
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_SCSI_CMD, 0, NULL, 0, 0), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ_INT(simple(&b, 0x7fffffff, 0, NULL, 0, 0), VIRTIO_BLK_S_UNSUPP);
	/* ranges: UNMAP on a discard, an unknown flag, past the end, too
	 * long, too many, not whole, none */
	segs[0] = range(0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_DISCARD, segs, 1), VIRTIO_BLK_S_UNSUPP);
	segs[0] = range(0, 8, 1u << 5);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_WRITE_ZEROES, segs, 1), VIRTIO_BLK_S_UNSUPP);
	segs[0] = range(DISK_SECTORS - 4, 8, 0);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_DISCARD, segs, 1), VIRTIO_BLK_S_IOERR);
	segs[0] = range(UINT64_MAX - 2, 8, 0);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_WRITE_ZEROES, segs, 1), VIRTIO_BLK_S_IOERR);
	segs[0] = range(0, VIRTIO_BLK_MAX_RANGE_SECTORS + 1, 0);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_DISCARD, segs, 1), VIRTIO_BLK_S_IOERR);
	for (unsigned int i = 0; i <= VIRTIO_BLK_MAX_RANGES; i++)
		segs[i] = range(i, 1, 0);
	CHECK_EQ_INT(ranges(&b, VIRTIO_BLK_T_DISCARD, segs, VIRTIO_BLK_MAX_RANGES + 1),
		     VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_DISCARD, 0, segs, 15, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_DISCARD, 0, NULL, 0, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ_INT(b.blk.counters.malformed, 0);

	/* more data buffers than SEG_MAX */
	chain[0] = (struct vqd_seg){ .data = &hdr, .len = sizeof(hdr) };
	for (unsigned int i = 1; i <= VIRTIO_BLK_SEG_MAX + 1; i++)
		chain[i] = (struct vqd_seg){ .len = 512 };
	chain[VIRTIO_BLK_SEG_MAX + 2] = (struct vqd_seg){ .len = 1 };
	vqd_add_chain(&b.driver, 0, chain, VIRTIO_BLK_SEG_MAX + 3);
	vqd_kick(&b.driver, 0);
	wait_used(&b, 1);
	CHECK_EQ_INT(*(uint8_t *)gm_ptr(&gm, chain[VIRTIO_BLK_SEG_MAX + 2].gpa, 1),
		     VIRTIO_BLK_S_IOERR);

	/* no status byte: a header alone; a short header; the header in a
	 * writable buffer (the wrong way): given back with nothing written */
	chain[0] = (struct vqd_seg){ .data = &hdr, .len = sizeof(hdr) };
	vqd_add_chain(&b.driver, 0, chain, 1);
	chain[0] = (struct vqd_seg){ .data = &hdr, .len = 8 };
	chain[1] = (struct vqd_seg){ .len = 1 };
	vqd_add_chain(&b.driver, 0, chain, 2);
	chain[0] = (struct vqd_seg){ .len = sizeof(hdr) + 512 + 1 };
	vqd_add_chain(&b.driver, 0, chain, 1);
	vqd_kick(&b.driver, 0);
	wait_used(&b, 3);
	for (uint16_t i = 0; i < 3; i++)
		CHECK_EQ_INT(vqd_used_len(&b.driver, 0, (uint16_t)(b.used - i)), 0);
	CHECK_EQ_INT(b.blk.counters.malformed, 3);
	/* the device goes on */
	CHECK_EQ_INT(simple(&b, VIRTIO_BLK_T_IN, 0, NULL, 0, 512), VIRTIO_BLK_S_OK);
	CHECK_EQ_INT(b.blk.counters.bytes_written, 0);
	bench_destroy(&b);
}

int main(void)
{
	char dir[] = "/tmp/test-virtio-blk-XXXXXX";
	int fd;

	alarm(60); /* a device that hangs fails the test */
	log_set_level(getenv("TEST_LOG") ? LOG_DEBUG : LOG_OFF);
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "cannot map guest memory or make a directory\n");
		return 1;
	}
	snprintf(image_path, sizeof(image_path), "%s/disk.raw", dir);
	fd = open(image_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, DISK_SECTORS * 512ull) == 0);
	close(fd);
	test_config();
	test_read_write_flush_id();
	test_discard_write_zeroes();
	test_read_only();
	test_in_flight();
	test_hostile();
	unlink(image_path);
	rmdir(dir);
	return CHECK_DONE();
}
