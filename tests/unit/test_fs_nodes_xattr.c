/* Device nodes the guest makes (stand-ins on the host, nodes to the guest)
 * and the xattr policy (src/fs/devnode.c, src/fs/xattr.c), driven as a
 * guest would, with the host side of each checked. Runs as root, in a
 * private mount namespace of its own (for a share without user xattrs). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "fuse_harness.h"

#define NODE_XATTR "user.krun.node"
/* A version 2 file capability: cap_net_raw, effective. */
static const char capability[20] = "\x01\x00\x00\x02\x00\x20\x00\x00";

/* ---- the guest's requests ---- */

static int guest_setxattr(struct fuse_server *s, uint64_t id, const char *name, const void *value,
			  uint32_t size, uint32_t flags)
{
	req_begin(&q, FUSE_SETXATTR, id);
	req_add(&q, &(struct fuse_setxattr_in){ .size = size, .flags = flags },
		FUSE_COMPAT_SETXATTR_IN_SIZE);
	req_str(&q, name);
	req_add(&q, value, size);
	return send_req(s, &q, &rp);
}

/* The value's length (size 0: the size the server says), or -errno. */
static int guest_getxattr(struct fuse_server *s, uint64_t id, const char *name, uint32_t size)
{
	int err;

	req_begin(&q, FUSE_GETXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = size }, sizeof(struct fuse_getxattr_in));
	req_str(&q, name);
	err = send_req(s, &q, &rp);
	if (err)
		return err;
	return size ? (int)reply_len(&rp) : (int)((struct fuse_getxattr_out *)rp.data)->size;
}

static int guest_listxattr(struct fuse_server *s, uint64_t id, uint32_t size)
{
	int err;

	req_begin(&q, FUSE_LISTXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = size }, sizeof(struct fuse_getxattr_in));
	err = send_req(s, &q, &rp);
	if (err)
		return err;
	return size ? (int)reply_len(&rp) : (int)((struct fuse_getxattr_out *)rp.data)->size;
}

/* How often name is in the list just returned, and whether any name there
 * starts with prefix. */
static int listed(const char *name, const char *prefix, bool *has_prefix)
{
	int n = 0;

	*has_prefix = false;
	for (size_t off = 0; off < reply_len(&rp); off += strlen((char *)rp.data + off) + 1) {
		n += !strcmp((char *)rp.data + off, name);
		*has_prefix |= !strncmp((char *)rp.data + off, prefix, strlen(prefix));
	}
	return n;
}

/* The size probe and the list agree; the list's count of name. */
static int list_count(struct fuse_server *s, uint64_t id, const char *name, bool *own_seen)
{
	int size = guest_listxattr(s, id, 0);

	CHECK(size >= 0);
	CHECK_EQ_INT(guest_listxattr(s, id, 65536), size);
	if (size > 0)
		CHECK_EQ_INT(guest_listxattr(s, id, (uint32_t)size - 1), -ERANGE);
	CHECK_EQ_INT(guest_listxattr(s, id, (uint32_t)size), size);
	return listed(name, "user.krun.", own_seen);
}

static int removexattr_op(struct fuse_server *s, uint64_t id, const char *name)
{
	return name_op(s, FUSE_REMOVEXATTR, id, "", 0, name);
}

static int setattr_reply(struct fuse_server *s, uint64_t id, const struct fuse_setattr_in *in,
			 uint32_t uid, struct fuse_attr *a)
{
	int err = setattr(s, id, in, uid);

	if (!err)
		*a = ((struct fuse_attr_out *)rp.data)->attr;
	return err;
}

/* The d_type READDIR (or READDIRPLUS, with its entry's attributes) gives
 * name in directory dir; -1 when it is not listed. */
static int listed_type(struct fuse_server *s, uint64_t dir, bool plus, const char *name,
		       struct fuse_attr *entry_attr)
{
	uint64_t fh = 0;
	size_t pos = 0;
	int type = -1;

	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, dir, O_RDONLY, &fh), 0);
	req_begin(&q, plus ? FUSE_READDIRPLUS : FUSE_READDIR, dir);
	req_add(&q, &(struct fuse_read_in){ .fh = fh, .size = 65536 }, sizeof(struct fuse_read_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	while (pos < reply_len(&rp)) {
		struct fuse_direntplus *dp = (void *)(rp.data + pos);
		struct fuse_dirent *d = plus ? &dp->dirent : (void *)(rp.data + pos);

		if (d->namelen == strlen(name) && !memcmp(d->name, name, d->namelen)) {
			type = (int)d->type;
			if (plus)
				*entry_attr = dp->entry_out.attr;
		}
		if (plus && dp->entry_out.nodeid && dp->entry_out.nodeid != ROOT)
			forget(s, dp->entry_out.nodeid, 1);
		pos += plus ? FUSE_DIRENTPLUS_SIZE(dp) : FUSE_DIRENT_SIZE(d);
	}
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, dir, fh), 0);
	return type;
}

/* ---- the host's side ---- */

static int devices_found;

static int count_device(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		fprintf(stderr, "a device node on the host: %s\n", path);
		devices_found++;
	}
	return 0;
}

static int host_devices(void)
{
	devices_found = 0;
	CHECK_EQ_INT(nftw(tmp_dir, count_device, 16, FTW_PHYS), 0);
	return devices_found;
}

/* An empty regular file of mode 0600: the stand-in as the host sees it. */
static bool host_inert(const char *name)
{
	struct stat st;

	return !lstat(host_path(name), &st) && S_ISREG(st.st_mode) && st.st_size == 0 &&
	       (st.st_mode & 07777) == 0600;
}

static ssize_t host_getxattr(const char *name, const char *xattr, char *buf, size_t size)
{
	return lgetxattr(host_path(name), xattr, buf, size);
}

/* ---- device nodes ---- */

/* mknod of a char and a block device: nodes in every reply, stand-ins on
 * the host. */
static void test_mknod(struct fuse_server *s)
{
	const uint32_t null_dev = makedev(1, 3), disk = makedev(8, 1), big = makedev(4095, 1048575);
	struct fuse_entry_out *e = (struct fuse_entry_out *)rp.data, looked_up;
	struct fuse_attr a;
	char value[32];
	uint64_t dir, cid, bid;

	CHECK_EQ_INT(mkdir_op(s, ROOT, "dev"), 0);
	dir = e->nodeid;
	CHECK_EQ_INT(mknod_op(s, dir, "null", S_IFCHR | 0666, null_dev), 0);
	cid = e->nodeid;
	CHECK_EQ_INT(e->attr.mode, S_IFCHR | 0666);
	CHECK_EQ_INT(e->attr.rdev, null_dev);
	CHECK_EQ_INT(e->attr.size, 0);
	CHECK_EQ_INT(mknod_op(s, dir, "sda1", S_IFBLK | 0660, disk), 0);
	bid = e->nodeid;
	CHECK_EQ_INT(e->attr.mode, S_IFBLK | 0660);
	CHECK_EQ_INT(e->attr.rdev, disk);
	CHECK_EQ_INT(mknod_op(s, dir, "sda1", S_IFBLK | 0660, disk), -EEXIST);
	/* the largest numbers the guest's 32-bit dev_t carries */
	CHECK_EQ_INT(mknod_op(s, dir, "big", S_IFCHR | 0600, big), 0);
	CHECK_EQ_INT(e->attr.rdev, big);
	CHECK_EQ_INT(major(e->attr.rdev), 4095);
	CHECK_EQ_INT(minor(e->attr.rdev), 1048575);

	CHECK_EQ_INT(getattr(s, cid, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFCHR | 0666);
	CHECK_EQ_INT(a.rdev, null_dev);
	CHECK_EQ_INT(getattr(s, bid, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFBLK | 0660);
	CHECK_EQ_INT(a.rdev, disk);
	CHECK_EQ_INT(lookup(s, dir, "sda1", &looked_up), 0);
	CHECK_EQ_INT(looked_up.nodeid, bid);
	CHECK_EQ_INT(looked_up.attr.mode, S_IFBLK | 0660);
	forget(s, bid, 1);

	CHECK_EQ_INT(listed_type(s, dir, false, "null", NULL), DT_CHR);
	CHECK_EQ_INT(listed_type(s, dir, false, "sda1", NULL), DT_BLK);
	CHECK_EQ_INT(listed_type(s, dir, true, "null", &a), DT_CHR);
	CHECK_EQ_INT(a.mode, S_IFCHR | 0666);
	CHECK_EQ_INT(a.rdev, null_dev);
	CHECK_EQ_INT(listed_type(s, dir, true, "sda1", &a), DT_BLK);
	CHECK_EQ_INT(a.mode, S_IFBLK | 0660);

	/* the host holds empty 0600 files, and no device node anywhere */
	CHECK(host_inert("dev/null") && host_inert("dev/sda1") && host_inert("dev/big"));
	CHECK_EQ_INT(host_getxattr("dev/sda1", NODE_XATTR, value, sizeof(value)), 10);
	CHECK(!memcmp(value, "b 0660 8:1", 10));
	CHECK_EQ_INT(host_devices(), 0);
	/* the guest does not see the server's xattr */
	CHECK_EQ_INT(guest_getxattr(s, cid, NODE_XATTR, 64), -ENODATA);
	CHECK_EQ_INT(guest_getxattr(s, cid, NODE_XATTR, 0), -ENODATA);
	CHECK_EQ_INT(removexattr_op(s, cid, NODE_XATTR), -EPERM);
	CHECK_EQ_INT(guest_setxattr(s, cid, NODE_XATTR, "b 0666 8:0", 10, 0), -EPERM);
	CHECK(host_getxattr("dev/null", NODE_XATTR, value, sizeof(value)) == 10 &&
	      !memcmp(value, "c 0666 1:3", 10));
	{
		bool own;

		CHECK_EQ_INT(list_count(s, cid, NODE_XATTR, &own), 0);
		CHECK(!own);
	}
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, "big"), 0);
}

/* The server never opens a stand-in: the guest's kernel opens device nodes
 * itself, and a hostile guest's OPEN gets what a host device node gets. */
static void test_no_open(struct fuse_server *s)
{
	uint64_t dir = lookup_id(s, ROOT, "dev"), id = lookup_id(s, dir, "null"), fh, nid;

	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh), -EACCES);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDWR, &fh), -EACCES);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_WRONLY | O_TRUNC, &fh), -EACCES);
	CHECK_EQ_INT(create(s, dir, "null", O_RDWR, 0644, &nid, &fh), -EACCES);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 9 }, 0),
		     -EACCES);
	CHECK(host_inert("dev/null"));
	forget(s, id, 1);
	forget(s, dir, 1);
}

/* chmod, chown, link, rename and unlink keep the node a node; its mode
 * changes only in the xattr. */
static void test_node_life(struct fuse_server *s)
{
	uint64_t dir = lookup_id(s, ROOT, "dev"), id = lookup_id(s, dir, "sda1");
	struct fuse_entry_out *e = (struct fuse_entry_out *)rp.data, looked_up;
	struct fuse_attr a;
	struct stat st;

	CHECK_EQ_INT(setattr_reply(s, id, &(struct fuse_setattr_in){ .valid = FATTR_MODE,
								     .mode = 06555 },
				   0, &a),
		     0);
	CHECK_EQ_INT(a.mode, S_IFBLK | 06555);
	CHECK_EQ_INT(a.rdev, makedev(8, 1));
	CHECK(host_inert("dev/sda1"));
	CHECK_EQ_INT(getattr(s, id, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFBLK | 06555);
	/* chown drops set-user-ID, and set-group-ID with group execute, as
	 * the kernel does to a file */
	CHECK_EQ_INT(setattr_reply(s, id, &(struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID,
								     .uid = 65534, .gid = 65533 },
				   0, &a),
		     0);
	CHECK_EQ_INT(a.mode, S_IFBLK | 0555);
	CHECK_EQ_INT(a.uid, 65534);
	CHECK_EQ_INT(a.gid, 65533);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 06645 },
			     0),
		     0);
	CHECK_EQ_INT(setattr_reply(s, id, &(struct fuse_setattr_in){ .valid = FATTR_UID, .uid = 0 },
				   0, &a),
		     0);
	CHECK_EQ_INT(a.mode, S_IFBLK | 02645);
	CHECK(!lstat(host_path("dev/sda1"), &st) && st.st_uid == 0 && st.st_gid == 65533);
	CHECK(host_inert("dev/sda1"));

	/* link: the same node under two names */
	req_begin(&q, FUSE_LINK, ROOT);
	req_add(&q, &(struct fuse_link_in){ .oldnodeid = id }, sizeof(struct fuse_link_in));
	req_str(&q, "disk");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(e->nodeid, id);
	CHECK_EQ_INT(e->attr.mode, S_IFBLK | 02645);
	CHECK_EQ_INT(e->attr.nlink, 2);
	CHECK_EQ_INT(e->attr.rdev, makedev(8, 1));
	CHECK_EQ_INT(listed_type(s, ROOT, false, "disk", NULL), DT_BLK);
	/* rename, across directories and over another name */
	CHECK_EQ_INT(rename_op(s, ROOT, "disk", dir, "disk", 0), 0);
	CHECK_EQ_INT(lookup(s, dir, "disk", &looked_up), 0);
	CHECK_EQ_INT(looked_up.attr.mode, S_IFBLK | 02645);
	CHECK_EQ_INT(rename_op(s, dir, "null", dir, "zero", 0), 0);
	CHECK_EQ_INT(lookup(s, dir, "zero", &looked_up), 0);
	CHECK_EQ_INT(looked_up.attr.mode, S_IFCHR | 0666);
	CHECK_EQ_INT(looked_up.attr.rdev, makedev(1, 3));
	CHECK_EQ_INT(listed_type(s, dir, true, "zero", &a), DT_CHR);
	/* unlink: the other name stays the node */
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, "sda1"), 0);
	CHECK_EQ_INT(getattr(s, id, &a), 0);
	CHECK_EQ_INT(a.nlink, 1);
	CHECK_EQ_INT(a.mode, S_IFBLK | 02645);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, "disk"), 0);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, "zero"), 0);
	CHECK_EQ_INT(name_op(s, FUSE_RMDIR, ROOT, "", 0, "dev"), 0);
	CHECK_EQ_INT(host_devices(), 0);
}

/* What the host puts there is a node only when it is an empty regular file
 * with a well-formed xattr; anything else is the regular file it is. */
static void test_forged(struct fuse_server *s)
{
	static const char *const malformed[] = {
		"", "c", "c 0644 1:", "c 0644 :3", "x 0644 1:3", "C 0644 1:3", "c 0844 1:3",
		"c 644 1:3", "c 00644 1:3", "c  0644 1:3", "c 0644 1:3 ", "c 0644 01:3",
		"c 0644 1:03", "c 0644 +1:3", "c 0644 -1:3", "c 0644 4096:0", "c 0644 1:1048576",
		"c 0644 1:3\n", "c 0644 1;3", "c 0644 99999999999999999999:1",
		"c 0644 1:3333333333333333333333",
	};
	struct fuse_attr a;
	uint64_t id, fh = 0;

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		host_write("forged", "", 0600);
		CHECK_EQ_INT(lsetxattr(host_path("forged"), NODE_XATTR, malformed[i],
				       strlen(malformed[i]), 0),
			     0);
		id = lookup_id(s, ROOT, "forged");
		CHECK_EQ_INT(getattr(s, id, &a), 0);
		if (a.mode != (S_IFREG | 0600))
			fprintf(stderr, "\"%s\" made mode %o\n", malformed[i], a.mode);
		CHECK_EQ_INT(a.mode, S_IFREG | 0600);
		CHECK_EQ_INT(listed_type(s, ROOT, false, "forged", NULL), DT_REG);
		CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh), 0);
		CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);
		forget(s, id, 1);
		unlink(host_path("forged"));
	}
	/* a NUL inside */
	host_write("forged", "", 0600);
	CHECK_EQ_INT(lsetxattr(host_path("forged"), NODE_XATTR, "c 0644 1:3", 11, 0), 0);
	CHECK_EQ_INT(getattr(s, lookup_id(s, ROOT, "forged"), &a), 0);
	CHECK_EQ_INT(a.mode, S_IFREG | 0600);
	/* well-formed on an empty file (a stand-in left by an earlier run): a node */
	CHECK_EQ_INT(lsetxattr(host_path("forged"), NODE_XATTR, "c 0644 1:3", 10, 0), 0);
	id = lookup_id(s, ROOT, "forged");
	CHECK_EQ_INT(getattr(s, id, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFCHR | 0644);
	/* which the host then writes to: a file again */
	host_write("forged", "data", 0600);
	CHECK_EQ_INT(getattr(s, id, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFREG | 0600);
	CHECK_EQ_INT(listed_type(s, ROOT, true, "forged", &a), DT_REG);
	CHECK_EQ_INT(a.mode, S_IFREG | 0600);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh), 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);
	forget(s, id, 1);
	unlink(host_path("forged"));
	/* chmod'ed on the host, in either listing: a file too (a stand-in's
	 * host mode stays 0600, whatever the guest's chmod) */
	host_write("forged", "", 0644);
	CHECK_EQ_INT(lsetxattr(host_path("forged"), NODE_XATTR, "c 0644 1:3", 10, 0), 0);
	id = lookup_id(s, ROOT, "forged");
	CHECK_EQ_INT(getattr(s, id, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFREG | 0644);
	CHECK_EQ_INT(listed_type(s, ROOT, false, "forged", NULL), DT_REG);
	CHECK_EQ_INT(listed_type(s, ROOT, true, "forged", &a), DT_REG);
	CHECK_EQ_INT(a.mode, S_IFREG | 0644);
	forget(s, id, 1);
	unlink(host_path("forged"));
	/* on a directory: a directory */
	CHECK_EQ_INT(mkdir(host_path("fdir"), 0755), 0);
	CHECK_EQ_INT(lsetxattr(host_path("fdir"), NODE_XATTR, "c 0644 1:3", 10, 0), 0);
	CHECK_EQ_INT(getattr(s, lookup_id(s, ROOT, "fdir"), &a), 0);
	CHECK(S_ISDIR(a.mode));
	CHECK_EQ_INT(listed_type(s, ROOT, false, "fdir", NULL), DT_DIR);
	rmdir(host_path("fdir"));
}

/* A guest user cannot turn its own file into a device node. */
static void test_no_forging(struct fuse_server *s)
{
	struct fuse_attr a;
	uint64_t id;

	host_write("mine", "", 0644);
	id = lookup_id(s, ROOT, "mine");
	CHECK_EQ_INT(guest_setxattr(s, id, NODE_XATTR, "b 0666 8:0", 10, 0), -EPERM);
	CHECK_EQ_INT(guest_setxattr(s, id, "user.krun.other", "1", 1, 0), -EPERM);
	CHECK_EQ_INT(guest_setxattr(s, id, "user.krun.", "1", 1, 0), -EPERM);
	CHECK_EQ_INT(host_getxattr("mine", NODE_XATTR, NULL, 0), -1);
	CHECK_EQ_INT(getattr(s, id, &a), 0);
	CHECK(S_ISREG(a.mode));
	/* nor read or remove what the server keeps there */
	CHECK_EQ_INT(lsetxattr(host_path("mine"), "user.krun.other", "1", 1, 0), 0);
	CHECK_EQ_INT(guest_getxattr(s, id, "user.krun.other", 64), -ENODATA);
	CHECK_EQ_INT(removexattr_op(s, id, "user.krun.other"), -EPERM);
	CHECK_EQ_INT(host_getxattr("mine", "user.krun.other", NULL, 0), 1);
	{
		bool own;

		CHECK_EQ_INT(list_count(s, id, "user.krun.other", &own), 0);
		CHECK(!own);
	}
	unlink(host_path("mine"));
}

/* On a share without user xattrs mknod of a device says so and leaves
 * nothing behind. ramfs has no xattrs at all, like tmpfs before 6.6. */
static void test_no_user_xattrs(struct fuse_server *s)
{
	uint64_t dir;

	CHECK_EQ_INT(mkdir(host_path("ramfs"), 0755), 0);
	CHECK_EQ_INT(mount("none", host_path("ramfs"), "ramfs", 0, "mode=0755"), 0);
	dir = lookup_id(s, ROOT, "ramfs");
	CHECK_EQ_INT(mknod_op(s, dir, "null", S_IFCHR | 0666, makedev(1, 3)), -EPERM);
	CHECK_EQ_INT(mknod_op(s, dir, "sda", S_IFBLK | 0666, makedev(8, 0)), -EPERM);
	CHECK(!host_exists("ramfs/null") && !host_exists("ramfs/sda"));
	/* FIFOs do not need xattrs */
	CHECK_EQ_INT(mknod_op(s, dir, "fifo", S_IFIFO | 0600, 0), 0);
	forget(s, ((struct fuse_entry_out *)rp.data)->nodeid, 1);
	unlink(host_path("ramfs/fifo"));
	forget(s, dir, 1);
	CHECK_EQ_INT(umount(host_path("ramfs")), 0);
	rmdir(host_path("ramfs"));
}

/* ---- the xattr policy ---- */

/* The guest's security.* and trusted.* are stored beneath user.krun. */
static void test_mapped(struct fuse_server *s)
{
	char value[64];
	uint64_t id;
	bool own;

	host_write("f", "f", 0644);
	id = lookup_id(s, ROOT, "f");
	CHECK_EQ_INT(guest_setxattr(s, id, "security.capability", capability, 20, 0), 0);
	CHECK_EQ_INT(host_getxattr("f", "security.capability", NULL, 0), -1);
	CHECK_EQ_INT(errno, ENODATA);
	CHECK_EQ_INT(host_getxattr("f", "user.krun.security.capability", value, sizeof(value)), 20);
	CHECK(!memcmp(value, capability, 20));
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 0), 20);
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), 20);
	CHECK(!memcmp(rp.data, capability, 20));
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 19), -ERANGE);

	CHECK_EQ_INT(guest_setxattr(s, id, "trusted.overlay.opaque", "y", 1, 0), 0);
	CHECK_EQ_INT(host_getxattr("f", "trusted.overlay.opaque", NULL, 0), -1);
	CHECK_EQ_INT(host_getxattr("f", "user.krun.trusted.overlay.opaque", value, 64), 1);
	CHECK_EQ_INT(guest_getxattr(s, id, "trusted.overlay.opaque", 64), 1);
	CHECK(rp.data[0] == 'y');
	CHECK_EQ_INT(guest_setxattr(s, id, "security.selinux", "label", 5, 0), 0);
	CHECK_EQ_INT(host_getxattr("f", "user.krun.security.selinux", value, 64), 5);

	CHECK_EQ_INT(list_count(s, id, "security.capability", &own), 1);
	CHECK(!own);
	CHECK_EQ_INT(listed("trusted.overlay.opaque", "user.krun.", &own), 1);
	CHECK_EQ_INT(listed("security.selinux", "user.krun.", &own), 1);
	/* the flags act on the guest's names */
	CHECK_EQ_INT(guest_setxattr(s, id, "trusted.overlay.opaque", "n", 1, XATTR_CREATE),
		     -EEXIST);
	CHECK_EQ_INT(guest_setxattr(s, id, "trusted.none", "n", 1, XATTR_REPLACE), -ENODATA);

	CHECK_EQ_INT(removexattr_op(s, id, "trusted.overlay.opaque"), 0);
	CHECK_EQ_INT(host_getxattr("f", "user.krun.trusted.overlay.opaque", NULL, 0), -1);
	CHECK_EQ_INT(guest_getxattr(s, id, "trusted.overlay.opaque", 64), -ENODATA);
	CHECK_EQ_INT(removexattr_op(s, id, "trusted.overlay.opaque"), -ENODATA);

	/* names the guest may not use at all */
	CHECK_EQ_INT(guest_setxattr(s, id, "system.nfs4_acl", "x", 1, 0), -EOPNOTSUPP);
	CHECK_EQ_INT(guest_setxattr(s, id, "other.name", "x", 1, 0), -EOPNOTSUPP);
	CHECK_EQ_INT(guest_getxattr(s, id, "other.name", 64), -EOPNOTSUPP);
	CHECK_EQ_INT(guest_setxattr(s, id, "security.", "x", 1, 0), -EINVAL);
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname));
		memcpy(longname, "security.", 9);
		longname[250] = '\0'; /* fits the guest's limit, not the host's */
		CHECK_EQ_INT(guest_setxattr(s, id, longname, "x", 1, 0), -ERANGE);
	}
	unlink(host_path("f"));
}

/* user.* and the POSIX ACLs pass through. */
static void test_pass_through(struct fuse_server *s)
{
	/* user::rw- user:1000:r-- group::r-- mask::r-- other::r-- (a named
	 * entry, so that the host keeps it as an ACL, not only as a mode) */
	static const unsigned char acl[] = {
		2, 0, 0, 0,
		1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
		2, 0, 4, 0, 0xe8, 0x03, 0, 0,
		4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	};
	char value[64];
	uint64_t id;
	bool own;

	host_write("p", "p", 0644);
	id = lookup_id(s, ROOT, "p");
	CHECK_EQ_INT(guest_setxattr(s, id, "user.mime", "text", 4, 0), 0);
	CHECK_EQ_INT(host_getxattr("p", "user.mime", value, sizeof(value)), 4);
	CHECK_EQ_INT(guest_setxattr(s, id, "system.posix_acl_access", acl, sizeof(acl), 0), 0);
	CHECK(host_getxattr("p", "system.posix_acl_access", value, sizeof(value)) > 0);
	CHECK_EQ_INT(guest_getxattr(s, id, "system.posix_acl_access", 64), sizeof(acl));
	CHECK_EQ_INT(list_count(s, id, "user.mime", &own), 1);
	CHECK_EQ_INT(listed("system.posix_acl_access", "", &own), 1);
	CHECK_EQ_INT(removexattr_op(s, id, "system.posix_acl_access"), 0);
	CHECK_EQ_INT(removexattr_op(s, id, "user.mime"), 0);
	CHECK_EQ_INT(host_getxattr("p", "user.mime", NULL, 0), -1);
	unlink(host_path("p"));
}

/* Of the host's own security.* and trusted.*, only a file capability shows,
 * until the guest sets its own. */
static void test_host_attributes(struct fuse_server *s)
{
	static const char other_cap[20] = "\x01\x00\x00\x02\x00\x10\x00\x00";
	char value[64];
	uint64_t id;
	bool own;

	host_write("h", "h", 0755);
	CHECK_EQ_INT(lsetxattr(host_path("h"), "security.capability", capability, 20, 0), 0);
	CHECK_EQ_INT(lsetxattr(host_path("h"), "security.krun-test", "s", 1, 0), 0);
	CHECK_EQ_INT(lsetxattr(host_path("h"), "trusted.krun-test", "t", 1, 0), 0);
	id = lookup_id(s, ROOT, "h");
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), 20);
	CHECK(!memcmp(rp.data, capability, 20));
	CHECK_EQ_INT(guest_getxattr(s, id, "security.krun-test", 64), -ENODATA);
	CHECK_EQ_INT(guest_getxattr(s, id, "trusted.krun-test", 64), -ENODATA);
	CHECK_EQ_INT(list_count(s, id, "security.capability", &own), 1);
	CHECK_EQ_INT(listed("security.krun-test", "", &own), 0);
	CHECK_EQ_INT(listed("trusted.krun-test", "", &own), 0);
	CHECK_EQ_INT(guest_setxattr(s, id, "security.capability", other_cap, 20, XATTR_CREATE),
		     -EEXIST);
	/* the guest's own: stored mapped, shown instead, the host's untouched */
	CHECK_EQ_INT(guest_setxattr(s, id, "security.capability", other_cap, 20, XATTR_REPLACE),
		     0);
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), 20);
	CHECK(!memcmp(rp.data, other_cap, 20));
	CHECK_EQ_INT(host_getxattr("h", "security.capability", value, sizeof(value)), 20);
	CHECK(!memcmp(value, capability, 20));
	CHECK_EQ_INT(list_count(s, id, "security.capability", &own), 1);
	/* removing it takes both away */
	CHECK_EQ_INT(removexattr_op(s, id, "security.capability"), 0);
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), -ENODATA);
	CHECK_EQ_INT(host_getxattr("h", "security.capability", NULL, 0), -1);
	CHECK_EQ_INT(host_getxattr("h", "security.krun-test", NULL, 0), 1);
	CHECK_EQ_INT(list_count(s, id, "security.capability", &own), 0);
	unlink(host_path("h"));
}

/* A write or truncation by an unprivileged guest user drops the file
 * capability the guest stored. */
static void test_kill_mapped_capability(struct fuse_server *s)
{
	uint64_t id, fh = 0;

	host_write("exe", "#!/bin/true\n", 0755);
	id = lookup_id(s, ROOT, "exe");
	CHECK_EQ_INT(guest_setxattr(s, id, "security.capability", capability, 20, 0), 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDWR, &fh), 0);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "#", 1, 0), 0); /* root: kept */
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), 20);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "#", 1, 1000), 0);
	CHECK_EQ_INT(host_getxattr("exe", "user.krun.security.capability", NULL, 0), -1);
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), -ENODATA);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);
	/* and on truncation */
	CHECK_EQ_INT(guest_setxattr(s, id, "security.capability", capability, 20, 0), 0);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 3 },
			     1000),
		     0);
	CHECK_EQ_INT(guest_getxattr(s, id, "security.capability", 64), -ENODATA);
	unlink(host_path("exe"));
}

int main(void)
{
	struct fuse_server *s;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("a private mount namespace (run as root)");
		return 1;
	}
	if (harness_setup())
		return 1;
	s = new_server(false, 0, 0);
	test_mknod(s);
	test_no_open(s);
	test_node_life(s);
	test_forged(s);
	test_no_forging(s);
	test_no_user_xattrs(s);
	test_mapped(s);
	test_pass_through(s);
	test_host_attributes(s);
	test_kill_mapped_capability(s);
	fuse_server_destroy(s);
	harness_teardown();
	return CHECK_DONE();
}
