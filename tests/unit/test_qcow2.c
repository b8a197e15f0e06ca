/* qcow2 (src/disk/qcow2_*.c) against Debian's qemu-img: images made by
 * `qemu-img create` (compat 0.10 and 1.1, clusters of 512 B, 64 KiB and
 * 2 MiB, refcounts of 1 to 64 bits), with raw and qcow2 backing files and
 * compressed by `qemu-img convert -c`. A random sequence of writes, zeroes
 * and discards goes to our qcow2 and to a raw file alike; after every step
 * `qemu-img check` must find nothing wrong and `qemu-img convert -O raw`
 * must equal the raw file, and our reads must equal the raw file's. Then
 * hostile headers (refused, no crash) and a writer killed by SIGKILL again
 * and again (the image still passes `qemu-img check`, leaks allowed). The
 * image stays open (locked) while qemu-img looks: -U reads it anyway,
 * which is sound as our metadata is written through at once. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "disk/image.h"

static char dir[] = "/tmp/test-qcow2-XXXXXX";
static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Run a shell command built from fmt: its exit status (-1 if it did not exit). */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The sync mode of the images opened: FULL puts a barrier (fdatasync)
 * between the metadata updates that must reach the disk in order; NONE
 * only keeps the order of the writes (all a VMM killed needs), quicker. */
static enum disk_sync sync_mode = DISK_SYNC_NONE;

static int open_img(const char *name, enum disk_format f, bool ro, struct disk_image **out)
{
	char path[256];
	struct disk_open_opts o = { .read_only = ro, .sync = sync_mode };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return disk_image_open(path, f, &o, out);
}

/* qemu-img check's verdict on name: 0 clean, 3 leaks only, 2 corrupt. */
static int img_check(const char *name)
{
	return sh("qemu-img check -U -q %s/%s >/dev/null 2>&1", dir, name);
}

/* The guest's view as qemu-img converts it, byte-equal to the raw file? */
static bool same_as_raw(const char *name, const char *raw)
{
	return sh("qemu-img convert -U -O raw %s/%s %s/conv.raw && cmp -s %s/conv.raw %s/%s", dir,
		  name, dir, dir, dir, raw) == 0;
}

static int rw(struct disk_image *img, void *buf, size_t len, uint64_t off, bool write)
{
	/* Three pieces, so that requests cross iovec boundaries too. */
	size_t a = len / 3, b = len / 2 - a;
	struct iovec v[3] = { { buf, a }, { (char *)buf + a, b }, { (char *)buf + a + b,
								   len - a - b } };

	return write ? img->ops->writev(img, v, 3, off) : img->ops->readv(img, v, 3, off);
}

/* One random step on both images: a write, zeroes (kept or not), a
 * discard, or a read compared. */
static void step(struct disk_image *q, struct disk_image *r, uint64_t max_len)
{
	uint64_t len = (rnd() % (max_len / 512) + 1) * 512, off;
	uint8_t *a = malloc(len), *b = malloc(len);
	unsigned int kind = rnd() % 5;

	if (len > q->size)
		len = q->size;
	off = (rnd() % ((q->size - len) / 512 + 1)) * 512;
	if (kind <= 1) {
		uint8_t fill = (uint8_t)rnd();

		for (uint64_t i = 0; i < len; i++)
			a[i] = kind ? fill : (uint8_t)rnd();
		CHECK_EQ_INT(rw(q, a, len, off, true), 0);
		CHECK_EQ_INT(rw(r, a, len, off, true), 0);
	} else if (kind <= 3) {
		bool unmap = kind == 3;

		CHECK_EQ_INT(q->ops->write_zeroes(q, off, len, unmap), 0);
		CHECK_EQ_INT(r->ops->write_zeroes(r, off, len, unmap), 0);
	} else {
		CHECK_EQ_INT(q->ops->discard(q, off, len), 0);
		CHECK_EQ_INT(r->ops->write_zeroes(r, off, len, true), 0);
	}
	off = (rnd() % ((q->size - len) / 512 + 1)) * 512;
	CHECK_EQ_INT(rw(q, a, len, off, false), 0);
	CHECK_EQ_INT(rw(r, b, len, off, false), 0);
	CHECK(memcmp(a, b, len) == 0);
	free(a);
	free(b);
}

/* steps random steps on name (qcow2) and raw, each checked by qemu-img;
 * first, optionally, one write of most of the image (tables grow). */
static void run_sequence(const char *label, const char *name, const char *raw, int steps,
			 uint64_t max_len, bool big_first)
{
	struct disk_image *q = NULL, *r = NULL;
	int failures = check_failures;

	CHECK_EQ_INT(open_img(name, DISK_FORMAT_QCOW2, false, &q), 0);
	CHECK_EQ_INT(open_img(raw, DISK_FORMAT_RAW, false, &r), 0);
	if (!q || !r)
		return;
	CHECK_EQ_INT(q->size, r->size);
	if (big_first) {
		uint64_t len = q->size * 3 / 4;
		uint8_t *a = malloc(len);

		for (uint64_t i = 0; i < len; i++)
			a[i] = (uint8_t)(i * 7 + (i >> 12));
		CHECK_EQ_INT(rw(q, a, len, 4096, true), 0);
		CHECK_EQ_INT(rw(r, a, len, 4096, true), 0);
		free(a);
	}
	for (int i = 0; i < steps && check_failures == failures; i++) {
		step(q, r, max_len);
		CHECK_EQ_INT(img_check(name), 0);
		CHECK(same_as_raw(name, raw));
	}
	CHECK_EQ_INT(q->ops->flush(q), 0);
	q->ops->close(q);
	r->ops->close(r);
	printf("%s: %s\n", label, check_failures == failures ? "ok" : "FAILED");
}

static void fill_raw(const char *name, uint64_t size, bool compressible)
{
	char path[256];
	uint8_t *buf = malloc(size);
	int fd;

	for (uint64_t i = 0; i < size; i++)
		buf[i] = compressible ? (uint8_t)("qcow2 compressed "[i % 17] + (i >> 16))
				      : (uint8_t)rnd();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, buf, size) == (ssize_t)size);
	close(fd);
	free(buf);
}

static void test_fresh_images(void)
{
	static const struct {
		const char *compat, *opts;
		uint64_t cluster, size, max_len;
		bool big;
		enum disk_sync sync;
	} cfg[] = {
		{ "0.10", "", 512, 16 << 20, 64 << 10, true, DISK_SYNC_NONE },
		{ "0.10", "", 65536, 32 << 20, 512 << 10, false, DISK_SYNC_FULL },
		{ "0.10", "", 2 << 20, 32 << 20, 4 << 20, false, DISK_SYNC_NONE },
		{ "1.1", "", 512, 16 << 20, 64 << 10, true, DISK_SYNC_NONE },
		{ "1.1", "", 65536, 32 << 20, 512 << 10, true, DISK_SYNC_FULL },
		{ "1.1", "", 2 << 20, 32 << 20, 4 << 20, false, DISK_SYNC_RELAXED },
		{ "1.1", ",refcount_bits=1", 512, 8 << 20, 64 << 10, true, DISK_SYNC_NONE },
		{ "1.1", ",refcount_bits=64", 4096, 16 << 20, 128 << 10, true, DISK_SYNC_NONE },
	};

	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		char label[128];

		CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 -o compat=%s,cluster_size=%llu%s "
				"%s/t.qcow2 %llu && truncate -s %llu %s/t.raw && : > %s/t.raw && "
				"truncate -s %llu %s/t.raw", cfg[i].compat,
				(unsigned long long)cfg[i].cluster, cfg[i].opts, dir,
				(unsigned long long)cfg[i].size, (unsigned long long)cfg[i].size,
				dir, dir, (unsigned long long)cfg[i].size, dir),
			     0);
		snprintf(label, sizeof(label), "compat=%s cluster=%llu%s", cfg[i].compat,
			 (unsigned long long)cfg[i].cluster, cfg[i].opts);
		sync_mode = cfg[i].sync;
		run_sequence(label, "t.qcow2", "t.raw", 25, cfg[i].max_len, cfg[i].big);
		sync_mode = DISK_SYNC_NONE;
	}
}

/* Overlays on a raw and on a qcow2 backing file (smaller than the overlay:
 * zeroes past its end), both compat levels; and a compressed image. */
static void test_backing_and_compressed(void)
{
	static const char *compat[] = { "0.10", "1.1" };

	for (int fmt = 0; fmt < 2; fmt++) {
		for (int c = 0; c < 2; c++) {
			char label[64];

			fill_raw("base.raw", 6 << 20, false);
			if (fmt)
				CHECK_EQ_INT(sh("qemu-img convert -O qcow2 -o cluster_size=4096 "
						"%s/base.raw %s/base-of-the-overlay.img", dir, dir), 0);
			else
				CHECK_EQ_INT(sh("cp %s/base.raw %s/base-of-the-overlay.img", dir, dir), 0);
			/* A relative backing name: found from the overlay's directory. */
			CHECK_EQ_INT(sh("cd %s && qemu-img create -q -f qcow2 -o compat=%s,"
					"cluster_size=65536 -b base-of-the-overlay.img -F %s ov.qcow2 8M && "
					"cp base.raw ov.raw && truncate -s 8M ov.raw", dir,
					compat[c], fmt ? "qcow2" : "raw"), 0);
			snprintf(label, sizeof(label), "backing %s, compat=%s",
				 fmt ? "qcow2" : "raw", compat[c]);
			run_sequence(label, "ov.qcow2", "ov.raw", 25, 256 << 10, false);
		}
	}
	fill_raw("c.raw", 8 << 20, true);
	CHECK_EQ_INT(sh("qemu-img convert -c -O qcow2 %s/c.raw %s/c.qcow2", dir, dir), 0);
	CHECK(sh("qemu-img info %s/c.qcow2 | grep -q 'disk size: [0-9.]* KiB'", dir) == 0);
	run_sequence("compressed", "c.qcow2", "c.raw", 25, 256 << 10, false);
}

/* Write the bytes at off of name. */
static void patch(const char *name, uint64_t off, const void *bytes, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, bytes, len, (off_t)off) == (ssize_t)len);
	close(fd);
}

static void patch_be(const char *name, uint64_t off, uint64_t v, size_t width)
{
	uint8_t b[8];

	for (size_t i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	patch(name, off, b, width);
}

static void test_hostile_headers(void)
{
	static const struct {
		const char *what;
		uint64_t off, value;
		size_t width;
		int expect;
	} bad[] = {
		{ "version 4", 4, 4, 4, -EINVAL },
		{ "cluster bits 30", 20, 30, 4, -EINVAL },
		{ "cluster bits 8", 20, 8, 4, -EINVAL },
		{ "huge size", 24, 1ull << 62, 8, -EINVAL },
		{ "encrypted", 32, 1, 4, -EOPNOTSUPP },
		{ "L1 too small", 36, 0, 4, -EINVAL },
		{ "L1 past the end", 40, 1ull << 40, 8, -EINVAL },
		{ "L1 on the header", 40, 0, 8, -EINVAL },
		{ "L1 unaligned", 40, 65536 + 8, 8, -EINVAL },
		{ "refcount table on the header", 48, 0, 8, -EINVAL },
		{ "refcount table on L1", 48, 3 * 65536, 8, -EINVAL },
		{ "refcount table huge", 56, 0xffffffff, 4, -EINVAL },
		{ "dirty", 72, 1, 8, -EOPNOTSUPP },
		{ "corrupt", 72, 2, 8, -EINVAL },
		{ "external data file", 72, 4, 8, -EOPNOTSUPP },
		{ "unknown incompatible feature", 72, 1ull << 40, 8, -EOPNOTSUPP },
		{ "refcount order 7", 96, 7, 4, -EINVAL },
		{ "header length odd", 100, 105, 4, -EINVAL },
		{ "header length past the cluster", 100, 1 << 20, 4, -EINVAL },
		{ "extension past the cluster", 112 + 4, 1 << 20, 4, -EINVAL },
		{ "backing name past the cluster", 8, 65534, 8, -EINVAL },
	};
	struct disk_image *img = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* 1 GiB: L1 of 2 entries at 3 clusters, refcount table at 1. */
		CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 -o compat=1.1 %s/h.qcow2 1G && "
				"qemu-img create -q -f raw %s/h.base 1M", dir, dir), 0);
		if (strstr(bad[i].what, "backing"))
			CHECK_EQ_INT(sh("qemu-img rebase -u -q -f qcow2 -b h.base -F raw "
					"%s/h.qcow2", dir), 0);
		patch_be("h.qcow2", bad[i].off, bad[i].value, bad[i].width);
		int ret = open_img("h.qcow2", DISK_FORMAT_QCOW2, false, &img);
		if (ret != bad[i].expect)
			fprintf(stderr, "hostile header '%s': %d, expected %d\n", bad[i].what, ret,
				bad[i].expect);
		CHECK_EQ_INT(ret, bad[i].expect);
		if (ret == 0)
			img->ops->close(img);
	}
	/* zstd compression (incompatible bit 3 and the type byte at 104). */
	CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 %s/h.qcow2 1G", dir), 0);
	patch_be("h.qcow2", 72, 8, 8);
	patch_be("h.qcow2", 104, 1, 1);
	CHECK_EQ_INT(open_img("h.qcow2", DISK_FORMAT_QCOW2, true, &img), -EOPNOTSUPP);
	/* A refcount block on the L1 table (cluster 3): refused at open. */
	CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 %s/h.qcow2 1G", dir), 0);
	patch_be("h.qcow2", 65536, 3 * 65536, 8);
	CHECK_EQ_INT(open_img("h.qcow2", DISK_FORMAT_QCOW2, false, &img), -EINVAL);
	/* An L2 table on the refcount table, an L2 table past the end: the
	 * guest gets an I/O error there, and the image stays as it was. */
	for (int i = 0; i < 2; i++) {
		uint8_t buf[4096];
		struct iovec v = { buf, sizeof(buf) };

		CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 %s/h.qcow2 1G", dir), 0);
		patch_be("h.qcow2", 3 * 65536, (i ? 1ull << 40 : 65536) | 1ull << 63, 8);
		CHECK_EQ_INT(sh("cp %s/h.qcow2 %s/h.orig", dir, dir), 0);
		CHECK_EQ_INT(open_img("h.qcow2", DISK_FORMAT_QCOW2, false, &img), 0);
		if (!img)
			continue;
		CHECK_EQ_INT(img->ops->readv(img, &v, 1, 0), -EIO);
		CHECK_EQ_INT(img->ops->writev(img, &v, 1, 8192), -EIO);
		CHECK_EQ_INT(img->ops->discard(img, 0, 65536), -EIO);
		CHECK_EQ_INT(img->ops->readv(img, &v, 1, 1 << 30 >> 1), 0);
		img->ops->close(img);
		CHECK_EQ_INT(sh("cmp -s %s/h.qcow2 %s/h.orig", dir, dir), 0);
	}
	/* A loop in the backing chain: a -> b -> a, read-only. */
	CHECK_EQ_INT(sh("cd %s && qemu-img create -q -f qcow2 a.qcow2 1M && "
			"qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2 && "
			"qemu-img rebase -u -q -b b.qcow2 -F qcow2 a.qcow2", dir), 0);
	CHECK_EQ_INT(open_img("b.qcow2", DISK_FORMAT_QCOW2, true, &img), -ELOOP);
	/* The image is in use: a writer refuses a second writer. */
	CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 %s/h.qcow2 1M", dir), 0);
	CHECK_EQ_INT(open_img("h.qcow2", DISK_FORMAT_QCOW2, false, &img), 0);
	struct disk_image *again = NULL;
	CHECK_EQ_INT(open_img("h.qcow2", DISK_FORMAT_QCOW2, false, &again), -EBUSY);
	img->ops->close(img);
}

/* Threads writing, zeroing and discarding their own quarters of one image
 * at once (sharing its L2 tables and refcount blocks), each keeping what
 * its quarter should read: the quarters read as kept, the image checks
 * clean. */
#define THREADS 4
#define QUARTER (1u << 20)

struct worker {
	struct disk_image *img;
	unsigned int id;
	uint64_t seed;
	uint8_t *mine;
	int errors;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	uint64_t base = (uint64_t)w->id * QUARTER;
	uint8_t buf[16384];

	for (int i = 0; i < 300; i++) {
		w->seed = w->seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t r = w->seed >> 16, len = (r % 32 + 1) * 512;
		uint64_t off = (r >> 8) % ((QUARTER - len) / 512 + 1) * 512;
		struct iovec v = { buf, len };

		if (r % 5 == 0) {
			w->errors += w->img->ops->discard(w->img, base + off, len) != 0;
			memset(w->mine + off, 0, len);
		} else {
			memset(buf, (int)(r >> 40) | 1, len);
			w->errors += w->img->ops->writev(w->img, &v, 1, base + off) != 0;
			memcpy(w->mine + off, buf, len);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct disk_image *q = NULL;
	struct worker w[THREADS];
	pthread_t t[THREADS];

	CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 %s/th.qcow2 4M", dir), 0);
	CHECK_EQ_INT(open_img("th.qcow2", DISK_FORMAT_QCOW2, false, &q), 0);
	if (!q)
		return;
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ q, i, i + 1, calloc(1, QUARTER), 0 };
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		uint8_t *got = malloc(QUARTER);
		struct iovec v = { got, QUARTER };

		pthread_join(t[i], NULL);
		CHECK_EQ_INT(w[i].errors, 0);
		CHECK_EQ_INT(q->ops->readv(q, &v, 1, (uint64_t)i * QUARTER), 0);
		CHECK(memcmp(got, w[i].mine, QUARTER) == 0);
		free(got);
		free(w[i].mine);
	}
	q->ops->close(q);
	CHECK_EQ_INT(img_check("th.qcow2"), 0);
}

/* A child writing in a loop, killed by SIGKILL at a random moment: the
 * image must still pass `qemu-img check` (leaked clusters allowed: exit 3). */
static void test_killed_writer(void)
{
	int leaky = 0;

	CHECK_EQ_INT(sh("qemu-img create -q -f qcow2 -o cluster_size=512 %s/k.qcow2 16M", dir), 0);
	for (int round = 0; round < 8; round++) {
		pid_t pid;

		sync_mode = round % 2 ? DISK_SYNC_FULL : DISK_SYNC_NONE;
		pid = fork();

		if (pid == 0) {
			struct disk_image *q;
			uint8_t buf[8192];

			if (open_img("k.qcow2", DISK_FORMAT_QCOW2, false, &q) < 0)
				_exit(1);
			rng += (uint64_t)getpid();
			for (;;) {
				uint64_t off = rnd() % (q->size / 512 - 16) * 512;
				struct iovec v = { buf, (rnd() % 16 + 1) * 512 };

				memset(buf, (int)rnd(), sizeof(buf));
				if (rnd() % 4 == 0)
					q->ops->discard(q, off, v.iov_len);
				else
					q->ops->writev(q, &v, 1, off);
			}
		}
		struct timespec t = { 0, (long)(50 + rnd() % 400) * 1000000 };
		nanosleep(&t, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		CHECK(WIFSIGNALED(st));
		int verdict = img_check("k.qcow2");
		CHECK(verdict == 0 || verdict == 3);
		leaky += verdict == 3;
		if (verdict != 0 && verdict != 3)
			sh("qemu-img check %s/k.qcow2 | head -20 >&2", dir);
	}
	sync_mode = DISK_SYNC_NONE;
	printf("killed writer: 8 rounds, %d left leaked clusters, none worse\n", leaky);
}

/* test-qcow2 [WORD]: only the parts whose names hold WORD. */
int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} parts[] = {
		{ "hostile_headers", test_hostile_headers },
		{ "fresh_images", test_fresh_images },
		{ "backing_and_compressed", test_backing_and_compressed },
		{ "threads", test_threads },
		{ "killed_writer", test_killed_writer },
	};

	if (sh("qemu-img --version >/dev/null") != 0) {
		printf("qemu-img is missing (qemu-utils): skipped\n");
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (argc < 2 || strstr(parts[i].name, argv[1]))
			parts[i].fn();
	sh("rm -rf %s", dir);
	return CHECK_DONE();
}
