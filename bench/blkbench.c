/* blkbench: the guest's side of bench/blk.sh, the same static program in
 * our VMM (the krun tool's workload) and in QEMU microvm (its initramfs's
 * /init, so PID 1 there: it makes its own /dev and console and powers off
 * at the end). It drives /dev/vda directly, O_DIRECT and no filesystem, so
 * that the guest's page cache hides nothing from the device:
 *
 *   seqwrite  MIB MiB in 1 MiB writes from offset 0, then a flush (timed)
 *   seqread   the same MiB read back in 1 MiB reads
 *   randread  4 KiB reads at random aligned offsets in those MiB, for
 *   randwrite SECONDS each, one in flight, then THREADS in flight (one
 *             request per thread); the writes end with a flush (timed)
 *
 * The random requests stay in the region the sequential write filled, so
 * that no row reads holes (free for a raw file, a table look-up for qcow2)
 * or allocates clusters: the steady state of a written image. Each phase
 * prints "blkbench: begin NAME" before its first request, for bench/blk.sh
 * to read the VMM's CPU time there, and one line of figures after it,
 * timed here with CLOCK_MONOTONIC:
 *
 *   blkbench: NAME: RATE UNIT, BYTES bytes in SECONDS s
 *
 *   blkbench SECONDS MIB THREADS
 *
 * Arguments are words without dots: the kernel takes words with a dot on
 * its command line for module parameters and does not hand them to init. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest_main.h"

#define SMALL 4096u
#define LARGE (1u << 20)
#define MAX_THREADS 64

const char bench_name[] = "blkbench";
static int disk = -1;
static uint64_t region; /* bytes written by seqwrite: where random requests go */

static void report(const char *name, double rate, const char *unit, uint64_t bytes,
		   double seconds)
{
	printf("blkbench: %s: %.1f %s, %llu bytes in %.3f s\n", name, rate, unit,
	       (unsigned long long)bytes, seconds);
}

/* Whole requests of LEN bytes at POS, as O_DIRECT wants them (the buffer
 * aligned); a short transfer is an error here: the region is inside the
 * device. */
static int transfer(bool write, void *buf, size_t len, uint64_t pos)
{
	ssize_t n = write ? pwrite(disk, buf, len, (off_t)pos) : pread(disk, buf, len, (off_t)pos);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

static int sequential(bool write)
{
	const char *name = write ? "seqwrite 1MiB" : "seqread 1MiB";
	void *buf;

	if (posix_memalign(&buf, SMALL, LARGE))
		return bench_fail("no memory");
	memset(buf, 0xa5, LARGE);
	printf("blkbench: begin %s\n", name);
	double start = bench_now();
	for (uint64_t pos = 0; pos < region; pos += LARGE)
		if (transfer(write, buf, LARGE, pos) < 0) {
			free(buf);
			return bench_fail(name);
		}
	if (write && fdatasync(disk) < 0) {
		free(buf);
		return bench_fail("flush after seqwrite");
	}
	double took = bench_now() - start;
	free(buf);
	report(name, (double)region / LARGE / took, "MiB/s", region, took);
	return 0;
}

/* One thread of a random phase: 4 KiB requests, one at a time, until the
 * deadline; its count added to the phase's. */
struct random_phase {
	bool write;
	double deadline;
	atomic_uint_fast64_t requests;
	atomic_uint seeds;
	atomic_int failed;
};

static void *random_worker(void *arg)
{
	struct random_phase *p = arg;
	/* xorshift64, seeded by the thread's number: cheap, and the same
	 * offsets in both VMMs' guests */
	uint64_t state = 0x9e3779b97f4a7c15u * (atomic_fetch_add(&p->seeds, 1) + 1u);
	uint64_t done = 0;
	void *buf;

	if (posix_memalign(&buf, SMALL, SMALL)) {
		atomic_store(&p->failed, ENOMEM);
		return NULL;
	}
	memset(buf, 0x5a, SMALL);
	while (bench_now() < p->deadline) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		if (transfer(p->write, buf, SMALL, state % (region / SMALL) * SMALL) < 0) {
			atomic_store(&p->failed, errno);
			break;
		}
		done++;
	}
	free(buf);
	atomic_fetch_add(&p->requests, done);
	return NULL;
}

static int random_io(bool write, unsigned int threads, double seconds)
{
	char name[40];
	pthread_t tids[MAX_THREADS];
	struct random_phase p = { .write = write };
	unsigned int started = 0;

	snprintf(name, sizeof(name), "%s 4KiB qd%u", write ? "randwrite" : "randread", threads);
	printf("blkbench: begin %s\n", name);
	double start = bench_now();
	p.deadline = start + seconds;
	for (; started < threads; started++)
		if ((errno = pthread_create(&tids[started], NULL, random_worker, &p)))
			break;
	int create_error = errno;
	for (unsigned int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (started < threads) {
		errno = create_error;
		return bench_fail("cannot start a thread");
	}
	if (atomic_load(&p.failed)) {
		errno = atomic_load(&p.failed);
		return bench_fail(name);
	}
	if (write && fdatasync(disk) < 0)
		return bench_fail("flush after randwrite");
	double took = bench_now() - start;
	uint64_t requests = atomic_load(&p.requests);
	report(name, (double)requests / took, "IOPS", requests * SMALL, took);
	return 0;
}

static int run(int argc, char **argv)
{
	if (argc != 4) {
		printf("usage: blkbench SECONDS MIB THREADS\n");
		return 2;
	}
	double seconds = strtod(argv[1], NULL);
	uint64_t mib = strtoull(argv[2], NULL, 10);
	unsigned int threads = (unsigned int)strtoul(argv[3], NULL, 10);
	uint64_t size;

	if (!(seconds > 0 && seconds <= 600) || mib == 0 || mib > (1u << 20) || threads == 0 ||
	    threads > MAX_THREADS) {
		printf("blkbench: want 1 to 600 seconds, MiB above 0, 1 to %d threads\n",
		       MAX_THREADS);
		return 2;
	}
	/* O_EXCL: a block device someone mounted is refused (EBUSY), so that
	 * run by mistake where /dev/vda is a real system's disk (this host's
	 * is), it writes nothing. */
	if ((disk = open("/dev/vda", O_RDWR | O_DIRECT | O_EXCL)) < 0)
		return bench_fail("cannot open /dev/vda for itself alone (mounted?)");
	if (ioctl(disk, BLKGETSIZE64, &size) < 0)
		return bench_fail("cannot read /dev/vda's size");
	region = mib << 20;
	if (region > size) {
		printf("blkbench: /dev/vda has %llu bytes, fewer than %llu MiB\n",
		       (unsigned long long)size, (unsigned long long)mib);
		return 1;
	}
	printf("blkbench: /dev/vda, %llu bytes; %llu MiB region, %g s a random phase\n",
	       (unsigned long long)size, (unsigned long long)mib, seconds);
	if (sequential(true) || sequential(false) || random_io(false, 1, seconds) ||
	    random_io(true, 1, seconds))
		return 1;
	if (threads > 1 && (random_io(false, threads, seconds) || random_io(true, threads, seconds)))
		return 1;
	/* A second idle before the VMM exits: bench/blk.sh reads its CPU time
	 * when the last phase's line arrives, which it can no longer do once
	 * the process is gone. */
	sleep(1);
	printf("blkbench: done\n");
	return 0;
}

int bench_run(int argc, char **argv)
{
	int status = run(argc, argv);

	if (disk >= 0)
		close(disk);
	return status;
}
