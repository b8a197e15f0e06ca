/* fusebench [SECONDS]: the FUSE server's hot paths on the host, without a
 * guest: requests per second for LOOKUP, GETATTR and a whole READDIRPLUS
 * listing of a 1,000-entry directory, driven through fuse_server_handle as
 * the virtio-fs worker does, each beside the same work done with plain
 * system calls (what the server cannot do with less). Two directories: of
 * empty files (the case device-node stand-ins make dearer: an xattr read
 * each) and of one-byte files. Prints one line per figure. The share is a
 * fresh directory under TMPDIR (or /tmp). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "fs/fuse_server.h"

#define ENTRIES 1000
#define LISTING_SIZE 4096 /* a READDIRPLUS's buffer, as Linux's FUSE asks */

static struct fuse_server *server;
static uint8_t request_buf[4096], reply_buf[1 << 17];
static double seconds = 1.0;

static void die(const char *what)
{
	fprintf(stderr, "fusebench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One request: arg (len bytes) after the header, then name if any. The
 * reply's error, its data in reply_buf past the header. */
static int request(uint32_t opcode, uint64_t nodeid, const void *arg, size_t len,
		   const char *name)
{
	struct fuse_in_header *h = (struct fuse_in_header *)request_buf;
	size_t total = sizeof(*h) + len + (name ? strlen(name) + 1 : 0);
	struct iovec in = { request_buf, total }, out = { reply_buf, sizeof(reply_buf) };

	*h = (struct fuse_in_header){ .len = total, .opcode = opcode, .nodeid = nodeid,
				      .unique = 1, .pid = 1 };
	memcpy(request_buf + sizeof(*h), arg, len);
	if (name)
		strcpy((char *)request_buf + sizeof(*h) + len, name);
	if (fuse_server_handle(server, &in, 1, &out, 1) < 0)
		return -EIO;
	return ((struct fuse_out_header *)reply_buf)->error;
}

static const void *reply_data(void)
{
	return reply_buf + sizeof(struct fuse_out_header);
}

static uint64_t lookup(uint64_t parent, const char *name)
{
	if (request(FUSE_LOOKUP, parent, NULL, 0, name))
		die(name);
	return ((const struct fuse_entry_out *)reply_data())->nodeid;
}

/* The whole listing of dir, READDIRPLUS after READDIRPLUS: its entries. */
static unsigned int list(uint64_t dir)
{
	struct fuse_open_in open_in = { .flags = O_RDONLY };
	struct fuse_read_in read_in = { .size = LISTING_SIZE };
	struct fuse_release_in release_in = { 0 };
	unsigned int entries = 0;
	uint32_t len;

	if (request(FUSE_OPENDIR, dir, &open_in, sizeof(open_in), NULL))
		die("OPENDIR");
	read_in.fh = release_in.fh = ((const struct fuse_open_out *)reply_data())->fh;
	do {
		if (request(FUSE_READDIRPLUS, dir, &read_in, sizeof(read_in), NULL))
			die("READDIRPLUS");
		len = ((struct fuse_out_header *)reply_buf)->len - sizeof(struct fuse_out_header);
		for (uint32_t at = 0; at < len;) {
			const struct fuse_direntplus *d =
				(const struct fuse_direntplus *)((const uint8_t *)reply_data() + at);

			read_in.offset = d->dirent.off;
			at += FUSE_DIRENTPLUS_SIZE(d);
			entries++;
		}
	} while (len);
	if (request(FUSE_RELEASEDIR, dir, &release_in, sizeof(release_in), NULL))
		die("RELEASEDIR");
	return entries;
}

/* The same with system calls: the listing read, each entry opened and
 * stat'ed as a lookup does. */
static unsigned int list_syscalls(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	unsigned int entries = 0;
	struct dirent *d;
	struct stat st;

	if (!dir)
		die("opendir");
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
			int e = openat(dirfd, d->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

			if (e < 0 || fstat(e, &st))
				die(d->d_name);
			close(e);
		}
		entries++;
	}
	closedir(dir);
	return entries;
}

struct dir {
	const char *name, *what;
	int fd;
	uint64_t node;
	uint64_t nodes[ENTRIES];
	int fds[ENTRIES];
	char names[ENTRIES][16];
};

static void report(const char *op, const struct dir *d, double server_rate, double plain_rate,
		   const char *unit)
{
	printf("%-12s %-16s server %9.0f %s, plain system calls %9.0f %s (%.1fx)\n", op, d->what,
	       server_rate, unit, plain_rate, unit, plain_rate / server_rate);
}

static void bench_dir(struct dir *d)
{
	unsigned int n = 0, entries = 0;
	struct stat st;
	double start, server_rate;

	d->node = lookup(FUSE_ROOT_ID, d->name);
	for (start = now(); now() - start < seconds; n++)
		d->nodes[n % ENTRIES] = lookup(d->node, d->names[n % ENTRIES]);
	server_rate = n / (now() - start);
	for (n = 0, start = now(); now() - start < seconds; n++) {
		int fd = openat(d->fd, d->names[n % ENTRIES], O_PATH | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0 || fstat(fd, &st))
			die(d->names[n % ENTRIES]);
		close(fd);
	}
	report("LOOKUP", d, server_rate, n / (now() - start), "req/s");

	for (n = 0, start = now(); now() - start < seconds; n++)
		if (request(FUSE_GETATTR, d->nodes[n % ENTRIES], &(struct fuse_getattr_in){ 0 },
			    sizeof(struct fuse_getattr_in), NULL))
			die("GETATTR");
	server_rate = n / (now() - start);
	for (n = 0, start = now(); now() - start < seconds; n++)
		if (fstat(d->fds[n % ENTRIES], &st))
			die("fstat");
	report("GETATTR", d, server_rate, n / (now() - start), "req/s");

	for (n = 0, start = now(); now() - start < seconds; n++)
		entries = list(d->node);
	if (entries != ENTRIES + 2)
		fprintf(stderr, "fusebench: %u entries listed\n", entries);
	server_rate = n / (now() - start);
	for (n = 0, start = now(); now() - start < seconds; n++)
		list_syscalls(d->fd);
	report("READDIRPLUS", d, server_rate, n / (now() - start), "listings/s");
}

static void make_dir(const char *root, struct dir *d, size_t size)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, d->name);
	if (mkdir(path, 0755) || (d->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(path);
	for (unsigned int i = 0; i < ENTRIES; i++) {
		snprintf(d->names[i], sizeof(d->names[i]), "file-%04u", i);
		d->fds[i] = openat(d->fd, d->names[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (d->fds[i] < 0 || write(d->fds[i], "x", size) != (ssize_t)size)
			die(d->names[i]);
	}
}

static void remove_dir(const char *root, struct dir *d)
{
	char path[512];

	for (unsigned int i = 0; i < ENTRIES; i++) {
		close(d->fds[i]);
		unlinkat(d->fd, d->names[i], 0);
	}
	close(d->fd);
	snprintf(path, sizeof(path), "%s/%s", root, d->name);
	rmdir(path);
}

int main(int argc, char **argv)
{
	static struct dir dirs[] = { { .name = "empty", .what = "(empty files)" },
				     { .name = "data", .what = "(1-byte files)" } };
	const char *tmp = getenv("TMPDIR");
	struct fuse_init_in init = { .major = FUSE_KERNEL_VERSION,
				     .minor = FUSE_KERNEL_MINOR_VERSION,
				     .flags = FUSE_DO_READDIRPLUS };
	char root[256];

	if (argc > 1)
		seconds = atof(argv[1]);
	snprintf(root, sizeof(root), "%s/fusebench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		die(root);
	make_dir(root, &dirs[0], 0);
	make_dir(root, &dirs[1], 1);
	if (fuse_server_create(&(struct fuse_server_config){ .root_dir = root }, &server))
		die("fuse_server_create");
	if (request(FUSE_INIT, 0, &init, sizeof(init), NULL))
		die("INIT");
	for (unsigned int i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		bench_dir(&dirs[i]);
	fuse_server_destroy(server);
	for (unsigned int i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		remove_dir(root, &dirs[i]);
	rmdir(root);
	return 0;
}
