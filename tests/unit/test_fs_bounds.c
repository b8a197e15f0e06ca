/* The FUSE server's bounds on what a guest makes the host hold: many
 * directory handles reading a big directory cost no memory per handle; the
 * share's fds stay within a budget drawn from RLIMIT_NOFILE, past which the
 * guest gets ENFILE, EMFILE or ENOLCK and the process still opens fds of its
 * own; FORGET storms do bounded work and free nothing a request pins. */
#include "fs/fuse_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fuse_harness.h"

#define BIG_DIR_ENTRIES 20000
#define DIR_HANDLES 200
#define DIR_REPLY 4096
/* What 200 handles in the middle of the big listing may add to the RSS: a
 * copy of the listing per handle is some 200 × 20,000 × 50 bytes. */
#define DIR_HANDLES_RSS_KIB (16 << 10)
/* The test's RLIMIT_NOFILE for the fd budget, and fds the process opens
 * once a guest spent its share's budget (within the headroom). */
#define FD_LIMIT 512
#define OWN_FDS 128

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	CHECK(f && fscanf(f, "%ld %ld", &pages, &resident) == 2);
	if (f)
		fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < FD_LIMIT * 4; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Whether the process can still open n fds of its own. */
static bool can_open_fds(int n)
{
	int fds[OWN_FDS], i;
	bool ok = true;

	for (i = 0; i < n && ok; i++)
		ok = (fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;
	while (i--)
		if (fds[i] >= 0)
			close(fds[i]);
	return ok;
}

static void big_dir_fill(bool create)
{
	int dirfd = open(host_path("big"), O_PATH | O_DIRECTORY);
	char name[16];

	CHECK(dirfd >= 0);
	for (int i = 0; i < BIG_DIR_ENTRIES; i++) {
		snprintf(name, sizeof(name), "f-%05d", i);
		if (create) {
			int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);

			CHECK(fd >= 0);
			close(fd);
		} else {
			CHECK_EQ_INT(unlinkat(dirfd, name, 0), 0);
		}
	}
	close(dirfd);
}

/* OPENDIR with no more reply room than it needs: the server's reply buffer
 * is as big as the room (up to 1 MiB), which ASan's allocator keeps a while
 * after it is freed. */
static int opendir_small(struct fuse_server *s, uint64_t nodeid, uint64_t *fh)
{
	int err;

	req_begin(&q, FUSE_OPENDIR, nodeid);
	req_add(&q, &(struct fuse_open_in){ .flags = O_RDONLY }, sizeof(struct fuse_open_in));
	err = send_req_room(s, &q, &rp, sizeof(rp.hdr) + sizeof(struct fuse_open_out));
	if (!err)
		*fh = ((struct fuse_open_out *)rp.data)->fh;
	return err;
}

/* One READDIR of at most DIR_REPLY bytes from off; the next offset, or 0 at
 * the end. Counts the entries, and in seen each f-NNNNN. */
static uint64_t readdir_page(struct fuse_server *s, uint64_t nodeid, uint64_t fh, uint64_t off,
			     int *entries, uint8_t *seen)
{
	size_t pos = 0;

	req_begin(&q, FUSE_READDIR, nodeid);
	req_add(&q, &(struct fuse_read_in){ .fh = fh, .offset = off, .size = DIR_REPLY },
		sizeof(struct fuse_read_in));
	CHECK_EQ_INT(send_req_room(s, &q, &rp, sizeof(rp.hdr) + DIR_REPLY), 0);
	if (reply_len(&rp) == 0)
		return 0;
	while (pos < reply_len(&rp)) {
		const struct fuse_dirent *d = (const void *)(rp.data + pos);
		unsigned int i;

		if (seen && d->namelen == 7 && sscanf(d->name, "f-%5u", &i) == 1 &&
		    i < BIG_DIR_ENTRIES)
			seen[i]++;
		(*entries)++;
		off = d->off;
		pos += FUSE_DIRENT_SIZE(d);
	}
	return off;
}

/* 200 handles in the middle of a 20,000-entry listing hold no copy of it,
 * and two of them read to the end, interleaved, each see every name once. */
static void test_dir_handles(struct fuse_server *s, uint64_t big)
{
	static uint64_t fh[DIR_HANDLES], off[DIR_HANDLES];
	static uint8_t seen[2][BIG_DIR_ENTRIES];
	int entries[2] = { 0, 0 }, ignored = 0, fds = count_fds();
	long before, after;

	CHECK_EQ_INT(opendir_small(s, big, &fh[0]), 0);
	readdir_page(s, big, fh[0], 0, &ignored, NULL);
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, big, fh[0]), 0);
	before = rss_kib();
	for (int i = 0; i < DIR_HANDLES; i++) {
		CHECK_EQ_INT(opendir_small(s, big, &fh[i]), 0);
		off[i] = readdir_page(s, big, fh[i], 0, &ignored, NULL);
		CHECK(off[i] != 0);
	}
	after = rss_kib();
	printf("%d handles into a listing of %d entries: RSS %ld KiB -> %ld KiB\n", DIR_HANDLES,
	       BIG_DIR_ENTRIES, before, after);
	CHECK(after - before < DIR_HANDLES_RSS_KIB);

	memset(seen, 0, sizeof(seen));
	off[0] = off[1] = 0;
	do {
		for (int i = 0; i < 2; i++)
			if (off[i] || !entries[i])
				off[i] = readdir_page(s, big, fh[i], off[i], &entries[i], seen[i]);
	} while (off[0] || off[1]);
	for (int i = 0; i < 2; i++) {
		bool once = true;

		for (int j = 0; j < BIG_DIR_ENTRIES; j++)
			once &= seen[i][j] == 1;
		CHECK(once);
		CHECK_EQ_INT(entries[i], BIG_DIR_ENTRIES + 2); /* and "." and ".." */
	}
	for (int i = 0; i < DIR_HANDLES; i++)
		CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, big, fh[i]), 0);
	CHECK_EQ_INT(count_fds(), fds);
}

/* ---- the fd budget, in a child whose RLIMIT_NOFILE is FD_LIMIT ---- */

static int setlk(struct fuse_server *s, uint64_t nodeid, uint64_t fh, uint64_t owner)
{
	struct fuse_lk_in in = { .fh = fh, .owner = owner,
				 .lk = { .end = INT64_MAX, .type = F_RDLCK, .pid = 1 } };

	req_begin(&q, FUSE_SETLK, nodeid);
	req_add(&q, &in, sizeof(in));
	return send_req(s, &q, &rp);
}

static void fd_budget_child(uint64_t *ids)
{
	struct rlimit rl = { FD_LIMIT, FD_LIMIT };
	struct fuse_server *s;
	uint64_t big, node, fh, fhs[FD_LIMIT];
	char name[16];
	int n, err;

	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	s = new_server(false, 0, 0);
	big = lookup_id(s, ROOT, "big");
	CHECK(big != 0);

	/* Nodes: ENFILE once the budget is spent, and fds left over. */
	for (n = 0, err = 0; n < BIG_DIR_ENTRIES && !err; n++) {
		snprintf(name, sizeof(name), "f-%05d", n);
		err = lookup(s, big, name, NULL);
		ids[n] = err ? 0 : ((struct fuse_entry_out *)rp.data)->nodeid;
	}
	printf("%d nodes with RLIMIT_NOFILE %d\n", n - 1, FD_LIMIT);
	CHECK_EQ_INT(err, -ENFILE);
	CHECK(n > FD_LIMIT / 4 && n < FD_LIMIT);
	CHECK(can_open_fds(OWN_FDS));
	while (n--)
		if (ids[n])
			forget(s, ids[n], 1);

	/* Open files: EMFILE. */
	node = lookup_id(s, big, "f-00000");
	for (n = 0, err = 0; n < FD_LIMIT && !err; n++)
		err = open_node(s, FUSE_OPEN, node, O_RDONLY, &fhs[n]);
	CHECK_EQ_INT(err, -EMFILE);
	CHECK(n > FD_LIMIT / 4);
	CHECK(can_open_fds(OWN_FDS));
	for (n -= 2; n >= 0; n--)
		CHECK_EQ_INT(release(s, FUSE_RELEASE, node, fhs[n]), 0);

	/* Lock owners: ENOLCK. */
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, node, O_RDONLY, &fh), 0);
	for (n = 0, err = 0; n < FD_LIMIT && !err; n++)
		err = setlk(s, node, fh, 1000 + n);
	CHECK_EQ_INT(err, -ENOLCK);
	CHECK(n > FD_LIMIT / 4);
	CHECK(can_open_fds(OWN_FDS));
	/* The node's going drops its owners' fds: the budget is whole again. */
	CHECK_EQ_INT(release(s, FUSE_RELEASE, node, fh), 0);
	forget(s, node, 1);
	CHECK_EQ_INT(lookup(s, big, "f-00001", NULL), 0);
	fuse_server_destroy(s);
}

static void test_fd_budget(void)
{
	static uint64_t ids[BIG_DIR_ENTRIES];
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		check_count = check_failures = 0;
		fd_budget_child(ids);
		exit(CHECK_DONE());
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK_EQ_INT(status, 0);
}

/* ---- FORGET storms ---- */

static void batch_forget(struct fuse_server *s, uint32_t count, const struct fuse_forget_one *one,
			 uint32_t n)
{
	struct fuse_batch_forget_in in = { .count = count };

	req_begin(&q, FUSE_BATCH_FORGET, 0);
	req_add(&q, &in, sizeof(in));
	req_add(&q, one, n * sizeof(*one));
	req_hdr(&q)->len = q.len;
	CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, sizeof(rp)), 0);
}

/* Forgets of the root, of the virtual file, of unknown and stale ids and a
 * count far past the entries there: each entry there is one bounded step,
 * and only the nodes named lose lookups. */
static void test_forget_storm(struct fuse_server *s, uint64_t big)
{
	/* a request as big as the server takes: 1 MiB of entries */
	static struct fuse_forget_one storm[(1 << 20) / sizeof(struct fuse_forget_one)];
	const uint32_t n = sizeof(storm) / sizeof(storm[0]);
	uint64_t a, b, stale, reused, vfile;
	struct timespec t0, t1;

	a = lookup_id(s, big, "f-00001");
	CHECK_EQ_INT(lookup_id(s, big, "f-00001"), a);
	b = lookup_id(s, big, "f-00002");
	stale = lookup_id(s, big, "f-00003");
	forget(s, stale, 1);
	reused = lookup_id(s, big, "f-00004");
	CHECK((uint32_t)reused == (uint32_t)stale && reused != stale);
	vfile = lookup_id(s, ROOT, "init.krun");
	CHECK(a && b && vfile);

	srand(9);
	for (uint32_t i = 0; i < n; i++)
		storm[i] = (struct fuse_forget_one){
			.nodeid = (uint64_t)rand() << 32 | (uint32_t)rand(), .nlookup = UINT64_MAX,
		};
	storm[0] = (struct fuse_forget_one){ .nodeid = a, .nlookup = 1 };
	storm[1] = (struct fuse_forget_one){ .nodeid = ROOT, .nlookup = UINT64_MAX };
	storm[2] = (struct fuse_forget_one){ .nodeid = vfile, .nlookup = UINT64_MAX };
	storm[3] = (struct fuse_forget_one){ .nodeid = stale, .nlookup = UINT64_MAX };
	storm[4] = (struct fuse_forget_one){ .nodeid = 0, .nlookup = 1 };
	storm[5] = (struct fuse_forget_one){ .nodeid = UINT64_MAX, .nlookup = 1 };
	storm[n - 1] = (struct fuse_forget_one){ .nodeid = ROOT, .nlookup = 1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	batch_forget(s, UINT32_MAX, storm, n);
	batch_forget(s, UINT32_MAX, storm + 1, 5);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 2);

	/* the root and the virtual file stay; a kept its second lookup */
	CHECK_EQ_INT(getattr(s, ROOT, NULL), 0);
	CHECK_EQ_INT(lookup(s, ROOT, "big", NULL), 0);
	CHECK_EQ_INT(getattr(s, vfile, NULL), 0);
	CHECK_EQ_INT(getattr(s, a, NULL), 0);
	CHECK_EQ_INT(getattr(s, b, NULL), 0);
	CHECK_EQ_INT(getattr(s, reused, NULL), 0);
	CHECK_EQ_INT(getattr(s, stale, NULL), -EBADF);
	forget(s, a, 1);
	CHECK_EQ_INT(getattr(s, a, NULL), -EBADF);
	forget(s, b, 1);
	forget(s, reused, 1);
}

struct waiter {
	struct fuse_server *s;
	uint64_t nodeid, fh;
	atomic_bool cancel;
	int error;
};

static void *setlkw_thread(void *arg)
{
	struct waiter *w = arg;
	struct {
		struct fuse_in_header h;
		struct fuse_lk_in lk;
	} req = {
		.h = { .len = sizeof(req), .opcode = FUSE_SETLKW, .unique = 5,
		       .nodeid = w->nodeid },
		.lk = { .fh = w->fh, .owner = 5, .lk = { .end = INT64_MAX, .type = F_WRLCK } },
	};
	struct fuse_out_header reply;
	struct iovec in = { &req, sizeof(req) }, out = { &reply, sizeof(reply) };

	CHECK_EQ_INT(fuse_server_handle_waiting(w->s, &in, 1, &out, 1, &w->cancel),
		     sizeof(reply));
	w->error = reply.error;
	return NULL;
}

/* A node forgotten while a SETLKW waits on it stays until the request is
 * done, then goes with its lock. */
static void test_forget_pinned(struct fuse_server *s, uint64_t big)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct waiter w = { .s = s, .error = 1 };
	struct fuse_forget_one all;
	pthread_t thread;
	int host_fd = open(host_path("big/f-00005"), O_RDWR), fds;

	CHECK(host_fd >= 0 && !fcntl(host_fd, F_OFD_SETLK, &fl));
	w.nodeid = lookup_id(s, big, "f-00005");
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, w.nodeid, O_RDWR, &w.fh), 0);
	fds = count_fds();
	CHECK_EQ_INT(pthread_create(&thread, NULL, setlkw_thread, &w), 0);
	usleep(200 * 1000);
	all = (struct fuse_forget_one){ .nodeid = w.nodeid, .nlookup = UINT64_MAX };
	batch_forget(s, 1, &all, 1);
	CHECK_EQ_INT(getattr(s, w.nodeid, NULL), 0);
	CHECK_EQ_INT(w.error, 1);
	close(host_fd);
	pthread_join(thread, NULL);
	CHECK_EQ_INT(w.error, 0);
	/* done: the node went, and the lock with its owner's fd */
	CHECK_EQ_INT(getattr(s, w.nodeid, NULL), -EBADF);
	host_fd = open(host_path("big/f-00005"), O_RDWR);
	CHECK(host_fd >= 0 && !fcntl(host_fd, F_OFD_SETLK, &fl));
	close(host_fd);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, w.nodeid, w.fh), 0);
	CHECK_EQ_INT(count_fds(), fds - 3); /* the host's, the node's and the handle's */
}

/* A waiting request's thread serves a SETLKW and nothing else: a guest that
 * rewrote its request gets EINVAL there. */
static void test_waiting_only_setlkw(struct fuse_server *s)
{
	struct {
		struct fuse_in_header h;
		struct fuse_getattr_in arg;
	} req = { .h = { .len = sizeof(req), .opcode = FUSE_GETATTR, .unique = 6,
			 .nodeid = ROOT } };
	struct fuse_out_header reply;
	struct iovec in = { &req, sizeof(req) }, out = { &reply, sizeof(reply) };
	atomic_bool cancel = false;

	CHECK_EQ_INT(fuse_server_handle_waiting(s, &in, 1, &out, 1, &cancel), sizeof(reply));
	CHECK_EQ_INT(reply.error, -EINVAL);
}

/* ---- the tables' memory ---- */

static long resident_kib(void)
{
	long size, resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = -1;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A share's tables are sized for its whole fd budget, here 65,536 nodes and
 * 16,384 handles (5 MiB), but cost memory only as the guest fills them. */
static void test_table_memory(void)
{
	struct fuse_server_config cfg = { .root_dir = root_dir, .max_fds = 1u << 20 };
	struct fuse_server *s = NULL;
	long before = resident_kib(), grown;

	CHECK_EQ_INT(fuse_server_create(&cfg, &s), 0);
	grown = resident_kib() - before;
	printf("a server with tables for 65,536 nodes and 16,384 handles: %ld KiB resident\n",
	       grown);
	CHECK(before > 0 && grown < 1024);
	fuse_server_destroy(s);
}

int main(void)
{
	struct fuse_server *s;
	uint64_t big;

	if (harness_setup())
		return 1;
	CHECK_EQ_INT(mkdir(host_path("big"), 0755), 0);
	big_dir_fill(true);

	s = new_server(false, 0, 0);
	big = lookup_id(s, ROOT, "big");
	CHECK(big != 0);
	test_dir_handles(s, big);
	test_forget_storm(s, big);
	test_forget_pinned(s, big);
	test_waiting_only_setlkw(s);
	fuse_server_destroy(s);
	test_fd_budget();
	test_table_memory();

	big_dir_fill(false);
	CHECK_EQ_INT(rmdir(host_path("big")), 0);
	harness_teardown();
	return CHECK_DONE();
}
