// SPDX-License-Identifier: Apache-2.0
/*
 * hostile: a guest that tries to get out of its share and to wear the VMM
 * down, run by tests/boot/hostile-guest.sh in a microVM whose root the script
 * prepared (a procfs at /hostproc and at /proc, a sysfs at /hostsys, /bigdir,
 * and the file "secret" beside the root on the host), in five groups: the
 * pseudo filesystems in the share (and the share's /proc uncovered under
 * the guest's own), walks out of the root (.., symlinks, a symlink swapped
 * in during lookups), thousands of directory handles, a flood of small
 * files, and a console flood the host does not read for a while, during
 * which the share must go on answering. Output is TAP-like:
 * one "ok N name" or "not ok N name: why" line per check, then
 * "hostile: P/T passed". Exit status 0 only when every check passed.
 *
 *   hostile HOSTDIR   (the host's path of the directory holding the root)
 *
 * Talks to the script through names in the root (the script polls for them):
 *   /.dirs-before, /.dirs-held: answered with /.dirs-before-done and
 *     /.dirs-held-done once the host read the VMM's memory use;
 *   /.flood-started: the host leaves the console's pipe undrained for
 *     HOST_READER_DELAY_S and, a second in, writes /host-during-flood.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Each group's work is bounded (seconds; the directory handles take two
 * minutes in the test host, where a request costs ~10 ms): a group still
 * running after this long is stuck, and says so before it ends. */
#define GROUP_DEADLINE_S 300
#define RACE_S 3
#define DIR_HANDLES 5000
#define DIR_OPENERS 8
/* handles closed again before talking to the host: room for its fds */
#define DIR_HEADROOM 32
#define HOST_ANSWER_S 120
#define FLOOD_S 3
#define FLOOD_WORKERS 4
/* The console flood: 64-byte lines, more than the guest's transmit queue
 * holds (256 buffers of at most 32 KiB in the VMM's queue) and the VMM
 * should buffer, so that the writer blocks. The host starts reading
 * HOST_READER_DELAY_S (hostile-guest.sh) after /.flood-started; the share
 * is probed for BACKED_UP_S of that. */
#define CONSOLE_FLOOD_BYTES (16 << 20)
#define FLOOD_LINE 64
#define BACKED_UP_S 12
#define PROBE_EVERY_MS 250
#define PROBE_MAX_MS 3000
#define HOST_FILE_DEADLINE_S 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Zeroed memory that forked children write and the parent reads. */
static void *shared_zeroed(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

/* A child that dies with this process: a stuck group must not leave it. */
static pid_t fork_child(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	MUST(pid);
	return pid;
}

/* What a VMM out of a resource may answer: an error, not a hang. */
static bool clean_refusal(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOSPC;
}

/* Such a refusal is retried for a while: right after many handles are
 * closed, their releases may still be on their way to the VMM (the guest
 * sends them without waiting). */
static int open_retrying(const char *path, int flags, mode_t mode)
{
	double end = now_s() + HOST_ANSWER_S;
	int fd;

	while ((fd = open(path, flags | O_CLOEXEC, mode)) < 0 && clean_refusal(errno) &&
	       now_s() < end)
		usleep(100 * 1000);
	return fd;
}

static DIR *open_dir(const char *path)
{
	int fd = open_retrying(path, O_RDONLY | O_DIRECTORY, 0);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);

	if (!dir && fd >= 0)
		close(fd);
	return dir;
}

static void create_file(const char *path)
{
	int fd = open_retrying(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	MUST(fd);
	if (fd >= 0)
		close(fd);
}

/* Entries of path other than . and .. (-errno when it cannot be listed),
 * the first of them named in seen. */
static int count_entries(const char *path, char *seen, size_t seen_size)
{
	DIR *dir = open_dir(path);
	struct dirent *d;
	size_t used = 0;
	int n = 0;

	seen[0] = '\0';
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (used < seen_size)
			used += snprintf(seen + used, seen_size - used, "%s ", d->d_name);
		n++;
	}
	closedir(dir);
	return n;
}

/* Listed afresh each time: a directory listing is never cached by the
 * guest, unlike a failed lookup may be. */
static bool root_has(const char *name)
{
	DIR *dir = open_dir("/");
	struct dirent *d;
	bool found = false;

	while (dir && !found && (d = readdir(dir)))
		found = !strcmp(d->d_name, name);
	if (dir)
		closedir(dir);
	return found;
}

/* Says /.NAME and waits for the host's /.NAME-done. */
static bool ask_host(const char *name)
{
	char path[64], answer[64];

	snprintf(path, sizeof(path), "/.%s", name);
	snprintf(answer, sizeof(answer), ".%s-done", name);
	create_file(path);
	for (double end = now_s() + HOST_ANSWER_S; now_s() < end; usleep(100 * 1000))
		if (root_has(answer))
			return true;
	return false;
}

/* ---- pseudo filesystems reached through the share ---- */

static void expect_empty(const char *name, const char *path)
{
	char seen[160];
	int n = count_entries(path, seen, sizeof(seen));

	if (n < 0)
		result(false, name, "cannot list %s: %s", path, strerror(-n));
	else
		result(n == 0, name, "%s lists %d entries: %.100s...", path, n, seen);
}

static void expect_open_refused(const char *name, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	result(fd < 0, name, "open(%s) succeeded", path);
}

static void pseudo_filesystems(const char *hostdir)
{
	struct statfs sf = { 0 };
	bool bound;
	int fd;

	(void)hostdir;
	expect_empty("/hostproc (a host procfs in the share) looks empty", "/hostproc");
	expect_open_refused("/hostproc/self/mem (the VMM's memory) cannot be opened for writing",
			    "/hostproc/self/mem", O_RDWR);
	expect_open_refused("/hostproc/1/environ cannot be opened for reading",
			    "/hostproc/1/environ", O_RDONLY);
	expect_open_refused("/hostproc/1/environ cannot be opened for writing",
			    "/hostproc/1/environ", O_WRONLY);
	expect_open_refused("/hostproc/sys/kernel/hostname cannot be opened for writing",
			    "/hostproc/sys/kernel/hostname", O_WRONLY);
	fd = open("/hostproc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	ssize_t written = fd < 0 ? -1 : write(fd, "x", 1);
	if (fd >= 0)
		close(fd);
	result(written < 0, "writing x to /hostproc/sys/kernel/hostname fails",
	       "the write returned %zd: the host's hostname may now be x", written);
	expect_empty("/hostsys (a host sysfs in the share) looks empty", "/hostsys");

	/* crun's case: the share's /proc is hidden under the init's own, and a
	 * bind mount of / (without its submounts) uncovers it. */
	result(statfs("/proc", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC,
	       "the guest's /proc is its own procfs", "statfs(/proc): type %#lx, errno %s",
	       (unsigned long)sf.f_type, errname(errno));
	MUST(mkdir("/m", 0755) && errno != EEXIST ? -1 : 0);
	bound = mount("/", "/m", NULL, MS_BIND, NULL) == 0;
	result(bound, "mount --bind / /m", "%s", strerror(errno));
	if (!bound)
		return;
	expect_empty("/m/proc (the share's /proc, uncovered) looks empty", "/m/proc");
	MUST(umount2("/m", MNT_DETACH));
}

/* ---- walking out: .., symlinks, a symlink swapped in during lookups ---- */

/* The root holds no "secret": opening one through any of these paths
 * would read the host's file beside the root. */
static void expect_no_secret(const char *name, const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	result(fd < 0, name, "%s opened, it reads \"%s\"", path, buf);
}

/* What the symlink-swap race saw, shared with its swapping child. */
struct race {
	unsigned long swaps, opens, inside, outside;
	char outside_sample[64];
};

/* Reads path (relative to dir) and sorts it: the inside file, nothing, or
 * something else, which can only come from outside the root. */
static void race_open(struct race *r, int dir, const char *path)
{
	char buf[64];
	int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	r->opens++;
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (!strcmp(buf, "inside\n")) {
		r->inside++;
	} else if (!r->outside++) {
		snprintf(r->outside_sample, sizeof(r->outside_sample), "%s", buf);
	}
}

static void symlink_swap_race(const char *hostdir)
{
	struct race *r = shared_zeroed(sizeof(*r));
	double end = now_s() + RACE_S;
	int status = -1, held;
	pid_t swapper;

	MUST(mkdir("/race", 0755));
	MUST(mkdir("/race/d", 0755));
	int fd = open("/race/d/secret", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	MUST(fd);
	MUST(write(fd, "inside\n", 7));
	close(fd);
	/* Resolved on the host, either would reach HOSTDIR/secret. */
	MUST(symlink(hostdir, "/race/abs"));
	MUST(symlink("../..", "/race/rel"));
	held = open("/race/d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	MUST(held);

	/* /race/d is the directory, then each symlink in turn, then the
	 * directory again, as fast as the server renames. */
	swapper = fork_child();
	if (swapper == 0) {
		for (unsigned long i = 0; now_s() < end || i % 4; i++) {
			const char *link = i & 2 ? "/race/rel" : "/race/abs";

			if (renameat2(AT_FDCWD, "/race/d", AT_FDCWD, link, RENAME_EXCHANGE))
				_exit(1);
			r->swaps++;
		}
		_exit(0);
	}
	while (now_s() < end) {
		race_open(r, AT_FDCWD, "/race/d/secret");
		/* a server that finds a node by its path would follow the swap */
		race_open(r, held, "secret");
	}
	if (swapper > 0)
		waitpid(swapper, &status, 0);
	close(held);
	result(r->outside == 0, "symlink-swap race: nothing outside the root read",
	       "%lu of %lu opens read something else than the inside file, first \"%s\"",
	       r->outside, r->opens, r->outside_sample);
	result(status == 0 && r->swaps >= 4 && r->inside > 0, "symlink-swap race: it raced",
	       "swapper status %#x after %lu swaps; %lu of %lu opens read the inside file",
	       status, r->swaps, r->inside, r->opens);
	printf("# %lu swaps, %lu opens, %lu read the inside file\n", r->swaps, r->opens, r->inside);
	munmap(r, sizeof(*r));
}

static void walks_out(const char *hostdir)
{
	char outside[PATH_MAX], cwd[PATH_MAX];
	struct stat root, up;

	result(stat("/", &root) == 0 && stat("/..", &up) == 0 && root.st_ino == up.st_ino &&
		       root.st_dev == up.st_dev,
	       "/.. is / itself", "stat: %s", strerror(errno));
	expect_no_secret("/../secret cannot be opened", "/../secret");
	expect_no_secret("/hostproc/../../secret cannot be opened", "/hostproc/../../secret");
	MUST(chdir("/"));
	MUST(chdir(".."));
	result(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/"), "cd .. from / stays at /",
	       "getcwd: %s", cwd);
	expect_no_secret("secret after cd .. from / cannot be opened", "secret");
	snprintf(outside, sizeof(outside), "%s/secret", hostdir);
	MUST(symlink("../secret", "/rel-link"));
	MUST(symlink(outside, "/abs-link"));
	expect_no_secret("a relative symlink to ../secret leads nowhere", "/rel-link");
	expect_no_secret("an absolute symlink to the host's path leads nowhere", "/abs-link");
	symlink_swap_race(hostdir);
}

/* ---- thousands of directory handles ---- */

/* One of the threads that open the handles: a request's round trip costs
 * milliseconds in the test host, so several are kept in flight. */
struct opener {
	pthread_t thread;
	int fds[DIR_HANDLES / DIR_OPENERS];
	int n, refused;
};

/* Each handle read once from its start: all a server that snapshots
 * listings needs to keep a whole listing per handle. */
static void *open_handles(void *arg)
{
	struct opener *o = arg;
	char buf[4096];

	while (o->n < DIR_HANDLES / DIR_OPENERS) {
		int fd = open("/bigdir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			o->refused = errno;
			break;
		}
		o->fds[o->n++] = fd;
		if (syscall(SYS_getdents64, fd, buf, sizeof(buf)) < 0) {
			o->refused = errno;
			break;
		}
	}
	return NULL;
}

static void directory_handles(const char *hostdir)
{
	struct rlimit rl = { DIR_HANDLES + 64, DIR_HANDLES + 64 };
	static struct opener openers[DIR_OPENERS];
	int held = 0, refused = 0, closed = 0;
	char seen[64];
	double start;

	(void)hostdir;
	MUST(setrlimit(RLIMIT_NOFILE, &rl));
	MUST(count_entries("/bigdir", seen, sizeof(seen)) > 0 ? 0 : -1);
	result(ask_host("dirs-before"), "the host answered before the handles were opened",
	       "no /.dirs-before-done after %d s", HOST_ANSWER_S);
	start = now_s();
	for (int i = 0; i < DIR_OPENERS; i++)
		MUST(-pthread_create(&openers[i].thread, NULL, open_handles, &openers[i]));
	for (int i = 0; i < DIR_OPENERS; i++) {
		struct opener *o = &openers[i];

		pthread_join(o->thread, NULL);
		held += o->n;
		/* a refusal that is not clean is the one to tell */
		if (o->refused && (!refused || !clean_refusal(o->refused)))
			refused = o->refused;
	}
	printf("# %d handles opened and read in %.1f s by %d threads, then %s\n", held,
	       now_s() - start, DIR_OPENERS, errname(refused));
	result(refused == 0 || clean_refusal(refused),
	       "thousands of directory handles: each opened and read, or cleanly refused",
	       "after %d handles: %s", held, errname(refused));
	/* how many is the VMM's to decide (its fd budget); some must stay held */
	result(held > DIR_HEADROOM, "thousands of directory handles: more than a few opened",
	       "only %d", held);
	for (int i = 0; closed < DIR_HEADROOM && held - closed > 0; i = (i + 1) % DIR_OPENERS)
		if (openers[i].n > 0) {
			close(openers[i].fds[--openers[i].n]);
			closed++;
		}
	result(ask_host("dirs-held"), "the host answered while the handles were held",
	       "no /.dirs-held-done after %d s", HOST_ANSWER_S);
	for (int i = 0; i < DIR_OPENERS; i++)
		while (openers[i].n > 0)
			close(openers[i].fds[--openers[i].n]);
	result(count_entries("/bigdir", seen, sizeof(seen)) > 0,
	       "after they are closed, /bigdir lists again", "%s", strerror(errno));
}

/* ---- many small files, created and removed quickly ---- */

struct flood_worker {
	unsigned long files, refused;
	int unexpected;
};

static void flood_work(struct flood_worker *w, int id, double end)
{
	char path[64];

	for (unsigned long i = 0; now_s() < end; i++) {
		snprintf(path, sizeof(path), "/flood/w%d-%lu", id, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0) {
			w->unexpected = clean_refusal(errno) ? 0 : errno;
			if (w->unexpected)
				return;
			w->refused++;
			continue;
		}
		errno = 0; /* a short write sets none */
		if (write(fd, "sixteen bytes..\n", 16) != 16 || close(fd) || unlink(path)) {
			w->unexpected = errno ?: EIO;
			return;
		}
		w->files++;
	}
}

static void share_flood(const char *hostdir)
{
	struct flood_worker *w = shared_zeroed(FLOOD_WORKERS * sizeof(*w));
	double end = now_s() + FLOOD_S;
	unsigned long files = 0, refused = 0;
	pid_t pids[FLOOD_WORKERS];
	int unexpected = 0;
	char seen[64];

	(void)hostdir;
	MUST(mkdir("/flood", 0755));
	for (int i = 0; i < FLOOD_WORKERS; i++) {
		pids[i] = fork_child();
		if (pids[i] == 0) {
			flood_work(&w[i], i, end);
			_exit(0);
		}
	}
	for (int i = 0; i < FLOOD_WORKERS; i++) {
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
		files += w[i].files;
		refused += w[i].refused;
		unexpected = unexpected ?: w[i].unexpected;
	}
	printf("# %lu files created and removed by %d processes in %d s, %lu cleanly refused\n",
	       files, FLOOD_WORKERS, FLOOD_S, refused);
	result(!unexpected && files > 0, "share flood: no failure but clean refusals",
	       "a worker stopped on %s after %lu files in all", errname(unexpected), files);
	result(count_entries("/flood", seen, sizeof(seen)) == 0 && rmdir("/flood") == 0,
	       "share flood: nothing left behind", "/flood holds %s(%s)", seen, strerror(errno));
	munmap(w, FLOOD_WORKERS * sizeof(*w));
}

/* ---- the console backed up: the share must go on answering ---- */

/* Writes the flood, then says when it got through. */
static void console_flood_write(double *ended)
{
	static char chunk[64 << 10];
	const size_t lines = sizeof(chunk) / FLOOD_LINE;
	unsigned long line = 0;

	memset(chunk, '.', sizeof(chunk));
	for (size_t sent = 0; sent < CONSOLE_FLOOD_BYTES; sent += sizeof(chunk)) {
		for (size_t i = 0; i < lines; i++, line++) {
			char *l = chunk + i * FLOOD_LINE;

			l[snprintf(l, FLOOD_LINE, "flood %08lu ", line)] = '.';
			l[FLOOD_LINE - 1] = '\n';
		}
		for (size_t off = 0; off < sizeof(chunk);) {
			ssize_t n = write(STDOUT_FILENO, chunk + off, sizeof(chunk) - off);

			if (n < 0 && errno != EINTR)
				_exit(1);
			off += n > 0 ? n : 0;
		}
	}
	*ended = now_s();
	_exit(0);
}

static void console_flood(const char *hostdir)
{
	double *writer_ended = shared_zeroed(sizeof(*writer_ended));
	double start, slowest = 0, seen_after = -1;
	int status = -1, probe_errno = 0;
	unsigned long probes = 0;
	pid_t writer;

	(void)hostdir;
	create_file("/.flood-started");
	start = now_s();
	writer = fork_child();
	if (writer == 0)
		console_flood_write(writer_ended);
	/* Each probe creates, unlinks and lists: requests the guest cannot
	 * answer from its caches. Nothing is printed meanwhile. */
	while (now_s() < start + BACKED_UP_S) {
		char path[64];
		double t0 = now_s();
		bool seen;

		snprintf(path, sizeof(path), "/.probe-%lu", probes++);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || close(fd) || unlink(path))
			probe_errno = probe_errno ?: errno;
		seen = root_has("host-during-flood");
		if (now_s() - t0 > slowest)
			slowest = now_s() - t0;
		if (seen_after < 0 && seen)
			seen_after = now_s() - start;
		usleep(PROBE_EVERY_MS * 1000);
	}
	if (writer > 0)
		waitpid(writer, &status, 0);
	printf("# %lu probes, the slowest %.0f ms; the host's file seen after %.1f s;"
	       " the flood got through after %.1f s\n",
	       probes, slowest * 1000, seen_after, *writer_ended - start);
	result(status == 0, "console flood: 16 MiB written", "writer status %#x", status);
	/* the premise of the next two: the host had not read the flood */
	result(status == 0 && *writer_ended - start >= BACKED_UP_S,
	       "console flood: the console was backed up throughout",
	       "the flood got through after %.1f s", *writer_ended - start);
	result(slowest * 1000 <= PROBE_MAX_MS && !probe_errno,
	       "console backed up: each probe of the share answered within 3 s",
	       "the slowest took %.1f s; first error %s", slowest, errname(probe_errno));
	result(seen_after >= 0 && seen_after <= HOST_FILE_DEADLINE_S,
	       "console backed up: the host's new file seen within 10 s",
	       seen_after < 0 ? "never seen" : "seen after %.1f s", seen_after);
	munmap(writer_ended, sizeof(*writer_ended));
}

static const struct group {
	const char *name;
	void (*run)(const char *hostdir);
} groups[] = {
	{ "pseudo-filesystems", pseudo_filesystems },
	{ "walks-out", walks_out },
	{ "directory-handles", directory_handles },
	{ "share-flood", share_flood },
	{ "console-flood", console_flood },
};

/* Ends this process, saying so, when a group outlives GROUP_DEADLINE_S. */
static pid_t watchdog(const char *group)
{
	pid_t parent = getpid(), pid = fork_child();

	if (pid == 0) {
		sleep(GROUP_DEADLINE_S);
		printf("not ok - %s: still running after %d s\n", group, GROUP_DEADLINE_S);
		fflush(stdout);
		kill(parent, SIGKILL);
		_exit(1);
	}
	return pid;
}

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: hostile HOSTDIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		double start = now_s();
		pid_t dog;

		printf("# %s\n", groups[i].name);
		dog = watchdog(groups[i].name);
		groups[i].run(argv[1]);
		if (dog > 0) {
			kill(dog, SIGKILL);
			waitpid(dog, NULL, 0);
		}
		/* where the time goes: guests in the test host are slow */
		printf("# %s took %.1f s\n", groups[i].name, now_s() - start);
	}
	printf("hostile: %d/%d passed\n", n_pass, n_run);
	return n_pass == n_run ? 0 : 1;
}
