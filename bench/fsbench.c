/* fsbench [DIR]: file system figures inside a guest, for bench/fs.sh to set
 * side by side: per-file cost of create+write+close, stat and unlink, and
 * MiB/s of a sequential write and of a cold sequential read, both in 128 KiB
 * requests. Cold means after the guest's page cache was dropped (needs
 * /proc, and root). Prints one line of name=value pairs. Static, so that it
 * runs on any root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_FILES 500
#define SMALL_SIZE 4096
#define CHUNK (128 * 1024)
#define BIG_SIZE (64ull << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fsbench: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	sync();
	if (fd < 0 || write(fd, "3\n", 2) != 2)
		die("cannot drop the page cache through", "/proc/sys/vm/drop_caches");
	close(fd);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/fsbench.d";
	static char buf[CHUNK];
	char path[4096];
	struct stat st;
	double t;

	memset(buf, 0x5a, sizeof(buf));
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("cannot make", dir);

	t = now();
	for (int i = 0; i < SMALL_FILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, SMALL_SIZE) != SMALL_SIZE || close(fd))
			die("cannot create", path);
	}
	double create_us = (now() - t) / SMALL_FILES * 1e6;

	t = now();
	for (int i = 0; i < SMALL_FILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (stat(path, &st))
			die("cannot stat", path);
	}
	double stat_us = (now() - t) / SMALL_FILES * 1e6;

	t = now();
	for (int i = 0; i < SMALL_FILES; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (unlink(path))
			die("cannot unlink", path);
	}
	double unlink_us = (now() - t) / SMALL_FILES * 1e6;

	snprintf(path, sizeof(path), "%s/big", dir);
	t = now();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("cannot create", path);
	for (unsigned long long done = 0; done < BIG_SIZE; done += CHUNK) {
		if (write(fd, buf, CHUNK) != CHUNK)
			die("cannot write", path);
	}
	if (fsync(fd) || close(fd))
		die("cannot fsync", path);
	double write_mib_s = (BIG_SIZE >> 20) / (now() - t);

	drop_caches();
	t = now();
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("cannot open", path);
	unsigned long long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, CHUNK)) > 0)
		total += n;
	if (n < 0 || total != BIG_SIZE)
		die("cannot read all of", path);
	close(fd);
	double read_mib_s = (BIG_SIZE >> 20) / (now() - t);
	unlink(path);
	rmdir(dir);

	printf("fsbench create_write_close_us=%.1f stat_us=%.1f unlink_us=%.1f "
	       "seq_write_mib_s=%.1f cold_read_mib_s=%.1f\n",
	       create_us, stat_us, unlink_us, write_mib_s, read_mib_s);
	return 0;
}
