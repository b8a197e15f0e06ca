/* The FUSE server's confinement to real files and its permission rules
 * (src/fs/confine.c, perm.c, session.c), driven as a guest would. The test
 * enters a private mount namespace of its own and mounts a procfs, a sysfs
 * a tmpfs (a volume's stand-in) and a FUSE mount (served by a second server
 * of ours over /dev/fuse) inside the share; it needs root, and
 * fails when it cannot have that namespace. */
#include "fs/fuse_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fuse_harness.h"

/* ---- the host side: mounts in the share ---- */

static void enter_private_mount_namespace(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("test-fs-confine: a private mount namespace (run it as root)");
		exit(1);
	}
}

/* Mounts a filesystem of type on the share's name; type NULL: binds the
 * share's source there. */
static void share_mount(const char *source, const char *name, const char *type)
{
	char src[600];

	snprintf(src, sizeof(src), "%s", type ? source : host_path(source));
	if (mount(src, host_path(name), type, type ? 0 : MS_BIND, NULL)) {
		fprintf(stderr, "test-fs-confine: mount %s on %s: %s\n", src, host_path(name),
			strerror(errno));
		exit(1);
	}
}

static void share_umount(const char *name)
{
	CHECK_EQ_INT(umount2(host_path(name), MNT_DETACH), 0);
}

static struct stat host_stat(const char *name)
{
	struct stat st = { 0 };

	CHECK_EQ_INT(lstat(host_path(name), &st), 0);
	return st;
}

/* ---- requests from a guest user ---- */

/* The next request's caller; req_begin makes it root, pid 1. */
static void req_caller(uint32_t uid, uint32_t gid)
{
	req_hdr(&q)->uid = uid;
	req_hdr(&q)->gid = gid;
}

/* Sends q and lets go of the node (and the handle) its reply made. */
static int send_and_forget(struct fuse_server *s, bool opened)
{
	struct fuse_entry_out e;
	int err = send_req(s, &q, &rp);

	if (err)
		return err;
	memcpy(&e, rp.data, sizeof(e));
	if (opened)
		CHECK_EQ_INT(release(s, FUSE_RELEASE, e.nodeid,
				     ((struct fuse_open_out *)(rp.data + sizeof(e)))->fh),
			     0);
	forget(s, e.nodeid, 1);
	return 0;
}

static int create_as(struct fuse_server *s, uint64_t parent, const char *name, uint32_t mode,
		     uint32_t uid, uint32_t gid)
{
	req_begin(&q, FUSE_CREATE, parent);
	req_caller(uid, gid);
	req_add(&q, &(struct fuse_create_in){ .flags = O_RDWR, .mode = S_IFREG | mode },
		sizeof(struct fuse_create_in));
	req_str(&q, name);
	return send_and_forget(s, true);
}

/* MKDIR or MKNOD: fuse_mkdir_in is as long as fuse_mknod_in's first half,
 * mode and a zero. */
static int make_as(struct fuse_server *s, uint32_t opcode, uint64_t parent, const char *name,
		   uint32_t mode, uint32_t uid, uint32_t gid)
{
	struct fuse_mknod_in in = { .mode = mode };

	req_begin(&q, opcode, parent);
	req_caller(uid, gid);
	req_add(&q, &in, opcode == FUSE_MKDIR ? sizeof(struct fuse_mkdir_in) : sizeof(in));
	req_str(&q, name);
	return send_and_forget(s, false);
}

static int setattr_as(struct fuse_server *s, uint64_t nodeid, const struct fuse_setattr_in *in,
		      uint32_t uid, uint32_t gid)
{
	req_begin(&q, FUSE_SETATTR, nodeid);
	req_caller(uid, gid);
	req_add(&q, in, sizeof(*in));
	return send_req(s, &q, &rp);
}

static int chmod_as(struct fuse_server *s, uint64_t nodeid, uint32_t mode, uint32_t uid,
		    uint32_t gid)
{
	return setattr_as(s, nodeid, &(struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = mode },
			  uid, gid);
}

/* ---- tests ---- */

/* What a sealed mount point answers: an empty directory, root's, that
 * takes nothing. */
static void check_sealed(struct fuse_server *s, uint64_t dir, uint64_t plain)
{
	struct fuse_attr a = { 0 };
	uint64_t id, fh;
	int n;

	CHECK_EQ_INT(getattr(s, dir, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFDIR | 0555);
	CHECK_EQ_INT(a.uid, 0);
	CHECK_EQ_INT(a.nlink, 2);
	for (const char *const *name = (const char *const[]){ "self", "1", "sys", "kernel",
							      "version", "block", NULL };
	     *name; name++)
		CHECK_EQ_INT(lookup(s, dir, *name, NULL), -ENOENT);
	CHECK_EQ_INT(count_in_listing(s, dir, false, ".", 4096, &n), 1);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(count_in_listing(s, dir, true, "..", 4096, &n), 1);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(count_in_listing(s, dir, false, "..", 32, &n), 1); /* one a reply */
	CHECK_EQ_INT(n, 2);

	CHECK_EQ_INT(mkdir_op(s, dir, "x"), -EACCES);
	CHECK_EQ_INT(create(s, dir, "x", O_RDWR, 0644, &id, &fh), -EACCES);
	CHECK_EQ_INT(mknod_op(s, dir, "x", S_IFREG | 0644, 0), -EACCES);
	CHECK_EQ_INT(name_op(s, FUSE_SYMLINK, dir, "x", 2, "/etc"), -EACCES);
	req_begin(&q, FUSE_LINK, dir);
	req_add(&q, &(struct fuse_link_in){ .oldnodeid = plain }, sizeof(struct fuse_link_in));
	req_str(&q, "x");
	CHECK_EQ_INT(send_req(s, &q, &rp), -EACCES);
	CHECK_EQ_INT(rename_op(s, ROOT, "plain", dir, "x", 0), -EACCES);
	CHECK_EQ_INT(rename_op(s, dir, "self", ROOT, "stolen", 0), -ENOENT);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, "version"), -ENOENT);
	CHECK_EQ_INT(name_op(s, FUSE_RMDIR, dir, "", 0, "kernel"), -ENOENT);
	CHECK_EQ_INT(setattr(s, dir, &(struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0777 },
			     0),
		     -EPERM);
	CHECK_EQ_INT(setattr(s, dir, &(struct fuse_setattr_in){ .valid = FATTR_UID, .uid = 5 }, 0),
		     -EPERM);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, dir, O_RDONLY, &fh), -EISDIR);
	CHECK_EQ_INT(name_op(s, FUSE_GETXATTR, dir, &(struct fuse_getxattr_in){ .size = 64 },
			     sizeof(struct fuse_getxattr_in), "user.x"),
		     -ENOTSUP);
	/* no hard link of it elsewhere either */
	req_begin(&q, FUSE_LINK, ROOT);
	req_add(&q, &(struct fuse_link_in){ .oldnodeid = dir }, sizeof(struct fuse_link_in));
	req_str(&q, "alias");
	CHECK_EQ_INT(send_req(s, &q, &rp), -EPERM);
	req_begin(&q, FUSE_STATFS, dir);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0); /* the share's figures */
	CHECK(!host_exists("stolen") && !host_exists("alias") && host_exists("plain"));
}

static void test_pseudo_filesystems(void)
{
	struct fuse_server_config cfg = { .root_dir = NULL };
	struct fuse_server *s, *refused;
	struct fuse_entry_out e;
	uint64_t proc, sys, vol, held, plain, id, fh;
	char buf[16] = { 0 };
	int fd, n;

	for (const char *const *d = (const char *const[]){ "proc", "sys", "vol", "held", NULL };
	     *d; d++)
		CHECK_EQ_INT(mkdir(host_path(*d), 0755), 0);
	host_write("held/inside", "x", 0644);
	host_write("version", "", 0644);
	host_write("plain", "plain", 0644);
	s = new_server(false, 0, 0);
	held = lookup_id(s, ROOT, "held");
	plain = lookup_id(s, ROOT, "plain");
	share_mount("proc", "proc", "proc");
	share_mount("sysfs", "sys", "sysfs");
	share_mount("tmpfs", "vol", "tmpfs");
	share_mount("proc", "held", "proc");
	share_mount("proc/version", "version", NULL);

	/* procfs and sysfs: empty directories, found again as the same node */
	CHECK_EQ_INT(lookup(s, ROOT, "proc", &e), 0);
	proc = e.nodeid;
	CHECK_EQ_INT(e.attr.mode, S_IFDIR | 0555);
	CHECK_EQ_INT(lookup_id(s, ROOT, "proc"), proc);
	sys = lookup_id(s, ROOT, "sys");
	CHECK(sys != 0 && sys != proc);
	check_sealed(s, proc, plain);
	check_sealed(s, sys, plain);
	/* a CREATE of its name opens nothing */
	CHECK_EQ_INT(create(s, ROOT, "proc", O_RDWR, 0644, &id, &fh), -EISDIR);

	/* a procfs file bound over a file of the share: not there for the
	 * guest, though its name is listed */
	CHECK_EQ_INT(lookup(s, ROOT, "version", NULL), -EACCES);
	CHECK_EQ_INT(count_in_listing(s, ROOT, true, "version", 4096, &n), 1);
	CHECK_EQ_INT(count_in_listing(s, ROOT, true, "proc", 4096, &n), 1);

	/* the tmpfs: a volume like any other */
	vol = lookup_id(s, ROOT, "vol");
	CHECK_EQ_INT(create(s, vol, "f", O_RDWR, 0644, &id, &fh), 0);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "data", 4, 0), 0);
	CHECK_EQ_INT(read_data(s, id, fh, 0, 16), 0);
	CHECK_EQ_INT(reply_len(&rp), 4);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);
	CHECK_EQ_INT(mkdir_op(s, vol, "d"), 0);
	CHECK_EQ_INT(count_in_listing(s, vol, true, "d", 4096, &n), 1);
	CHECK_EQ_INT(n, 4);
	fd = open(host_path("vol/f"), O_RDONLY);
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 4);
	CHECK(!strcmp(buf, "data"));
	close(fd);

	/* a mount made on a directory the guest holds: its node is still the
	 * covered directory; a new lookup of the name finds the mount, sealed */
	CHECK_EQ_INT(lookup(s, held, "inside", NULL), 0);
	CHECK_EQ_INT(lookup(s, held, "self", NULL), -ENOENT);
	CHECK_EQ_INT(count_in_listing(s, held, false, "inside", 4096, &n), 1);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(lookup(s, ROOT, "held", &e), 0);
	CHECK(e.nodeid != held);
	CHECK_EQ_INT(e.attr.mode, S_IFDIR | 0555);
	CHECK_EQ_INT(lookup(s, e.nodeid, "self", NULL), -ENOENT);
	fuse_server_destroy(s);

	/* a share whose root is a pseudo filesystem: no server */
	for (const char *const *root = (const char *const[]){ "proc", "sys", NULL }; *root;
	     root++) {
		cfg.root_dir = host_path(*root);
		refused = NULL;
		CHECK_EQ_INT(fuse_server_create(&cfg, &refused), -ENOTSUP);
		CHECK(refused == NULL);
	}
	cfg.root_dir = host_path("vol");
	CHECK_EQ_INT(fuse_server_create(&cfg, &refused), 0);
	fuse_server_destroy(refused);

	for (const char *const *m = (const char *const[]){ "proc", "sys", "vol", "held", "version",
							   NULL };
	     *m; m++)
		share_umount(*m);
	for (const char *const *d = (const char *const[]){ "proc", "sys", "vol", NULL }; *d; d++)
		CHECK_EQ_INT(rmdir(host_path(*d)), 0);
	CHECK_EQ_INT(unlink(host_path("held/inside")), 0);
	CHECK_EQ_INT(rmdir(host_path("held")), 0);
	CHECK_EQ_INT(unlink(host_path("version")), 0);
	CHECK_EQ_INT(unlink(host_path("plain")), 0);
}

/* ---- a FUSE mount, served by a second server of ours over /dev/fuse ---- */

struct fuse_mount {
	int dev_fd;
	struct fuse_server *server; /* the files behind the mount */
	pthread_t thread;
};

/* Answers the host kernel's requests until the mount goes (ENODEV). */
static void *serve_fuse_mount(void *arg)
{
	struct fuse_mount *m = arg;
	static uint8_t in[(1 << 20) + 8192], out[(1 << 20) + 4096];
	ssize_t n, len;

	while ((n = read(m->dev_fd, in, sizeof(in))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		len = fuse_server_handle(m->server, &(struct iovec){ in, (size_t)n }, 1,
					 &(struct iovec){ out, sizeof(out) }, 1);
		if (len > 0 && write(m->dev_fd, out, (size_t)len) < 0 && errno == ENODEV)
			break;
	}
	return NULL;
}

/* Mounts FUSE on the share's name, with files of the share's source dir. */
static void fuse_mount(struct fuse_mount *m, const char *source, const char *name)
{
	struct fuse_server_config cfg = { .root_dir = NULL };
	char opts[128], src[600];

	snprintf(src, sizeof(src), "%s", host_path(source));
	cfg.root_dir = src;
	CHECK_EQ_INT(fuse_server_create(&cfg, &m->server), 0);
	m->dev_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (m->dev_fd < 0) {
		perror("test-fs-confine: /dev/fuse");
		exit(1);
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		 m->dev_fd);
	if (mount("krun-test", host_path(name), "fuse.krun-test", MS_NOSUID | MS_NODEV, opts)) {
		perror("test-fs-confine: mount fuse");
		exit(1);
	}
	CHECK_EQ_INT(pthread_create(&m->thread, NULL, serve_fuse_mount, m), 0);
}

static void fuse_umount(struct fuse_mount *m, const char *name)
{
	share_umount(name);
	close(m->dev_fd); /* ends the serving thread's read */
	pthread_join(m->thread, NULL);
	fuse_server_destroy(m->server);
}

/* FUSE inside a share is refused like any filesystem not on the list (it
 * names a protocol, not what it serves: lxcfs is FUSE), but a share whose
 * root is on FUSE is the user's own choice (fuse-overlayfs, sshfs) and is
 * served, its files and directories alike. */
static void test_fuse(void)
{
	struct fuse_server_config cfg = { .root_dir = NULL };
	struct fuse_server *s, *on_fuse = NULL;
	struct fuse_mount m;
	struct fuse_entry_out e;
	uint64_t dir;
	int n;

	CHECK_EQ_INT(mkdir(host_path("behind"), 0755), 0);
	CHECK_EQ_INT(mkdir(host_path("behind/sub"), 0755), 0);
	host_write("behind/sub/file", "on fuse", 0644);
	CHECK_EQ_INT(mkdir(host_path("fuse"), 0755), 0);
	s = new_server(false, 0, 0);
	fuse_mount(&m, "behind", "fuse");

	/* inside the share: a sealed, empty directory */
	CHECK_EQ_INT(lookup(s, ROOT, "fuse", &e), 0);
	CHECK_EQ_INT(e.attr.mode, S_IFDIR | 0555);
	CHECK_EQ_INT(lookup(s, e.nodeid, "sub", NULL), -ENOENT);
	CHECK_EQ_INT(count_in_listing(s, e.nodeid, false, "sub", 4096, &n), 0);
	fuse_server_destroy(s);

	/* as the share's root: served, down its tree */
	cfg.root_dir = host_path("fuse");
	CHECK_EQ_INT(fuse_server_create(&cfg, &on_fuse), 0);
	if (on_fuse) {
		CHECK_EQ_INT(fuse_init(on_fuse, 7, FUSE_DO_READDIRPLUS), 0);
		CHECK_EQ_INT(lookup(on_fuse, ROOT, "sub", &e), 0);
		dir = e.nodeid;
		CHECK_EQ_INT(e.attr.mode & S_IFMT, S_IFDIR);
		CHECK_EQ_INT(lookup(on_fuse, dir, "file", &e), 0);
		CHECK_EQ_INT(e.attr.size, 7);
		CHECK_EQ_INT(count_in_listing(on_fuse, dir, true, "file", 4096, &n), 1);
		fuse_server_destroy(on_fuse);
	}

	fuse_umount(&m, "fuse");
	CHECK_EQ_INT(rmdir(host_path("fuse")), 0);
	CHECK_EQ_INT(unlink(host_path("behind/sub/file")), 0);
	CHECK_EQ_INT(rmdir(host_path("behind/sub")), 0);
	CHECK_EQ_INT(rmdir(host_path("behind")), 0);
}

/* Set-group-ID as the kernel gives it, for guest user 1000 (group 1000)
 * against a server running as root. */
static void test_setgid(void)
{
	struct fuse_server *s = new_server(false, 0, 0);
	uint64_t sg, a;

	CHECK_EQ_INT(mkdir(host_path("sg"), 0), 0);
	CHECK_EQ_INT(chown(host_path("sg"), 0, 4242), 0);
	CHECK_EQ_INT(chmod(host_path("sg"), 02777), 0);
	sg = lookup_id(s, ROOT, "sg");

	/* CVE-2022-0358: neither in the directory's group nor root, the new
	 * program has the group but not set-group-ID */
	CHECK_EQ_INT(create_as(s, sg, "a", 02755, 1000, 1000), 0);
	CHECK_EQ_INT(host_stat("sg/a").st_mode, S_IFREG | 0755);
	CHECK_EQ_INT(host_stat("sg/a").st_gid, 4242);
	CHECK_EQ_INT(host_stat("sg/a").st_uid, 1000);
	CHECK_EQ_INT(make_as(s, FUSE_MKNOD, sg, "n", S_IFREG | 02755, 1000, 1000), 0);
	CHECK_EQ_INT(host_stat("sg/n").st_mode, S_IFREG | 0755);
	/* in the group, or root: kept */
	CHECK_EQ_INT(create_as(s, sg, "b", 02755, 1000, 4242), 0);
	CHECK_EQ_INT(host_stat("sg/b").st_mode, S_IFREG | 02755);
	CHECK_EQ_INT(create_as(s, sg, "c", 02755, 0, 0), 0);
	CHECK_EQ_INT(host_stat("sg/c").st_mode, S_IFREG | 02755);
	/* not group-executable: no set-group-ID program, kept as the kernel does */
	CHECK_EQ_INT(create_as(s, sg, "d", 02644, 1000, 1000), 0);
	CHECK_EQ_INT(host_stat("sg/d").st_mode, S_IFREG | 02644);
	/* a directory inherits set-group-ID whoever makes it, and takes no such
	 * bit from its caller */
	CHECK_EQ_INT(make_as(s, FUSE_MKDIR, sg, "e", 0755, 1000, 1000), 0);
	CHECK_EQ_INT(host_stat("sg/e").st_mode, S_IFDIR | 02755);
	CHECK_EQ_INT(make_as(s, FUSE_MKDIR, ROOT, "f", 06755, 1000, 1000), 0);
	CHECK_EQ_INT(host_stat("f").st_mode, S_IFDIR | 0755);

	/* chmod: set-group-ID only for a member of the file's group, or root */
	a = lookup_id(s, sg, "a");
	CHECK_EQ_INT(chmod_as(s, a, 02755, 1000, 1000), 0);
	CHECK_EQ_INT(host_stat("sg/a").st_mode, S_IFREG | 0755);
	CHECK_EQ_INT(chmod_as(s, a, 02755, 1000, 4242), 0);
	CHECK_EQ_INT(host_stat("sg/a").st_mode, S_IFREG | 02755);
	CHECK_EQ_INT(chmod_as(s, a, 0755, 1000, 1000), 0);
	CHECK_EQ_INT(chmod_as(s, a, 02755, 0, 0), 0);
	CHECK_EQ_INT(host_stat("sg/a").st_mode, S_IFREG | 02755);
	/* of its new group, when the same SETATTR changes it */
	CHECK_EQ_INT(setattr_as(s, a,
				&(struct fuse_setattr_in){ .valid = FATTR_GID | FATTR_MODE,
							   .gid = 1000, .mode = 02711 },
				1000, 1000),
		     0);
	CHECK_EQ_INT(host_stat("sg/a").st_mode, S_IFREG | 02711);
	CHECK_EQ_INT(host_stat("sg/a").st_gid, 1000);
	fuse_server_destroy(s);

	for (const char *const *n = (const char *const[]){ "a", "b", "c", "d", "n", NULL }; *n;
	     n++) {
		char name[16];

		snprintf(name, sizeof(name), "sg/%s", *n);
		CHECK_EQ_INT(unlink(host_path(name)), 0);
	}
	CHECK_EQ_INT(rmdir(host_path("sg/e")), 0);
	CHECK_EQ_INT(rmdir(host_path("sg")), 0);
	CHECK_EQ_INT(rmdir(host_path("f")), 0);
}

static int exit_ioctl(struct fuse_server *s, uint64_t fh, uint32_t pid, uint64_t status)
{
	req_begin(&q, FUSE_IOCTL, ROOT);
	req_hdr(&q)->pid = pid;
	req_add(&q, &(struct fuse_ioctl_in){ .fh = fh, .cmd = 0x7602, .arg = status },
		sizeof(struct fuse_ioctl_in));
	return send_req(s, &q, &rp);
}

/* The exit status comes from the guest's init, pid 1, only. */
static void test_exit_status_from_init(void)
{
	struct fuse_server *s = new_server(false, 0, 0);
	uint64_t fh;

	exit_code_seen = -1;
	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, ROOT, O_RDONLY, &fh), 0);
	CHECK_EQ_INT(exit_ioctl(s, fh, 2, 7), -EPERM);
	CHECK_EQ_INT(exit_ioctl(s, fh, 0, 7), -EPERM);
	CHECK_EQ_INT(exit_ioctl(s, fh, 4242, 7), -EPERM);
	CHECK_EQ_INT(exit_code_seen, -1);
	CHECK_EQ_INT(exit_ioctl(s, fh, 1, 7), 0);
	CHECK_EQ_INT(exit_code_seen, 7);
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, ROOT, fh), 0);
	fuse_server_destroy(s);
}

/* A virtual file can be root's alone (the workload's description). */
static void test_root_only_virtual_file(void)
{
	static const struct fuse_virtual_file secret = {
		.name = "secret.json", .data = "{}", .len = 2, .mode = 0400,
	};
	struct fuse_server_config cfg = {
		.root_dir = root_dir, .virtual_files = &secret, .nr_virtual_files = 1,
	};
	struct fuse_server *s;
	struct fuse_entry_out e;

	CHECK_EQ_INT(fuse_server_create(&cfg, &s), 0);
	CHECK_EQ_INT(fuse_init(s, 7, 0), 0);
	CHECK_EQ_INT(lookup(s, ROOT, "secret.json", &e), 0);
	CHECK_EQ_INT(e.attr.mode, S_IFREG | 0400);
	CHECK_EQ_INT(e.attr.uid, 0);
	CHECK_EQ_INT(e.attr.gid, 0);
	fuse_server_destroy(s);
}

int main(void)
{
	enter_private_mount_namespace();
	if (harness_setup())
		return 1;

	test_pseudo_filesystems();
	test_fuse();
	test_setgid();
	test_exit_status_from_init();
	test_root_only_virtual_file();

	harness_teardown();
	return CHECK_DONE();
}
