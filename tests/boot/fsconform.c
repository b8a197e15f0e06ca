// SPDX-License-Identifier: Apache-2.0
/*
 * fsconform: POSIX filesystem conformance checks run inside a guest on the
 * virtio-fs root. Output is TAP-like: one "ok N name", "not ok N name: why"
 * or "skip N name: why" line per check, then "fsconform: P/T passed".
 * Exit status 0 only when every check passed.
 *
 *   fsconform [DIR]   (default: a fresh directory under /)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#define FUSE_SUPER_MAGIC 0x65735546

#define GiB (1LL << 30)
#define NOBODY 65534

static int n_skip;

/* Checks: the expression is evaluated once; failures say what was seen. */
#define T_TRUE(name, cond)                                                      \
	do {                                                                    \
		int e_ = errno;                                                 \
		result((cond), name, "%s is false (errno %s)", #cond, strerrorname_np(e_) ?: "0"); \
	} while (0)
#define T_SYS(name, call)                                                       \
	do {                                                                    \
		long r_ = (long)(call);                                         \
		result(r_ >= 0, name, "%s: %s", #call, strerror(errno));        \
	} while (0)
#define T_ERR(name, call, want)                                                 \
	do {                                                                    \
		errno = 0;                                                      \
		long r_ = (long)(call);                                         \
		int e_ = errno;                                                 \
		result(r_ == -1 && e_ == (want), name, "%s returned %ld, errno %s, want %s", \
		       #call, r_, errname(r_ == -1 ? e_ : 0), errname(want));   \
	} while (0)
#define T_EQ(name, a, b)                                                        \
	do {                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);             \
		result(a_ == b_, name, "%s is %lld (%#llo), want %lld (%#llo)", #a, a_, a_, b_, b_); \
	} while (0)
#define SKIP(name, why)                                                         \
	do {                                                                    \
		n_run++;                                                        \
		n_skip++;                                                       \
		printf("skip %d %s: %s\n", n_run, name, why);                   \
	} while (0)

static void put(const char *path, mode_t mode, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	MUST(fd);
	if (fd < 0)
		return;
	if (data)
		MUST(write(fd, data, strlen(data)));
	MUST(fchmod(fd, mode));
	close(fd);
}

/* The whole content of a file ("" when unreadable), for comparisons. */
static const char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static struct stat st_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

#define MODE(path) (st_of(path).st_mode & 07777)
#define INO(path) (st_of(path).st_ino)
#define NLINK(path) (st_of(path).st_nlink)

/* ---- permissions and ownership ---- */

enum uop {
	U_OPEN_R, U_OPEN_W, U_CREATE, U_UNLINK, U_CHMOD, U_CHOWN_ROOT, U_ACCESS_R,
	U_ACCESS_W, U_EXEC, U_UTIME_NOW, U_UTIME_SET, U_MKDIR, U_OWNED_CREATE,
	U_CHMOD_THEN_WRITE, U_RENAME,
};

/* What an unprivileged process (nobody:nobody) may and may not do. */
static const struct user_case {
	const char *name;
	enum uop op;
	const char *path;
	int want;
} user_cases[] = {
	{ "nobody: read 0600 root file denied", U_OPEN_R, "u/root600", EACCES },
	{ "nobody: write 0644 root file denied", U_OPEN_W, "u/root644", EACCES },
	{ "nobody: read 0644 root file allowed", U_OPEN_R, "u/root644", 0 },
	{ "nobody: create in 0755 root dir denied", U_CREATE, "u/rootdir/new", EACCES },
	{ "nobody: unlink in 0755 root dir denied", U_UNLINK, "u/rootdir/victim", EACCES },
	{ "nobody: rename in 0755 root dir denied", U_RENAME, "u/rootdir/victim", EACCES },
	{ "nobody: mkdir in 0755 root dir denied", U_MKDIR, "u/rootdir/sub", EACCES },
	{ "nobody: chmod of root's file EPERM", U_CHMOD, "u/root644", EPERM },
	{ "nobody: chown own file to root EPERM", U_CHOWN_ROOT, "u/mine", EPERM },
	{ "nobody: access(R_OK) 0600 root file", U_ACCESS_R, "u/root600", EACCES },
	{ "nobody: access(W_OK) 0644 root file", U_ACCESS_W, "u/root644", EACCES },
	{ "nobody: access(R_OK) 0644 root file", U_ACCESS_R, "u/root644", 0 },
	{ "nobody: exec 0700 root file denied", U_EXEC, "u/rootexec", EACCES },
	{ "nobody: owner write to 0400 denied", U_OPEN_W, "u/mine", EACCES },
	{ "nobody: owner chmod then write", U_CHMOD_THEN_WRITE, "u/mine", 0 },
	{ "nobody: group class read 0040", U_OPEN_R, "u/grp", 0 },
	{ "nobody: group class denies 0604", U_OPEN_R, "u/other", EACCES },
	{ "nobody: unlink root file in sticky dir", U_UNLINK, "u/sticky/rootfile", EPERM },
	{ "nobody: create in own dir", U_CREATE, "u/nobodydir/a", 0 },
	{ "nobody: created file owned by caller", U_OWNED_CREATE, "u/nobodydir/b", 0 },
	{ "nobody: unlink own file in sticky dir", U_UNLINK, "u/sticky/nobodyfile", 0 },
	{ "nobody: utimensat(NOW) with write access", U_UTIME_NOW, "u/times", 0 },
	{ "nobody: utimensat(times) not owner EPERM", U_UTIME_SET, "u/times", EPERM },
};

static int user_op(const struct user_case *c)
{
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	char *argv[] = { (char *)c->path, NULL };
	struct stat st;
	int fd;

	switch (c->op) {
	case U_OPEN_R:
	case U_OPEN_W:
		fd = open(c->path, c->op == U_OPEN_R ? O_RDONLY : O_WRONLY);
		return fd < 0 ? -1 : close(fd);
	case U_CREATE:
		fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		return fd < 0 ? -1 : close(fd);
	case U_OWNED_CREATE:
		fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || fstat(fd, &st))
			return -1;
		close(fd);
		errno = EDOM;
		return st.st_uid == NOBODY && st.st_gid == NOBODY ? 0 : -1;
	case U_UNLINK:
		return unlink(c->path);
	case U_RENAME:
		return rename(c->path, "u/rootdir/renamed");
	case U_MKDIR:
		return mkdir(c->path, 0755);
	case U_CHMOD:
		return chmod(c->path, 0666);
	case U_CHOWN_ROOT:
		return chown(c->path, 0, 0);
	case U_ACCESS_R:
		return access(c->path, R_OK);
	case U_ACCESS_W:
		return access(c->path, W_OK);
	case U_EXEC:
		return execv(c->path, argv);
	case U_UTIME_NOW:
		return utimensat(AT_FDCWD, c->path, NULL, 0);
	case U_UTIME_SET:
		return utimensat(AT_FDCWD, c->path, ts, 0);
	case U_CHMOD_THEN_WRITE:
		if (chmod(c->path, 0600))
			return -1;
		fd = open(c->path, O_WRONLY);
		return fd < 0 ? -1 : close(fd);
	}
	errno = EINVAL;
	return -1;
}

/* One forked child runs every case as nobody and sends back their errnos. */
static void check_as_nobody(void)
{
	size_t n = sizeof(user_cases) / sizeof(user_cases[0]);
	int codes[sizeof(user_cases) / sizeof(user_cases[0])];
	int p[2], status;
	ssize_t got = -1;
	pid_t pid;

	MUST(pipe(p));
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		for (size_t i = 0; i < n; i++) {
			errno = 0;
			codes[i] = user_op(&user_cases[i]) ? (errno ?: EIO) : 0;
		}
		_exit(write(p[1], codes, sizeof(codes)) == sizeof(codes) ? 0 : 3);
	}
	close(p[1]);
	if (pid > 0)
		got = read(p[0], codes, sizeof(codes));
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	for (size_t i = 0; i < n; i++) {
		const struct user_case *c = &user_cases[i];

		if (got != (ssize_t)sizeof(codes))
			result(false, c->name, "the unprivileged child failed");
		else
			result(codes[i] == c->want, c->name, "got %s, want %s",
			       errname(codes[i]), errname(c->want));
	}
}

static void test_perms(void)
{
	struct stat st;

	umask(022);
	MUST(close(open("f", O_CREAT | O_WRONLY, 0666)));
	T_EQ("umask 022 applied on create", MODE("f"), 0644);
	umask(077);
	MUST(mkdir("d", 0777));
	T_EQ("umask 077 applied on mkdir", MODE("d"), 0700);
	MUST(mkfifo("p", 0666));
	T_EQ("umask 077 applied on mkfifo", MODE("p"), 0600);
	umask(022);
	T_SYS("chmod 0600", chmod("f", 0600));
	T_EQ("chmod 0600 seen by stat", MODE("f"), 0600);
	T_SYS("chmod 04755 as root", chmod("f", 04755));
	T_EQ("set-user-ID bit kept", MODE("f"), 04755);
	T_SYS("chmod 01777 on a directory", chmod("d", 01777));
	T_EQ("sticky bit kept", MODE("d"), 01777);
	T_SYS("chown 1000:2000 as root", chown("f", 1000, 2000));
	st = st_of("f");
	T_TRUE("chown sets uid and gid", st.st_uid == 1000 && st.st_gid == 2000);
	T_SYS("chown -1:-1", chown("f", -1, -1));
	st = st_of("f");
	T_TRUE("chown -1:-1 changes nothing", st.st_uid == 1000 && st.st_gid == 2000);
	T_SYS("chown uid only", chown("f", 3000, -1));
	st = st_of("f");
	T_TRUE("chown uid only keeps gid", st.st_uid == 3000 && st.st_gid == 2000);
	MUST(symlink("f", "l"));
	T_SYS("lchown a symlink", lchown("l", 4000, 4000));
	T_TRUE("lchown changes the link", st_of("l").st_uid == 4000);
	T_TRUE("lchown leaves the target", st_of("f").st_uid == 3000);
	T_SYS("fchown", fchownat(AT_FDCWD, "f", 0, 0, 0));
	T_SYS("access(R_OK|W_OK) as root on 0755", access("f", R_OK | W_OK));
	MUST(chmod("f", 0644));
	T_ERR("access(X_OK) as root on 0644", access("f", X_OK), EACCES);
	T_ERR("access on a missing file", access("missing", F_OK), ENOENT);
	MUST(chmod("f", 0700));
	T_SYS("access(X_OK) as root on 0700", access("f", X_OK));
	/* setgid directories pass their group and the bit on */
	MUST(mkdir("sg", 0755));
	MUST(chown("sg", 0, 1234));
	MUST(chmod("sg", 02775));
	MUST(close(open("sg/file", O_CREAT | O_WRONLY, 0644)));
	MUST(mkdir("sg/dir", 0755));
	T_EQ("file in setgid dir inherits its group", st_of("sg/file").st_gid, 1234);
	T_EQ("dir in setgid dir inherits its group", st_of("sg/dir").st_gid, 1234);
	T_TRUE("dir in setgid dir inherits the bit", MODE("sg/dir") & S_ISGID);

	/* the fixtures of the unprivileged cases */
	MUST(mkdir("u", 0755));
	put("u/root600", 0600, "secret");
	put("u/root644", 0644, "public");
	MUST(mkdir("u/rootdir", 0755));
	put("u/rootdir/victim", 0666, "x");
	put("u/rootexec", 0700, "#!/bin/sh\n");
	put("u/mine", 0400, "mine");
	MUST(chown("u/mine", NOBODY, NOBODY));
	put("u/grp", 0040, "group");
	MUST(chown("u/grp", 0, NOBODY));
	put("u/other", 0604, "other");
	MUST(chown("u/other", 0, NOBODY));
	MUST(mkdir("u/sticky", 0777));
	MUST(chmod("u/sticky", 01777));
	put("u/sticky/rootfile", 0666, "r");
	put("u/sticky/nobodyfile", 0644, "n");
	MUST(chown("u/sticky/nobodyfile", NOBODY, NOBODY));
	MUST(mkdir("u/nobodydir", 0755));
	MUST(chown("u/nobodydir", NOBODY, NOBODY));
	put("u/times", 0666, "t");
	check_as_nobody();
	T_EQ("denied unlink left the file", st_of("u/sticky/rootfile").st_nlink, 1);
	T_TRUE("denied create made nothing", access("u/rootdir/new", F_OK) && errno == ENOENT);
}

/* ---- times ---- */

static bool ts_eq(struct timespec a, long long sec, long nsec)
{
	return a.tv_sec == sec && a.tv_nsec == nsec;
}

static bool ts_after(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static bool ts_within(struct timespec a, struct timespec lo, struct timespec hi)
{
	return !ts_after(lo, a) && !ts_after(a, hi);
}

/* "Now" by the server's clock, the one UTIME_NOW uses: the mtime of a file
 * it just made. The guest's own clock is another machine's, and may stand
 * apart from it (seen: half a minute in a loaded test host). */
static struct timespec server_now(void)
{
	unlink("now");
	put("now", 0644, NULL);
	return st_of("now").st_mtim;
}

static void pause_tick(void)
{
	/* past the timestamp granularity of the host and guest clocks */
	usleep(20000);
}

static void test_times(void)
{
	struct timespec set[2] = { { 1000000000, 123456789 }, { 1200000000, 500000000 } };
	struct timespec omit_a[2] = { { 0, UTIME_OMIT }, { 1300000000, 7 } };
	struct timespec now_m[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	struct timespec start, end;
	struct stat before, st;
	int fd;

	put("t", 0644, "times");
	T_SYS("utimensat explicit times", utimensat(AT_FDCWD, "t", set, 0));
	st = st_of("t");
	T_TRUE("atime set with nanoseconds", ts_eq(st.st_atim, 1000000000, 123456789));
	T_TRUE("mtime set with nanoseconds", ts_eq(st.st_mtim, 1200000000, 500000000));
	T_SYS("utimensat UTIME_OMIT atime", utimensat(AT_FDCWD, "t", omit_a, 0));
	st = st_of("t");
	T_TRUE("UTIME_OMIT leaves atime", ts_eq(st.st_atim, 1000000000, 123456789));
	T_TRUE("mtime set beside UTIME_OMIT", ts_eq(st.st_mtim, 1300000000, 7));
	start = server_now();
	T_SYS("utimensat UTIME_NOW mtime", utimensat(AT_FDCWD, "t", now_m, 0));
	end = server_now();
	st = st_of("t");
	T_TRUE("UTIME_NOW sets mtime to now", ts_within(st.st_mtim, start, end));
	T_TRUE("UTIME_NOW leaves atime (OMIT)", ts_eq(st.st_atim, 1000000000, 123456789));
	start = server_now();
	T_SYS("utimensat NULL (both now)", utimensat(AT_FDCWD, "t", NULL, 0));
	end = server_now();
	st = st_of("t");
	T_TRUE("NULL times set atime to now", ts_within(st.st_atim, start, end));
	fd = open("t", O_RDWR);
	T_SYS("futimens", futimens(fd, set));
	T_TRUE("futimens sets mtime", ts_eq(st_of("t").st_mtim, 1200000000, 500000000));
	before = st_of("t");
	pause_tick();
	MUST(pwrite(fd, "x", 1, 0));
	MUST(fsync(fd));
	st = st_of("t");
	T_TRUE("write updates mtime", ts_after(st.st_mtim, before.st_mtim));
	T_TRUE("write updates ctime", ts_after(st.st_ctim, before.st_ctim));
	MUST(futimens(fd, set));
	before = st_of("t");
	pause_tick();
	MUST(ftruncate(fd, 2));
	st = st_of("t");
	T_TRUE("ftruncate updates mtime", ts_after(st.st_mtim, before.st_mtim));
	close(fd);
	MUST(utimensat(AT_FDCWD, "t", set, 0));
	before = st_of("t");
	pause_tick();
	MUST(chmod("t", 0600));
	st = st_of("t");
	T_TRUE("chmod updates ctime", ts_after(st.st_ctim, before.st_ctim));
	T_TRUE("chmod leaves mtime", ts_eq(st.st_mtim, 1200000000, 500000000));
	before = st;
	pause_tick();
	MUST(chown("t", 5, 5));
	T_TRUE("chown updates ctime", ts_after(st_of("t").st_ctim, before.st_ctim));
	MUST(mkdir("td", 0755));
	MUST(utimensat(AT_FDCWD, "td", set, 0));
	MUST(close(open("td/new", O_CREAT | O_WRONLY, 0644)));
	T_TRUE("create updates the dir's mtime", ts_after(st_of("td").st_mtim, set[1]));
	MUST(utimensat(AT_FDCWD, "td", set, 0));
	MUST(unlink("td/new"));
	T_TRUE("unlink updates the dir's mtime", ts_after(st_of("td").st_mtim, set[1]));
	MUST(symlink("t", "tl"));
	T_SYS("utimensat AT_SYMLINK_NOFOLLOW", utimensat(AT_FDCWD, "tl", set, AT_SYMLINK_NOFOLLOW));
	T_TRUE("symlink's own mtime set", ts_eq(st_of("tl").st_mtim, 1200000000, 500000000));
}

/* ---- links ---- */

static void test_links(void)
{
	char buf[64];
	struct stat st;
	ssize_t n;
	int fd;

	put("a", 0644, "hello");
	T_SYS("link", link("a", "b"));
	T_EQ("link count 2 after link", NLINK("a"), 2);
	T_EQ("hard links share the inode", INO("a"), INO("b"));
	fd = open("b", O_WRONLY | O_TRUNC);
	MUST(write(fd, "changed", 7));
	close(fd);
	T_TRUE("write via one link seen via the other", !strcmp(slurp("a"), "changed"));
	T_ERR("link onto an existing name", link("a", "b"), EEXIST);
	T_ERR("link from a missing file", link("nope", "c"), ENOENT);
	MUST(mkdir("dir", 0755));
	T_ERR("link to a directory", link("dir", "dirlink"), EPERM);
	T_SYS("unlink one link", unlink("a"));
	T_EQ("link count 1 after unlink", NLINK("b"), 1);
	T_ERR("unlinked name is gone", access("a", F_OK), ENOENT);
	T_ERR("unlink a directory", unlink("dir"), EISDIR);

	fd = open("b", O_RDWR);
	T_SYS("unlink while open", unlink("b"));
	T_TRUE("fstat of an unlinked open file", !fstat(fd, &st) && st.st_nlink == 0);
	T_EQ("write to an unlinked open file", pwrite(fd, "still", 5, 0), 5);
	n = pread(fd, buf, sizeof(buf), 0);
	T_TRUE("read from an unlinked open file", n == 7 && !memcmp(buf, "stilled", 7));
	T_ERR("unlinked file not in its dir", access("b", F_OK), ENOENT);
	close(fd);

	put("target", 0644, "tgt");
	T_SYS("symlink", symlink("target", "sl"));
	n = readlink("sl", buf, sizeof(buf));
	T_TRUE("readlink returns the target", n == 6 && !memcmp(buf, "target", 6));
	st = st_of("sl");
	T_TRUE("lstat sees a symlink", S_ISLNK(st.st_mode));
	T_EQ("symlink size is its target length", st.st_size, 6);
	T_TRUE("stat follows the symlink", !stat("sl", &st) && S_ISREG(st.st_mode) && st.st_size == 3);
	T_TRUE("open follows the symlink", !strcmp(slurp("sl"), "tgt"));
	T_SYS("dangling symlink", symlink("nowhere", "dangling"));
	T_ERR("stat of a dangling symlink", stat("dangling", &st), ENOENT);
	T_SYS("lstat of a dangling symlink", lstat("dangling", &st));
	T_ERR("symlink onto an existing name", symlink("x", "sl"), EEXIST);
	T_ERR("readlink of a regular file", readlink("target", buf, sizeof(buf)), EINVAL);
	MUST(symlink("loop2", "loop1"));
	MUST(symlink("loop1", "loop2"));
	T_ERR("symlink loop", open("loop1", O_RDONLY), ELOOP);
	T_SYS("linkat of a symlink itself", linkat(AT_FDCWD, "sl", AT_FDCWD, "sl2", 0));
	T_TRUE("hard link to a symlink is a symlink", S_ISLNK(st_of("sl2").st_mode));
	T_SYS("linkat AT_SYMLINK_FOLLOW", linkat(AT_FDCWD, "sl", AT_FDCWD, "tl", AT_SYMLINK_FOLLOW));
	T_EQ("AT_SYMLINK_FOLLOW links the target", INO("tl"), INO("target"));
	T_EQ("new dir has link count 2", NLINK("dir"), 2);
	MUST(mkdir("dir/sub", 0755));
	T_EQ("subdir raises the link count", NLINK("dir"), 3);
	MUST(rmdir("dir/sub"));
	T_EQ("rmdir lowers the link count", NLINK("dir"), 2);
}

/* ---- rename ---- */

static void test_rename(void)
{
	ino_t ino;
	int fd;

	put("a", 0644, "A");
	put("b", 0644, "B");
	ino = INO("a");
	T_SYS("rename over an existing file", rename("a", "b"));
	T_TRUE("renamed content replaces the old", !strcmp(slurp("b"), "A"));
	T_EQ("rename keeps the inode", INO("b"), ino);
	T_ERR("old name gone after rename", access("a", F_OK), ENOENT);
	MUST(mkdir("empty", 0755));
	MUST(mkdir("full", 0755));
	put("full/x", 0644, "x");
	MUST(mkdir("d", 0755));
	T_ERR("file over a directory", rename("b", "empty"), EISDIR);
	T_ERR("directory over a file", rename("d", "b"), ENOTDIR);
	T_ERR("dir over a non-empty dir", rename("d", "full"), ENOTEMPTY);
	T_SYS("dir over an empty dir", rename("d", "empty"));
	T_ERR("replaced empty dir's old name gone", access("d", F_OK), ENOENT);
	T_ERR("dir into its own subdir", rename("full", "full/x2"), EINVAL);
	MUST(mkdir("full/sub", 0755));
	T_ERR("dir into its own grandchild", rename("full", "full/sub/in"), EINVAL);
	MUST(link("b", "b2"));
	T_SYS("rename onto another link of itself", rename("b", "b2"));
	T_TRUE("both links stay", !access("b", F_OK) && !access("b2", F_OK));
	T_SYS("rename across directories", rename("full/sub", "empty/moved"));
	T_EQ("source parent link count drops", NLINK("full"), 2);
	T_EQ("target parent link count rises", NLINK("empty"), 3);
	T_EQ("moved dir's .. is its new parent", INO("empty/moved/.."), INO("empty"));
	fd = open("b", O_RDONLY);
	MUST(rename("b", "c"));
	T_TRUE("an open fd survives rename", fd >= 0 && pread(fd, (char[2]){ 0 }, 1, 0) == 1);
	close(fd);

	put("n1", 0644, "one");
	put("n2", 0644, "two");
	T_ERR("RENAME_NOREPLACE onto existing",
	      renameat2(AT_FDCWD, "n1", AT_FDCWD, "n2", RENAME_NOREPLACE), EEXIST);
	T_TRUE("RENAME_NOREPLACE left both", !strcmp(slurp("n2"), "two"));
	T_SYS("RENAME_NOREPLACE to a new name",
	      renameat2(AT_FDCWD, "n1", AT_FDCWD, "n3", RENAME_NOREPLACE));
	T_SYS("RENAME_EXCHANGE two files", renameat2(AT_FDCWD, "n2", AT_FDCWD, "n3", RENAME_EXCHANGE));
	T_TRUE("RENAME_EXCHANGE swapped contents",
	       !strcmp(slurp("n2"), "one") && !strcmp(slurp("n3"), "two"));
	T_SYS("RENAME_EXCHANGE file and dir",
	      renameat2(AT_FDCWD, "n2", AT_FDCWD, "empty", RENAME_EXCHANGE));
	T_TRUE("exchanged file and dir", S_ISDIR(st_of("n2").st_mode) && S_ISREG(st_of("empty").st_mode));
	T_ERR("RENAME_EXCHANGE with a missing name",
	      renameat2(AT_FDCWD, "n3", AT_FDCWD, "missing", RENAME_EXCHANGE), ENOENT);
	T_ERR("RENAME_NOREPLACE|RENAME_EXCHANGE",
	      renameat2(AT_FDCWD, "n3", AT_FDCWD, "n2", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

/* ---- open flags ---- */

static void test_open(void)
{
	char buf[32];
	char longname[NAME_MAX + 2];
	int fd;

	fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644);
	T_SYS("O_CREAT|O_EXCL on a new name", fd);
	MUST(write(fd, "0123456789", 10));
	close(fd);
	T_ERR("O_CREAT|O_EXCL on an existing file", open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	MUST(symlink("nothere", "dl"));
	T_ERR("O_CREAT|O_EXCL on a dangling symlink", open("dl", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	T_ERR("O_CREAT|O_EXCL left the link dangling", access("nothere", F_OK), ENOENT);
	fd = open("f", O_CREAT | O_WRONLY, 0600);
	T_SYS("O_CREAT on an existing file", fd);
	close(fd);
	T_EQ("O_CREAT on existing keeps size and mode", st_of("f").st_size * 01000 + MODE("f"),
	     10 * 01000 + 0644);
	fd = open("f", O_WRONLY | O_APPEND);
	MUST(lseek(fd, 0, SEEK_SET));
	MUST(write(fd, "AB", 2));
	close(fd);
	T_TRUE("O_APPEND writes at the end", !strcmp(slurp("f"), "0123456789AB"));
	fd = open("f", O_RDWR | O_TRUNC);
	T_SYS("O_TRUNC", fd);
	T_EQ("O_TRUNC empties the file", st_of("f").st_size, 0);
	T_EQ("read of a truncated file", read(fd, buf, sizeof(buf)), 0);
	T_ERR("write on an O_RDONLY fd", write(fd = (close(fd), open("f", O_RDONLY)), "x", 1), EBADF);
	close(fd);
	T_ERR("O_DIRECTORY on a file", open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	MUST(symlink("f", "sl"));
	T_ERR("O_NOFOLLOW on a symlink", open("sl", O_RDONLY | O_NOFOLLOW), ELOOP);
	fd = open("sl", O_PATH | O_NOFOLLOW);
	T_SYS("O_PATH|O_NOFOLLOW on a symlink", fd);
	close(fd);
	MUST(mkdir("d", 0755));
	T_ERR("O_WRONLY on a directory", open("d", O_WRONLY), EISDIR);
	fd = open("d", O_RDONLY | O_DIRECTORY);
	T_SYS("O_DIRECTORY on a directory", fd);
	close(fd);
	T_ERR("open of a missing file", open("missing", O_RDONLY), ENOENT);
	T_ERR("a file as a path component", open("f/x", O_RDONLY), ENOTDIR);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	T_ERR("name longer than NAME_MAX", open(longname, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	longname[NAME_MAX] = 0;
	fd = open(longname, O_CREAT | O_WRONLY, 0644);
	T_SYS("name of exactly NAME_MAX", fd);
	close(fd);
	fd = open("f", O_RDWR);
	T_EQ("pwrite", pwrite(fd, "hello world", 11, 0), 11);
	T_TRUE("pread", pread(fd, buf, 5, 6) == 5 && !memcmp(buf, "world", 5));
	T_SYS("fsync", fsync(fd));
	T_SYS("fdatasync", fdatasync(fd));
	close(fd);
}

/* ---- large and sparse files ---- */

static void test_large(void)
{
	const off_t high = 5 * GiB + 123;
	char buf[16];
	struct stat st;
	off_t pos;
	int fd = open("big", O_RDWR | O_CREAT, 0644);

	T_EQ("pwrite beyond 4 GiB", pwrite(fd, "HIGH", 4, high), 4);
	MUST(fstat(fd, &st));
	T_EQ("size after a high pwrite", st.st_size, high + 4);
	T_TRUE("file is sparse", st.st_blocks < 2048);
	T_TRUE("pread beyond 4 GiB", pread(fd, buf, 4, high) == 4 && !memcmp(buf, "HIGH", 4));
	T_TRUE("hole reads as zeros", pread(fd, buf, 8, 3 * GiB) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
	pos = lseek(fd, 0, SEEK_DATA);
	T_TRUE("SEEK_DATA finds the high data", pos > 4 * GiB && pos <= high);
	T_EQ("SEEK_HOLE at the start", lseek(fd, 0, SEEK_HOLE), 0);
	T_EQ("SEEK_HOLE after the data is EOF", lseek(fd, high, SEEK_HOLE), high + 4);
	T_ERR("SEEK_DATA past EOF", lseek(fd, high + 100, SEEK_DATA), ENXIO);
	T_EQ("lseek SEEK_END", lseek(fd, 0, SEEK_END), high + 4);
	T_EQ("write at a 64-bit offset", (lseek(fd, 6 * GiB, SEEK_SET), write(fd, "W", 1)), 1);
	T_EQ("size after it", (fstat(fd, &st), st.st_size), 6 * GiB + 1);
	T_SYS("ftruncate down", ftruncate(fd, 4 * GiB + 1));
	T_EQ("size after ftruncate down", (fstat(fd, &st), st.st_size), 4 * GiB + 1);
	T_EQ("read past the new EOF", pread(fd, buf, 4, high), 0);
	T_SYS("ftruncate up", ftruncate(fd, 8 * GiB));
	T_EQ("size after ftruncate up", (fstat(fd, &st), st.st_size), 8 * GiB);
	T_TRUE("extension reads as zeros", pread(fd, buf, 4, 7 * GiB) == 4 && !memcmp(buf, "\0\0\0\0", 4));
	T_SYS("truncate by path", truncate("big", 1));
	T_EQ("size after truncate by path", (fstat(fd, &st), st.st_size), 1);
	close(fd);

	fd = open("alloc", O_RDWR | O_CREAT, 0644);
	T_SYS("fallocate 1 MiB", fallocate(fd, 0, 0, 1 << 20));
	MUST(fstat(fd, &st));
	T_TRUE("fallocate sets size and blocks", st.st_size == 1 << 20 && st.st_blocks >= 2048);
	T_SYS("fallocate KEEP_SIZE past EOF", fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
	T_EQ("KEEP_SIZE keeps the size", (fstat(fd, &st), st.st_size), 1 << 20);
	MUST(pwrite(fd, "DATA", 4, 8192));
	T_SYS("fallocate PUNCH_HOLE", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 65536));
	T_TRUE("punched range reads as zeros", pread(fd, buf, 4, 8192) == 4 && !memcmp(buf, "\0\0\0\0", 4));
	T_EQ("punch keeps the size", (fstat(fd, &st), st.st_size), 1 << 20);
	close(fd);
}

/* ---- directories ---- */

/* Enough entries, with names long enough, that listing them takes several
 * READDIR(PLUS) requests of the 32 KiB glibc asks for (about 140 plain or 90
 * "plus" entries each): the continuation offsets are what is checked. More
 * entries would only cost time (each create and unlink is a few requests). */
#define NENTRIES 300
#define ENTRY_NAME_LEN 200

/* The name of entry i: "entry-<i>-" padded with 'x' to ENTRY_NAME_LEN bytes. */
static void entry_name(int i, char name[ENTRY_NAME_LEN + 1])
{
	int n = snprintf(name, ENTRY_NAME_LEN + 1, "entry-%d-", i);

	memset(name + n, 'x', ENTRY_NAME_LEN - n);
	name[ENTRY_NAME_LEN] = '\0';
}

static void test_dirs(void)
{
	static unsigned char seen[NENTRIES];
	int created = 0, listed = 0, dups = 0, strays = 0, types_ok = 0;
	char name[ENTRY_NAME_LEN + 1], path[ENTRY_NAME_LEN + 8];
	struct dirent *de;
	DIR *dir;

	T_SYS("mkdir", mkdir("d", 0755));
	T_ERR("mkdir of an existing name", mkdir("d", 0755), EEXIST);
	T_TRUE("mkdir made a directory", S_ISDIR(st_of("d").st_mode));
	put("d/f", 0644, "f");
	T_ERR("rmdir of a non-empty dir", rmdir("d"), ENOTEMPTY);
	T_ERR("rmdir of a file", rmdir("d/f"), ENOTDIR);
	T_ERR("rmdir of .", rmdir("d/."), EINVAL);
	T_ERR("mkdir below a file", mkdir("d/f/sub", 0755), ENOTDIR);
	T_ERR("mkdir below a missing dir", mkdir("nope/sub", 0755), ENOENT);
	MUST(unlink("d/f"));
	T_SYS("rmdir of an empty dir", rmdir("d"));
	T_ERR("rmdir'd dir is gone", access("d", F_OK), ENOENT);

	MUST(mkdir("many", 0755));
	for (int i = 0; i < NENTRIES; i++) {
		int fd;

		entry_name(i, name);
		snprintf(path, sizeof(path), "many/%s", name);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		if (fd >= 0 && !close(fd))
			created++;
	}
	T_EQ("created the entries", created, NENTRIES);
	dir = opendir("many");
	while (dir && (de = readdir(dir))) {
		int i;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (sscanf(de->d_name, "entry-%d-", &i) != 1 || i < 0 || i >= NENTRIES ||
		    (entry_name(i, name), strcmp(de->d_name, name))) {
			strays++;
			continue;
		}
		dups += seen[i]++ != 0;
		listed++;
		types_ok += de->d_type == DT_REG;
	}
	if (dir)
		closedir(dir);
	T_EQ("readdir lists every entry", listed, NENTRIES);
	T_EQ("readdir lists no entry twice", dups, 0);
	T_EQ("readdir lists nothing else", strays, 0);
	T_EQ("readdir d_type of files", types_ok, NENTRIES);
	for (int i = 0; i < NENTRIES; i++) {
		entry_name(i, name);
		snprintf(path, sizeof(path), "many/%s", name);
		unlink(path);
	}
	T_SYS("rmdir after removing the entries", rmdir("many"));

	MUST(mkdir("types", 0755));
	MUST(mkdir("types/dir", 0755));
	MUST(symlink("x", "types/lnk"));
	MUST(mkfifo("types/fifo", 0644));
	dir = opendir("types");
	types_ok = 0;
	while (dir && (de = readdir(dir)))
		types_ok += (!strcmp(de->d_name, "dir") && de->d_type == DT_DIR) +
			    (!strcmp(de->d_name, "lnk") && de->d_type == DT_LNK) +
			    (!strcmp(de->d_name, "fifo") && de->d_type == DT_FIFO);
	if (dir)
		closedir(dir);
	T_EQ("readdir d_type of dir, symlink, fifo", types_ok, 3);
}

/* ---- xattrs ---- */

static void test_xattrs(void)
{
	char buf[256];
	ssize_t n;
	int fd;

	put("x", 0644, "x");
	T_SYS("setxattr user.*", setxattr("x", "user.test", "value", 5, 0));
	n = getxattr("x", "user.test", buf, sizeof(buf));
	T_TRUE("getxattr returns the value", n == 5 && !memcmp(buf, "value", 5));
	T_EQ("getxattr size query", getxattr("x", "user.test", NULL, 0), 5);
	T_ERR("getxattr into a short buffer", getxattr("x", "user.test", buf, 2), ERANGE);
	T_ERR("XATTR_CREATE on an existing name",
	      setxattr("x", "user.test", "v", 1, XATTR_CREATE), EEXIST);
	T_ERR("XATTR_REPLACE on a missing name",
	      setxattr("x", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
	T_SYS("XATTR_REPLACE on an existing name",
	      setxattr("x", "user.test", "longer value", 12, XATTR_REPLACE));
	T_EQ("replaced value's size", getxattr("x", "user.test", NULL, 0), 12);
	T_SYS("empty value", setxattr("x", "user.empty", "", 0, 0));
	T_EQ("empty value's size", getxattr("x", "user.empty", buf, sizeof(buf)), 0);
	n = listxattr("x", buf, sizeof(buf));
	bool both = false;
	for (ssize_t off = 0, a = 0; off < n; off += strlen(buf + off) + 1)
		both = (a += !strcmp(buf + off, "user.test") + !strcmp(buf + off, "user.empty")) == 2;
	T_TRUE("listxattr lists both names", both);
	T_EQ("listxattr size query", listxattr("x", NULL, 0), n);
	T_ERR("listxattr into a short buffer", listxattr("x", buf, 3), ERANGE);
	T_SYS("removexattr", removexattr("x", "user.test"));
	T_ERR("removed xattr is gone", getxattr("x", "user.test", buf, sizeof(buf)), ENODATA);
	T_ERR("removexattr of a missing name", removexattr("x", "user.test"), ENODATA);
	T_ERR("getxattr of a missing name", getxattr("x", "user.missing", buf, sizeof(buf)), ENODATA);
	fd = open("x", O_RDONLY);
	T_SYS("fsetxattr", fsetxattr(fd, "user.fd", "byfd", 4, 0));
	T_EQ("fgetxattr", fgetxattr(fd, "user.fd", buf, sizeof(buf)), 4);
	close(fd);
	MUST(mkdir("xd", 0755));
	T_SYS("setxattr on a directory", setxattr("xd", "user.dir", "d", 1, 0));
	T_EQ("getxattr on a directory", getxattr("xd", "user.dir", buf, sizeof(buf)), 1);
	MUST(symlink("x", "xl"));
	T_ERR("user.* on a symlink refused", lsetxattr("xl", "user.l", "l", 1, 0), EPERM);
	T_EQ("getxattr follows a symlink", getxattr("xl", "user.fd", buf, sizeof(buf)), 4);
	/* security.* and trusted.* are the guest's own, stored mapped on the
	 * host; the server's user.krun.* is nobody's to set (src/fs/xattr.c) */
	T_SYS("trusted.* as root", setxattr("x", "trusted.t", "t", 1, 0));
	T_EQ("trusted.* reads back", getxattr("x", "trusted.t", buf, sizeof(buf)), 1);
	T_SYS("set a file capability",
	      setxattr("x", "security.capability", "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00"
			"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20, 0));
	T_EQ("the file capability reads back", getxattr("x", "security.capability", buf, sizeof(buf)),
	     20);
	T_ERR("the server's user.krun.* refused",
	      setxattr("x", "user.krun.node", "c 0644 1:3", 10, 0), EPERM);
	T_TRUE("the file stays a file", S_ISREG(st_of("x").st_mode));
}

/* ---- fifos, sockets, device nodes ---- */

/* readdir's d_type of the device nodes "null" and "loop". */
static void check_device_types(void)
{
	DIR *dir = opendir(".");
	struct dirent *de;
	int found = 0;

	while (dir && (de = readdir(dir)))
		found += (!strcmp(de->d_name, "null") && de->d_type == DT_CHR) +
			 (!strcmp(de->d_name, "loop") && de->d_type == DT_BLK);
	if (dir)
		closedir(dir);
	T_EQ("readdir d_type of char and block devices", found, 2);
}

static void test_special(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[8] = "";
	struct stat st;
	int fd, srv, cli, con;

	T_SYS("mkfifo", mkfifo("fifo", 0644));
	T_TRUE("mkfifo makes a fifo", S_ISFIFO(st_of("fifo").st_mode));
	T_ERR("mkfifo of an existing name", mkfifo("fifo", 0644), EEXIST);
	fd = open("fifo", O_RDWR | O_NONBLOCK);
	T_SYS("open a fifo", fd);
	T_TRUE("data passes through the fifo",
	       write(fd, "pipe", 4) == 4 && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "pipe", 4));
	close(fd);
	T_SYS("mknod S_IFIFO", mknod("fifo2", S_IFIFO | 0600, 0));
	T_TRUE("mknod makes a fifo", S_ISFIFO(st_of("fifo2").st_mode) && MODE("fifo2") == 0600);
	T_SYS("mknod a regular file", mknod("reg", S_IFREG | 0644, 0));
	T_TRUE("mknod S_IFREG makes a file", S_ISREG(st_of("reg").st_mode));

	/* Device nodes: empty files with an xattr on the host (src/fs/devnode.c),
	 * nodes here, opened by this kernel. */
	T_SYS("mknod a char device as root", mknod("null", S_IFCHR | 0666, makedev(1, 3)));
	st = st_of("null");
	T_TRUE("mknod makes a char device", S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	T_EQ("the char device's mode, umask applied", MODE("null"), 0644);
	fd = open("null", O_RDWR);
	T_TRUE("the device node opens the guest's device",
	       fd >= 0 && write(fd, "x", 1) == 1 && read(fd, buf, 1) == 0);
	if (fd >= 0)
		close(fd);
	T_SYS("mknod a block device", mknod("loop", S_IFBLK | 0600, makedev(7, 0)));
	st = st_of("loop");
	T_TRUE("mknod makes a block device", S_ISBLK(st.st_mode) && st.st_rdev == makedev(7, 0));
	T_ERR("mknod of an existing name", mknod("loop", S_IFBLK | 0600, makedev(7, 0)), EEXIST);
	T_SYS("chmod a device node", chmod("loop", 06640));
	st = st_of("loop");
	T_TRUE("chmod keeps the type and sets the mode",
	       S_ISBLK(st.st_mode) && (st.st_mode & 07777) == 06640);
	T_SYS("chown a device node", chown("loop", NOBODY, NOBODY));
	st = st_of("loop");
	T_TRUE("chown drops set-user-ID only (no group execute)",
	       S_ISBLK(st.st_mode) && (st.st_mode & 07777) == 02640 && st.st_uid == NOBODY);
	T_SYS("link a device node", link("loop", "loop2"));
	T_EQ("link count after link", NLINK("loop"), 2);
	st = st_of("loop2");
	T_TRUE("the link is the same device", S_ISBLK(st.st_mode) && st.st_rdev == makedev(7, 0));
	T_SYS("rename a device node", rename("loop2", "loop3"));
	st = st_of("loop3");
	T_TRUE("rename keeps the device", S_ISBLK(st.st_mode) && st.st_rdev == makedev(7, 0));
	check_device_types();
	T_SYS("unlink a device node", unlink("loop"));
	T_EQ("link count after unlink", NLINK("loop3"), 1);
	T_SYS("unlink its last name", unlink("loop3"));
	T_ERR("the device node is gone", access("loop3", F_OK), ENOENT);
	T_SYS("unlink the char device", unlink("null"));

	strcpy(sa.sun_path, "sock");
	srv = socket(AF_UNIX, SOCK_STREAM, 0);
	T_SYS("bind a unix socket", bind(srv, (struct sockaddr *)&sa, sizeof(sa)));
	T_TRUE("bind makes a socket node", S_ISSOCK(st_of("sock").st_mode));
	MUST(listen(srv, 1));
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	T_SYS("connect through the socket node", connect(cli, (struct sockaddr *)&sa, sizeof(sa)));
	con = accept(srv, NULL, NULL);
	T_TRUE("data passes through the socket",
	       write(cli, "sock", 4) == 4 && read(con, buf, sizeof(buf)) == 4 && !memcmp(buf, "sock", 4));
	close(con);
	close(cli);
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	T_ERR("bind onto an existing node", bind(cli, (struct sockaddr *)&sa, sizeof(sa)), EADDRINUSE);
	close(cli);
	close(srv);
	T_SYS("unlink a socket node", unlink("sock"));
}

/* ---- statfs ---- */

static void test_statfs(void)
{
	struct statfs a, b;
	int fd = open(".", O_RDONLY | O_DIRECTORY);

	T_SYS("statfs", statfs(".", &a));
	T_EQ("statfs f_type is FUSE", a.f_type, FUSE_SUPER_MAGIC);
	T_TRUE("statfs block counts", a.f_bsize > 0 && a.f_blocks > 0 && a.f_bfree <= a.f_blocks &&
				      a.f_bavail <= a.f_bfree);
	T_TRUE("statfs name length", a.f_namelen >= 255);
	T_SYS("fstatfs", fstatfs(fd, &b));
	T_TRUE("fstatfs agrees with statfs", a.f_bsize == b.f_bsize && a.f_blocks == b.f_blocks);
	close(fd);
}

/* ---- POSIX record locks ---- */

static struct flock range_lock(short type, off_t start, off_t len)
{
	return (struct flock){
		.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len,
	};
}

/* One byte from fd within seconds; -1 if none came. */
static int read_byte(int fd, int seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char c;

	if (poll(&p, 1, seconds * 1000) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

/* Waits for a child that should be done; one stuck in a lock wait is killed
 * and left (a FUSE request in flight may outlive SIGKILL) rather than hang
 * the run. */
static void reap(pid_t pid)
{
	for (int i = 0; pid > 0 && i < 12000; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		if (i == 6000)
			kill(pid, SIGKILL);
		usleep(10000);
	}
}

static void test_locks(void)
{
	struct flock wr = range_lock(F_WRLCK, 0, 10), fl;
	cpu_set_t cpu0;
	int fd = open("lk", O_RDWR | O_CREAT, 0644), fd2, to_parent[2];
	pid_t parent = getpid(), pid;

	/* Everyone on one vCPU, so on one request queue: the queue must go on
	 * serving while a lock wait of it blocks. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
	fl = range_lock(F_WRLCK, 0, 0);
	T_TRUE("F_GETLK on an unlocked file", !fcntl(fd, F_GETLK, &fl) && fl.l_type == F_UNLCK);
	T_SYS("F_SETLK a write lock", fcntl(fd, F_SETLK, &wr));
	T_SYS("F_SETLK again by its owner", fcntl(fd, F_SETLK, &wr));
	MUST(pipe(to_parent));
	pid = fork();
	if (pid == 0) {
		struct flock other = range_lock(F_WRLCK, 20, 10), probe = range_lock(F_WRLCK, 0, 0);
		unsigned char r = 0;

		/* bit 0: refused, 1: GETLK names the parent's lock, 2: another range */
		errno = 0;
		r |= (fcntl(fd, F_SETLK, &wr) == -1 && (errno == EAGAIN || errno == EACCES)) << 0;
		r |= (!fcntl(fd, F_GETLK, &probe) && probe.l_type == F_WRLCK &&
		      probe.l_start == 0 && probe.l_len == 10 && probe.l_pid == parent) << 1;
		r |= !fcntl(fd, F_SETLK, &other) << 2;
		if (write(to_parent[1], &r, 1) != 1)
			_exit(2);
		/* waits for the parent's unlock */
		r = !fcntl(fd, F_SETLKW, &wr);
		_exit(write(to_parent[1], &r, 1) == 1 ? 0 : 3);
	}
	int r = read_byte(to_parent[0], 120);
	T_TRUE("another process is refused the lock", r >= 0 && (r & 1));
	T_TRUE("F_GETLK names the holder and its range", r >= 0 && (r & 2));
	T_TRUE("another process locks another range", r >= 0 && (r & 4));
	fl = range_lock(F_WRLCK, 25, 1);
	T_TRUE("F_GETLK sees the other process's lock",
	       !fcntl(fd, F_GETLK, &fl) && fl.l_type == F_WRLCK && fl.l_pid == pid);
	/* the child now waits in F_SETLKW; the filesystem carries on */
	usleep(200000);
	put("while-waiting", 0644, "served");
	T_TRUE("requests are served while a lock wait blocks",
	       !strcmp(slurp("while-waiting"), "served"));
	fl = range_lock(F_UNLCK, 0, 10);
	T_SYS("F_SETLK unlock", fcntl(fd, F_SETLK, &fl));
	T_EQ("the waiting F_SETLKW gets the lock", read_byte(to_parent[0], 120), 1);
	reap(pid);
	close(to_parent[0]);
	close(to_parent[1]);
	T_SYS("the holder's exit drops its locks", fcntl(fd, F_SETLK, &wr));

	/* closing any fd of the file drops the process's locks on it */
	fd2 = open("lk", O_RDONLY);
	close(fd2);
	MUST(pipe(to_parent));
	pid = fork();
	if (pid == 0) {
		unsigned char got = !fcntl(fd, F_SETLK, &wr);
		_exit(write(to_parent[1], &got, 1) == 1 ? 0 : 3);
	}
	T_EQ("closing another fd drops the locks", read_byte(to_parent[0], 120), 1);
	reap(pid);
	close(to_parent[0]);
	close(to_parent[1]);
	close(fd);
	CPU_SET(1, &cpu0);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
}

static const struct section {
	const char *name;
	void (*run)(void);
} sections[] = {
	{ "perms", test_perms }, { "times", test_times }, { "links", test_links },
	{ "rename", test_rename }, { "open", test_open }, { "large", test_large },
	{ "dirs", test_dirs }, { "xattrs", test_xattrs }, { "special", test_special },
	{ "statfs", test_statfs }, { "locks", test_locks },
};

int main(int argc, char **argv)
{
	char base[PATH_MAX] = "/fsconform.XXXXXX";
	struct timespec start, end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1)
		snprintf(base, sizeof(base), "%s/fsconform.XXXXXX", argv[1]);
	if (!mkdtemp(base)) {
		perror(base);
		return 2;
	}
	/* each section in its own directory, so names never collide */
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/%s", base, sections[i].name);
		if (mkdir(dir, 0755) || chdir(dir)) {
			result(false, sections[i].name, "cannot enter %s: %s", dir, strerror(errno));
			continue;
		}
		printf("# %s\n", sections[i].name);
		umask(022);
		clock_gettime(CLOCK_MONOTONIC, &start);
		sections[i].run();
		clock_gettime(CLOCK_MONOTONIC, &end);
		/* where the time goes: guests in the test host are slow */
		printf("# %s took %.1f s\n", sections[i].name,
		       (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
	}
	printf("fsconform: %d/%d passed", n_pass, n_run - n_skip);
	if (n_skip)
		printf(", %d skipped", n_skip);
	putchar('\n');
	return n_pass == n_run - n_skip ? 0 : 1;
}
