/* The FUSE server against a temporary directory: every request is built in
 * memory, split over several buffers, and the replies and the host files
 * are checked. */
#include "fs/fuse_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "fuse_harness.h"

/* ---- tests ---- */

static void test_session(void)
{
	struct fuse_server_config cfg = { .root_dir = root_dir };
	struct fuse_server *s;
	struct fuse_init_out *out = (struct fuse_init_out *)rp.data;

	/* fd 0 open (the lowest free fd, if it was not), to see it stays so */
	CHECK(fcntl(0, F_GETFD) >= 0 || open("/dev/null", O_RDONLY) == 0);
	CHECK_EQ_INT(fuse_server_create(&cfg, &s), 0);
	/* nothing before INIT */
	CHECK_EQ_INT(getattr(s, ROOT, NULL), -EIO);
	/* a newer major: we answer with ours only */
	CHECK_EQ_INT(fuse_init(s, 8, 0), 0);
	CHECK_EQ_INT(out->major, 7);
	CHECK_EQ_INT(reply_len(&rp), FUSE_COMPAT_INIT_OUT_SIZE);
	CHECK_EQ_INT(fuse_init(s, 6, 0), -EPROTO);
	CHECK_EQ_INT(fuse_init(s, 7, FUSE_DO_READDIRPLUS | FUSE_POSIX_LOCKS | FUSE_EXPORT_SUPPORT |
					     FUSE_ATOMIC_O_TRUNC),
		     0);
	CHECK_EQ_INT(reply_len(&rp), sizeof(*out));
	CHECK_EQ_INT(out->major, 7);
	CHECK_EQ_INT(out->minor, 38);
	CHECK_EQ_INT(out->max_write, 1 << 20);
	CHECK_EQ_INT(out->flags, FUSE_DO_READDIRPLUS | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC);
	CHECK_EQ_INT(fuse_init(s, 7, 0), -EPROTO);
	CHECK_EQ_INT(getattr(s, ROOT, NULL), 0);
	/* an old minor gets the old reply size */
	req_begin(&q, FUSE_DESTROY, 0);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(getattr(s, ROOT, NULL), -EIO);
	req_begin(&q, FUSE_INIT, 0);
	req_add(&q, &(struct fuse_init_in){ .major = 7, .minor = 22 }, 16);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(reply_len(&rp), FUSE_COMPAT_22_INIT_OUT_SIZE);
	CHECK_EQ_INT(out->minor, 22);
	fuse_server_destroy(s);
	/* the server closes its own fds only (it once closed fd 0 as well) */
	CHECK(fcntl(0, F_GETFD) >= 0);

	cfg.root_dir = "/nonexistent/dir";
	CHECK_EQ_INT(fuse_server_create(&cfg, &s), -ENOENT);
}

static void test_malformed(struct fuse_server *s)
{
	struct iovec in, out;
	ssize_t n;

	/* shorter than a header: no reply possible */
	req_begin(&q, FUSE_GETATTR, ROOT);
	req_hdr(&q)->len = 10;
	CHECK_EQ_INT(send_raw(s, &q, 10, &rp, sizeof(rp)), -EINVAL);
	/* header length not the buffer's */
	req_add(&q, &(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in));
	req_hdr(&q)->len = q.len + 8;
	n = send_raw(s, &q, q.len, &rp, sizeof(rp));
	CHECK_EQ_INT(n, sizeof(rp.hdr));
	CHECK_EQ_INT(rp.hdr.error, -EINVAL);
	req_hdr(&q)->len = q.len - 8;
	n = send_raw(s, &q, q.len, &rp, sizeof(rp));
	CHECK_EQ_INT(rp.hdr.error, -EINVAL);
	/* a reply buffer that cannot hold a header */
	req_hdr(&q)->len = q.len;
	CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, 8), -EINVAL);
	/* room for the header only: the error says the buffer was too small */
	n = send_raw(s, &q, q.len, &rp, sizeof(rp.hdr));
	CHECK_EQ_INT(n, sizeof(rp.hdr));
	CHECK_EQ_INT(rp.hdr.error, -ERANGE);
	/* no buffers at all */
	CHECK_EQ_INT(fuse_server_handle(s, NULL, 0, NULL, 0), -EINVAL);
	in = (struct iovec){ q.buf, q.len };
	out = (struct iovec){ &rp, 0 };
	CHECK_EQ_INT(fuse_server_handle(s, &in, 1, &out, 1), -EINVAL);
	/* a huge length */
	req_hdr(&q)->len = UINT32_MAX;
	CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, sizeof(rp)), sizeof(rp.hdr));
	CHECK_EQ_INT(rp.hdr.error, -EINVAL);

	/* unknown opcodes */
	req_begin(&q, 1000000, ROOT);
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENOSYS);
	req_begin(&q, FUSE_SETUPMAPPING, ROOT);
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENOSYS);
	req_begin(&q, FUSE_BMAP, ROOT);
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENOSYS);
	/* arguments cut short */
	req_begin(&q, FUSE_GETLK, ROOT);
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	req_begin(&q, FUSE_SETATTR, ROOT);
	req_add(&q, "abc", 3);
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	req_begin(&q, FUSE_OPEN, ROOT);
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	req_begin(&q, FUSE_READ, ROOT);
	req_add(&q, "abc", 3);
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	/* FORGET with no argument: no reply, no harm */
	req_begin(&q, FUSE_FORGET, ROOT);
	req_hdr(&q)->len = q.len;
	CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, 0), 0);
	CHECK_EQ_INT(getattr(s, ROOT, NULL), 0);

	/* bad node ids */
	CHECK_EQ_INT(getattr(s, 0, NULL), -EBADF);
	CHECK_EQ_INT(getattr(s, 12345, NULL), -EBADF);
	CHECK_EQ_INT(getattr(s, (1ull << 32) | ROOT, NULL), -EBADF);
	CHECK_EQ_INT(getattr(s, UINT64_MAX, NULL), -EBADF);
	CHECK_EQ_INT(lookup(s, 0xdeadbeef, "x", NULL), -EBADF);

	/* names */
	CHECK_EQ_INT(lookup(s, ROOT, "..", NULL), -EINVAL);
	CHECK_EQ_INT(lookup(s, ROOT, ".", NULL), -EINVAL);
	CHECK_EQ_INT(lookup(s, ROOT, "", NULL), -EINVAL);
	CHECK_EQ_INT(lookup(s, ROOT, "a/b", NULL), -EINVAL);
	CHECK_EQ_INT(lookup(s, ROOT, "/etc", NULL), -EINVAL);
	req_begin(&q, FUSE_LOOKUP, ROOT);
	req_add(&q, "file", 4); /* no NUL */
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	{
		char long_name[300];

		memset(long_name, 'x', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		CHECK_EQ_INT(lookup(s, ROOT, long_name, NULL), -ENAMETOOLONG);
	}
	CHECK_EQ_INT(mkdir_op(s, ROOT, ".."), -EINVAL);
	CHECK_EQ_INT(mkdir_op(s, ROOT, "x/y"), -EINVAL);
}

static void test_inodes(void)
{
	struct fuse_server *s = new_server(false, 3, 2);
	struct fuse_entry_out e1, e2;
	struct fuse_attr a;
	uint64_t fh[3], id;
	char buf[400];
	struct stat st;

	host_write("a", "aaa", 0644);
	host_write("b", "b", 0644);
	host_write("c", "c", 0644);
	host_write("d", "d", 0644);
	CHECK_EQ_INT(lookup(s, ROOT, "a", &e1), 0);
	CHECK_EQ_INT(lookup(s, ROOT, "a", &e2), 0);
	CHECK_EQ_INT(e1.nodeid, e2.nodeid); /* one host inode, one node id */
	CHECK(e1.nodeid != ROOT);
	stat(host_path("a"), &st);
	CHECK_EQ_INT(e1.attr.ino, st.st_ino);
	CHECK_EQ_INT(e1.attr.size, 3);
	CHECK_EQ_INT(getattr(s, e1.nodeid, &a), 0);
	CHECK_EQ_INT(a.mode, S_IFREG | 0644);
	/* a hard link is the same inode */
	CHECK_EQ_INT(linkat(AT_FDCWD, host_path("a"), AT_FDCWD, strcat(strcpy(buf, root_dir), "/a2"), 0),
		     0);
	CHECK_EQ_INT(lookup_id(s, ROOT, "a2"), e1.nodeid);
	/* the table is full at 3 */
	CHECK(lookup_id(s, ROOT, "b"));
	CHECK(lookup_id(s, ROOT, "c"));
	CHECK_EQ_INT(lookup(s, ROOT, "d", NULL), -ENFILE);
	/* the virtual file and the root do not count */
	CHECK(lookup_id(s, ROOT, "init.krun"));
	/* forgetting more than held drops the node, and only once */
	forget(s, e1.nodeid, 1000);
	CHECK_EQ_INT(getattr(s, e1.nodeid, NULL), -EBADF);
	forget(s, e1.nodeid, 1);
	id = lookup_id(s, ROOT, "d");
	CHECK(id && id != e1.nodeid); /* the slot comes back with a new generation */
	CHECK_EQ_INT((uint32_t)id, (uint32_t)e1.nodeid);
	/* the root and virtual files survive any forget */
	forget(s, ROOT, UINT64_MAX);
	CHECK_EQ_INT(getattr(s, ROOT, NULL), 0);
	forget(s, lookup_id(s, ROOT, "init.krun"), 100);
	CHECK_EQ_INT(getattr(s, lookup_id(s, ROOT, "init.krun"), NULL), 0);
	/* a batch with unknown ids and a count past the buffer */
	{
		struct fuse_batch_forget_in in = { .count = 100 };
		struct fuse_forget_one one[3] = {
			{ .nodeid = id, .nlookup = 5 },
			{ .nodeid = 999999, .nlookup = 1 },
			{ .nodeid = UINT64_MAX, .nlookup = 1 },
		};

		req_begin(&q, FUSE_BATCH_FORGET, 0);
		req_add(&q, &in, sizeof(in));
		req_add(&q, one, sizeof(one));
		req_hdr(&q)->len = q.len;
		CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, sizeof(rp)), 0);
		CHECK_EQ_INT(getattr(s, id, NULL), -EBADF);
	}

	/* handles: two at most, forged ones refused */
	id = lookup_id(s, ROOT, "b");
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh[0]), 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, ROOT, O_RDONLY, &fh[1]), 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh[2]), -EMFILE);
	CHECK_EQ_INT(read_data(s, id, fh[0] + (1ull << 32), 0, 10), -EBADF);
	CHECK_EQ_INT(read_data(s, id, fh[0] + 7, 0, 10), -EBADF);
	CHECK_EQ_INT(read_data(s, id, UINT64_MAX, 0, 10), -EBADF);
	/* a handle of another node */
	CHECK_EQ_INT(read_data(s, ROOT, fh[0], 0, 10), -EBADF);
	CHECK_EQ_INT(read_data(s, id, fh[0], 0, 10), 0);
	CHECK_EQ_INT(reply_len(&rp), 1);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh[0]), 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh[0]), -EBADF);
	CHECK_EQ_INT(read_data(s, id, fh[0], 0, 10), -EBADF);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh[2]), 0);
	CHECK(fh[2] != fh[0]);
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, ROOT, fh[1]), 0);
	/* DESTROY closes everything the guest held */
	req_begin(&q, FUSE_DESTROY, 0);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(fuse_init(s, 7, 0), 0);
	CHECK_EQ_INT(getattr(s, id, NULL), -EBADF);
	CHECK_EQ_INT(read_data(s, id, fh[2], 0, 10), -EBADF);
	fuse_server_destroy(s);
	unlink(host_path("a"));
	unlink(host_path("a2"));
	unlink(host_path("b"));
	unlink(host_path("c"));
	unlink(host_path("d"));
}

static void test_files(struct fuse_server *s)
{
	uint64_t id, fh, id2, fh2;
	struct fuse_setattr_in sa;
	struct fuse_attr *a = &((struct fuse_attr_out *)rp.data)->attr;
	struct stat st;
	char buf[64];
	int fd;

	CHECK_EQ_INT(create(s, ROOT, "f", O_RDWR, 0640, &id, &fh), 0);
	CHECK_EQ_INT(create(s, ROOT, "f", O_RDWR | O_EXCL, 0640, &id2, &fh2), -EEXIST);
	CHECK_EQ_INT(lstat(host_path("f"), &st), 0);
	CHECK_EQ_INT(st.st_mode, S_IFREG | 0640);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "hello world", 11, 0), 0);
	CHECK_EQ_INT(read_data(s, id, fh, 6, 100), 0);
	CHECK_EQ_INT(reply_len(&rp), 5);
	CHECK(!memcmp(rp.data, "world", 5));
	/* offsets past the end and past what a file can have */
	CHECK_EQ_INT(read_data(s, id, fh, 1ull << 40, 100), 0);
	CHECK_EQ_INT(reply_len(&rp), 0);
	CHECK_EQ_INT(read_data(s, id, fh, UINT64_MAX, 100), -EINVAL);
	CHECK_EQ_INT(write_data(s, id, fh, UINT64_MAX - 2, "x", 1, 0), -EINVAL);
	/* a write claiming more data than it carries */
	{
		struct fuse_write_in in = { .fh = fh, .size = 1000 };

		req_begin(&q, FUSE_WRITE, id);
		req_add(&q, &in, sizeof(in));
		req_add(&q, "abc", 3);
		CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	}
	/* a big read into a small reply buffer gets what fits */
	req_begin(&q, FUSE_READ, id);
	req_add(&q, &(struct fuse_read_in){ .fh = fh, .size = 1 << 20 }, sizeof(struct fuse_read_in));
	req_hdr(&q)->len = q.len;
	CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, sizeof(rp.hdr) + 4), sizeof(rp.hdr) + 4);
	CHECK_EQ_INT(rp.hdr.len, sizeof(rp.hdr) + 4);
	CHECK(!memcmp(rp.data, "hell", 4));
	/* A write and a read of a MiB: the data goes between the file and the
	 * guest's buffers directly, across their odd splits. */
	{
		static uint8_t big[1 << 20];

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i * 7 + i / 4099);
		CHECK_EQ_INT(write_data(s, id, fh, 3, big, sizeof(big), 0), 0);
		CHECK_EQ_INT(read_data(s, id, fh, 3, sizeof(big)), 0);
		CHECK_EQ_INT(reply_len(&rp), sizeof(big));
		CHECK(!memcmp(rp.data, big, sizeof(big)));
		/* past MAX_WRITE: what the server reads at most */
		CHECK_EQ_INT(read_data(s, id, fh, 0, 3u << 20), 0);
		CHECK_EQ_INT(reply_len(&rp), 1 << 20);
		CHECK_EQ_INT(truncate(host_path("f"), 0), 0);
		CHECK_EQ_INT(write_data(s, id, fh, 0, "hello world", 11, 0), 0);
	}

	/* setattr: size, mode, times, owner */
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 5 };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), 0);
	CHECK_EQ_INT(a->size, 5);
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE | FATTR_FH, .size = 3, .fh = fh };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), 0);
	CHECK_EQ_INT(a->size, 3);
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE | FATTR_FH, .size = 3, .fh = fh + 99 };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), -EBADF);
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = UINT64_MAX };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), -EFBIG);
	sa = (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = S_IFREG | 0604 };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), 0);
	CHECK_EQ_INT(a->mode, S_IFREG | 0604);
	sa = (struct fuse_setattr_in){ .valid = FATTR_ATIME | FATTR_MTIME, .atime = 1000,
				       .mtime = 2000, .mtimensec = 5 };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), 0);
	lstat(host_path("f"), &st);
	CHECK_EQ_INT(st.st_atime, 1000);
	CHECK_EQ_INT(st.st_mtime, 2000);
	CHECK_EQ_INT(st.st_mtim.tv_nsec, 5);
	sa = (struct fuse_setattr_in){ .valid = FATTR_MTIME | FATTR_MTIME_NOW };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), 0);
	lstat(host_path("f"), &st);
	CHECK(st.st_mtime > 2000 && st.st_atime == 1000);
	sa = (struct fuse_setattr_in){ .valid = FATTR_MTIME, .mtimensec = 2000000000 };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), -EINVAL);
	sa = (struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID, .uid = 1234, .gid = 5678 };
	CHECK_EQ_INT(setattr(s, id, &sa, 0), 0);
	lstat(host_path("f"), &st);
	CHECK_EQ_INT(st.st_uid, 1234);
	CHECK_EQ_INT(st.st_gid, 5678);

	/* the creator's ids go to the new file (we run as root) */
	req_begin(&q, FUSE_MKDIR, ROOT);
	req_hdr(&q)->uid = 1001;
	req_hdr(&q)->gid = 1002;
	req_add(&q, &(struct fuse_mkdir_in){ .mode = 0700 }, sizeof(struct fuse_mkdir_in));
	req_str(&q, "owned");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	lstat(host_path("owned"), &st);
	CHECK_EQ_INT(st.st_uid, 1001);
	CHECK_EQ_INT(st.st_gid, 1002);
	CHECK_EQ_INT(st.st_mode, S_IFDIR | 0700);
	/* a directory made in a set-group-ID directory keeps inheriting it */
	chmod(host_path("owned"), 02755);
	CHECK_EQ_INT(mkdir_op(s, lookup_id(s, ROOT, "owned"), "sub"), 0);
	CHECK_EQ_INT(lstat(host_path("owned/sub"), &st), 0);
	CHECK_EQ_INT(st.st_mode, S_IFDIR | 02750);
	rmdir(host_path("owned/sub"));

	/* flush, fsync, fallocate, lseek */
	req_begin(&q, FUSE_FLUSH, id);
	req_add(&q, &(struct fuse_flush_in){ .fh = fh }, sizeof(struct fuse_flush_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	req_begin(&q, FUSE_FSYNC, id);
	req_add(&q, &(struct fuse_fsync_in){ .fh = fh, .fsync_flags = FUSE_FSYNC_FDATASYNC },
		sizeof(struct fuse_fsync_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	req_begin(&q, FUSE_FALLOCATE, id);
	req_add(&q, &(struct fuse_fallocate_in){ .fh = fh, .offset = 1 << 20, .length = 4096 },
		sizeof(struct fuse_fallocate_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	lstat(host_path("f"), &st);
	CHECK_EQ_INT(st.st_size, (1 << 20) + 4096);
	req_begin(&q, FUSE_FALLOCATE, id);
	req_add(&q, &(struct fuse_fallocate_in){ .fh = fh, .offset = UINT64_MAX, .length = 1 },
		sizeof(struct fuse_fallocate_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	req_begin(&q, FUSE_LSEEK, id);
	req_add(&q, &(struct fuse_lseek_in){ .fh = fh, .offset = 0, .whence = SEEK_HOLE },
		sizeof(struct fuse_lseek_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK(((struct fuse_lseek_out *)rp.data)->offset <= (1 << 20));
	req_begin(&q, FUSE_LSEEK, id);
	req_add(&q, &(struct fuse_lseek_in){ .fh = fh, .offset = 2 << 20, .whence = SEEK_DATA },
		sizeof(struct fuse_lseek_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENXIO); /* past the end */
	req_begin(&q, FUSE_LSEEK, id);
	req_add(&q, &(struct fuse_lseek_in){ .fh = fh, .whence = 77 }, sizeof(struct fuse_lseek_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);

	/* copy_file_range into a second file */
	CHECK_EQ_INT(create(s, ROOT, "g", O_RDWR, 0600, &id2, &fh2), 0);
	req_begin(&q, FUSE_COPY_FILE_RANGE, id);
	req_add(&q, &(struct fuse_copy_file_range_in){ .fh_in = fh, .nodeid_out = id2,
						       .fh_out = fh2, .off_out = 2, .len = 3 },
		sizeof(struct fuse_copy_file_range_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(((struct fuse_write_out *)rp.data)->size, 3);
	fd = open(host_path("g"), O_RDONLY);
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "\0\0hel", 5));
	close(fd);
	req_begin(&q, FUSE_COPY_FILE_RANGE, id);
	req_add(&q, &(struct fuse_copy_file_range_in){ .fh_in = fh, .nodeid_out = ROOT,
						       .fh_out = fh2, .len = 3 },
		sizeof(struct fuse_copy_file_range_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EBADF);

	/* open with O_TRUNC empties the file */
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id2, O_WRONLY | O_TRUNC, &fh2), 0);
	lstat(host_path("g"), &st);
	CHECK_EQ_INT(st.st_size, 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id2, fh2), 0);
	/* a directory cannot be opened for writing */
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, ROOT, O_RDWR, &fh2), -EISDIR);
	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, id, O_RDONLY, &fh2), -ENOTDIR);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);

	/* statfs and access */
	req_begin(&q, FUSE_STATFS, ROOT);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK(((struct fuse_statfs_out *)rp.data)->st.bsize > 0);
	req_begin(&q, FUSE_ACCESS, id);
	req_hdr(&q)->uid = 4321;
	req_add(&q, &(struct fuse_access_in){ .mask = R_OK }, sizeof(struct fuse_access_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0); /* 0604: others read */
	req_begin(&q, FUSE_ACCESS, id);
	req_hdr(&q)->uid = 4321;
	req_add(&q, &(struct fuse_access_in){ .mask = W_OK }, sizeof(struct fuse_access_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EACCES);
	req_begin(&q, FUSE_ACCESS, id);
	req_add(&q, &(struct fuse_access_in){ .mask = X_OK }, sizeof(struct fuse_access_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EACCES); /* no x bit: not even root */
	unlink(host_path("f"));
	unlink(host_path("g"));
	rmdir(host_path("owned"));
}

static void test_entries(struct fuse_server *s)
{
	struct fuse_entry_out e;
	struct stat st;
	uint64_t dir, id;

	CHECK_EQ_INT(mkdir_op(s, ROOT, "d"), 0);
	dir = ((struct fuse_entry_out *)rp.data)->nodeid;
	CHECK_EQ_INT(lstat(host_path("d"), &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ_INT(mkdir_op(s, ROOT, "d"), -EEXIST);
	/* mknod: regular, fifo, socket; devices as stand-ins (test_fs_nodes_xattr.c) */
	CHECK_EQ_INT(mknod_op(s, dir, "reg", S_IFREG | 0600, 0), 0);
	CHECK_EQ_INT(mknod_op(s, dir, "fifo", S_IFIFO | 0600, 0), 0);
	CHECK_EQ_INT(mknod_op(s, dir, "sock", S_IFSOCK | 0600, 0), 0);
	CHECK_EQ_INT(((struct fuse_entry_out *)rp.data)->attr.mode, S_IFSOCK | 0600);
	CHECK_EQ_INT(mknod_op(s, dir, "null", S_IFCHR | 0666, makedev(1, 3)), 0);
	CHECK_EQ_INT(mknod_op(s, dir, "blk", S_IFBLK | 0666, makedev(8, 0)), 0);
	CHECK_EQ_INT(mknod_op(s, dir, "odd", 0170000 | 0666, 0), -EINVAL);
	CHECK(!lstat(host_path("d/null"), &st) && S_ISREG(st.st_mode));
	CHECK(!lstat(host_path("d/blk"), &st) && S_ISREG(st.st_mode));
	/* a fifo is never opened by the server (it would block) */
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, lookup_id(s, dir, "fifo"), O_RDONLY, &id), -EACCES);

	/* symlink and readlink */
	req_begin(&q, FUSE_SYMLINK, dir);
	req_str(&q, "ln");
	req_str(&q, "reg");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	id = ((struct fuse_entry_out *)rp.data)->nodeid;
	CHECK(S_ISLNK(((struct fuse_entry_out *)rp.data)->attr.mode));
	req_begin(&q, FUSE_READLINK, id);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(reply_len(&rp), 3);
	CHECK(!memcmp(rp.data, "reg", 3));
	req_begin(&q, FUSE_READLINK, dir);
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENOENT);
	req_begin(&q, FUSE_SYMLINK, dir);
	req_str(&q, "ln2");
	req_add(&q, "reg", 3); /* target without NUL */
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);

	/* link */
	id = lookup_id(s, dir, "reg");
	req_begin(&q, FUSE_LINK, ROOT);
	req_add(&q, &(struct fuse_link_in){ .oldnodeid = id }, sizeof(struct fuse_link_in));
	req_str(&q, "hard");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(((struct fuse_entry_out *)rp.data)->nodeid, id);
	CHECK_EQ_INT(((struct fuse_entry_out *)rp.data)->attr.nlink, 2);

	/* rename, rename2 */
	CHECK_EQ_INT(rename_op(s, ROOT, "hard", dir, "moved", 0), 0);
	CHECK(!host_exists("hard") && host_exists("d/moved"));
	CHECK_EQ_INT(rename_op(s, dir, "moved", dir, "reg", RENAME_NOREPLACE), -EEXIST);
	CHECK_EQ_INT(rename_op(s, dir, "fifo", dir, "sock", RENAME_EXCHANGE), 0);
	CHECK_EQ_INT(lstat(host_path("d/sock"), &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_EQ_INT(rename_op(s, dir, "fifo", dir, "x", 1 << 10), -EINVAL);
	req_begin(&q, FUSE_RENAME, dir);
	req_add(&q, &(struct fuse_rename_in){ .newdir = ROOT }, sizeof(struct fuse_rename_in));
	req_str(&q, "moved");
	req_str(&q, "back");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK(host_exists("back"));
	/* a second name missing */
	req_begin(&q, FUSE_RENAME, dir);
	req_add(&q, &(struct fuse_rename_in){ .newdir = ROOT }, sizeof(struct fuse_rename_in));
	req_str(&q, "reg");
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);

	/* unlink, rmdir */
	CHECK_EQ_INT(name_op(s, FUSE_RMDIR, ROOT, "", 0, "d"), -ENOTEMPTY);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "back"), 0);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "back"), -ENOENT);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "d"), -EISDIR);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, ".."), -EINVAL);
	CHECK_EQ_INT(name_op(s, FUSE_RMDIR, ROOT, "", 0, ".."), -EINVAL);
	for (const char *const *n =
		     (const char *const[]){ "reg", "fifo", "sock", "ln", "null", "blk", NULL };
	     *n; n++)
		CHECK_EQ_INT(name_op(s, FUSE_UNLINK, dir, "", 0, *n), 0);
	CHECK_EQ_INT(name_op(s, FUSE_RMDIR, ROOT, "", 0, "d"), 0);
	CHECK(!host_exists("d"));
	/* the node of a removed directory is still valid, but empty of names */
	CHECK_EQ_INT(lookup(s, dir, "reg", &e), -ENOENT);
}

static void test_dirs_and_virtual(struct fuse_server *s)
{
	struct fuse_entry_out e;
	uint64_t fh, id;
	int n;
	char name[32];

	/* a host file of the virtual file's name is shadowed */
	host_write("init.krun", "host version", 0644);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "entry-%02d", i);
		host_write(name, "x", 0644);
	}
	CHECK_EQ_INT(count_in_listing(s, ROOT, false, "init.krun", 4096, &n), 1);
	CHECK_EQ_INT(n, 43); /* ".", "..", 40 files, init.krun */
	/* small buffers: the listing continues by offset */
	CHECK_EQ_INT(count_in_listing(s, ROOT, false, "entry-17", 64, &n), 1);
	CHECK_EQ_INT(n, 43);
	CHECK_EQ_INT(count_in_listing(s, ROOT, true, "init.krun", 500, &n), 1);
	CHECK_EQ_INT(n, 43);
	CHECK_EQ_INT(count_in_listing(s, ROOT, true, "entry-39", 4096, &n), 1);
	/* readdir with a forged fh or a file's */
	req_begin(&q, FUSE_READDIR, ROOT);
	req_add(&q, &(struct fuse_read_in){ .fh = 77, .size = 4096 }, sizeof(struct fuse_read_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EBADF);
	/* an offset far past the end */
	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, ROOT, O_RDONLY, &fh), 0);
	req_begin(&q, FUSE_READDIR, ROOT);
	req_add(&q, &(struct fuse_read_in){ .fh = fh, .offset = UINT64_MAX, .size = 4096 },
		sizeof(struct fuse_read_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(reply_len(&rp), 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, ROOT, fh), 0);

	/* the virtual file: lookup, getattr, read, and nothing else */
	CHECK_EQ_INT(lookup(s, ROOT, "init.krun", &e), 0);
	id = e.nodeid;
	CHECK_EQ_INT(e.attr.size, sizeof(init_data) - 1);
	CHECK_EQ_INT(e.attr.mode, S_IFREG | 0555);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh), 0);
	CHECK_EQ_INT(read_data(s, id, fh, 10, 4096), 0);
	CHECK_EQ_INT(reply_len(&rp), sizeof(init_data) - 11);
	CHECK(!memcmp(rp.data, init_data + 10, reply_len(&rp)));
	CHECK_EQ_INT(read_data(s, id, fh, UINT32_MAX * 4ull, 4096), 0);
	CHECK_EQ_INT(reply_len(&rp), 0);
	/* a reply buffer smaller than the read: what fits, and no more said */
	req_begin(&q, FUSE_READ, id);
	req_add(&q, &(struct fuse_read_in){ .fh = fh, .size = 4096 }, sizeof(struct fuse_read_in));
	req_hdr(&q)->len = q.len;
	CHECK_EQ_INT(send_raw(s, &q, q.len, &rp, sizeof(rp.hdr) + 4), sizeof(rp.hdr) + 4);
	CHECK_EQ_INT(rp.hdr.len, sizeof(rp.hdr) + 4);
	CHECK(!memcmp(rp.data, init_data, 4));
	CHECK_EQ_INT(write_data(s, id, fh, 0, "x", 1, 0), -EBADF);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDWR, &fh), -EACCES);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY | O_TRUNC, &fh), -EACCES);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_SIZE }, 0), -EPERM);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "init.krun"), -EPERM);
	CHECK_EQ_INT(rename_op(s, ROOT, "init.krun", ROOT, "other", 0), -EPERM);
	CHECK_EQ_INT(rename_op(s, ROOT, "entry-00", ROOT, "init.krun", 0), -EPERM);
	CHECK_EQ_INT(mkdir_op(s, ROOT, "init.krun"), -EEXIST);
	CHECK_EQ_INT(lookup(s, id, "x", NULL), -ENOTDIR);
	req_begin(&q, FUSE_SETXATTR, id);
	req_add(&q, &(struct fuse_setxattr_in){ .size = 1 }, FUSE_COMPAT_SETXATTR_IN_SIZE);
	req_str(&q, "user.x");
	req_add(&q, "1", 1);
	CHECK_EQ_INT(send_req(s, &q, &rp), -EPERM);
	req_begin(&q, FUSE_LINK, ROOT);
	req_add(&q, &(struct fuse_link_in){ .oldnodeid = id }, sizeof(struct fuse_link_in));
	req_str(&q, "hard");
	CHECK_EQ_INT(send_req(s, &q, &rp), -EPERM);
	{
		uint64_t nid, nfh;

		CHECK_EQ_INT(create(s, ROOT, "init.krun", O_RDWR, 0644, &nid, &nfh), -EEXIST);
	}
	/* the host file under it is untouched */
	{
		char buf[32] = { 0 };
		int fd = open(host_path("init.krun"), O_RDONLY);

		CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 12);
		close(fd);
	}
	/* a virtual file of that name only shows in the root */
	CHECK_EQ_INT(mkdir_op(s, ROOT, "sub"), 0);
	CHECK_EQ_INT(lookup(s, lookup_id(s, ROOT, "sub"), "init.krun", NULL), -ENOENT);
	CHECK_EQ_INT(count_in_listing(s, lookup_id(s, ROOT, "sub"), true, "init.krun", 4096, &n), 0);
	CHECK_EQ_INT(n, 2);
	rmdir(host_path("sub"));
	unlink(host_path("init.krun"));
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "entry-%02d", i);
		unlink(host_path(name));
	}
}

static void test_xattr_ioctl(struct fuse_server *s)
{
	uint64_t id = 0, fh;

	host_write("x", "x", 0644);
	id = lookup_id(s, ROOT, "x");
	req_begin(&q, FUSE_SETXATTR, id);
	req_add(&q, &(struct fuse_setxattr_in){ .size = 5 }, FUSE_COMPAT_SETXATTR_IN_SIZE);
	req_str(&q, "user.test");
	req_add(&q, "value", 5);
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	/* size 0: how big */
	req_begin(&q, FUSE_GETXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = 0 }, sizeof(struct fuse_getxattr_in));
	req_str(&q, "user.test");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(((struct fuse_getxattr_out *)rp.data)->size, 5);
	req_begin(&q, FUSE_GETXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = 2 }, sizeof(struct fuse_getxattr_in));
	req_str(&q, "user.test");
	CHECK_EQ_INT(send_req(s, &q, &rp), -ERANGE);
	req_begin(&q, FUSE_GETXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = 100 }, sizeof(struct fuse_getxattr_in));
	req_str(&q, "user.test");
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(reply_len(&rp), 5);
	CHECK(!memcmp(rp.data, "value", 5));
	req_begin(&q, FUSE_GETXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = 100 }, sizeof(struct fuse_getxattr_in));
	req_add(&q, "user.test", 9); /* no NUL */
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	req_begin(&q, FUSE_LISTXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = 0 }, sizeof(struct fuse_getxattr_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK(((struct fuse_getxattr_out *)rp.data)->size >= 10);
	req_begin(&q, FUSE_LISTXATTR, id);
	req_add(&q, &(struct fuse_getxattr_in){ .size = 4096 }, sizeof(struct fuse_getxattr_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK(memmem(rp.data, reply_len(&rp), "user.test", 10) != NULL);
	/* a value longer than the request */
	req_begin(&q, FUSE_SETXATTR, id);
	req_add(&q, &(struct fuse_setxattr_in){ .size = 500 }, FUSE_COMPAT_SETXATTR_IN_SIZE);
	req_str(&q, "user.big");
	req_add(&q, "v", 1);
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);
	CHECK_EQ_INT(name_op(s, FUSE_REMOVEXATTR, id, "", 0, "user.test"), 0);
	CHECK_EQ_INT(name_op(s, FUSE_REMOVEXATTR, id, "", 0, "user.test"), -ENODATA);
	CHECK_EQ_INT(getxattr(host_path("x"), "user.test", NULL, 0), -1);

	/* the exit code ioctl, on the root only */
	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, ROOT, O_RDONLY, &fh), 0);
	req_begin(&q, FUSE_IOCTL, ROOT);
	req_add(&q, &(struct fuse_ioctl_in){ .fh = fh, .cmd = 0x7602, .arg = 3 },
		sizeof(struct fuse_ioctl_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(exit_code_seen, 3);
	req_begin(&q, FUSE_IOCTL, ROOT);
	req_add(&q, &(struct fuse_ioctl_in){ .fh = fh, .cmd = 0x5401 },
		sizeof(struct fuse_ioctl_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENOTTY);
	req_begin(&q, FUSE_IOCTL, id);
	req_add(&q, &(struct fuse_ioctl_in){ .fh = fh, .cmd = 0x7602, .arg = 9 },
		sizeof(struct fuse_ioctl_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -ENOTTY);
	CHECK_EQ_INT(exit_code_seen, 3);
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, ROOT, fh), 0);
	unlink(host_path("x"));
}

/* Everything a guest could try to reach beyond the share. */
static void test_escapes(struct fuse_server *s)
{
	char outside[600], buf[64];
	struct stat st, before;
	uint64_t id, fh, dir;
	int fd;

	snprintf(outside, sizeof(outside), "%s/outside", tmp_dir);
	fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_EQ_INT(write(fd, "secret", 6), 6);
	close(fd);
	CHECK_EQ_INT(stat(outside, &before), 0);

	/* symlinks to "/", "..", and the file beside: lookups give the links
	 * themselves, which cannot be opened or walked */
	CHECK_EQ_INT(symlink("/", host_path("to-root")), 0);
	CHECK_EQ_INT(symlink("../outside", host_path("to-outside")), 0);
	CHECK_EQ_INT(symlink("../..", host_path("up")), 0);
	CHECK_EQ_INT(symlink(outside, host_path("abs")), 0);
	for (const char *const *n = (const char *const[]){ "to-root", "to-outside", "up", "abs",
							   NULL };
	     *n; n++) {
		struct fuse_entry_out e = { 0 };

		CHECK_EQ_INT(lookup(s, ROOT, *n, &e), 0);
		CHECK(S_ISLNK(e.attr.mode));
		CHECK_EQ_INT(open_node(s, FUSE_OPEN, e.nodeid, O_RDONLY, &fh), -EACCES);
		CHECK_EQ_INT(open_node(s, FUSE_OPEN, e.nodeid, O_RDWR | O_TRUNC, &fh), -EACCES);
		CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, e.nodeid, O_RDONLY, &fh), -EACCES);
		CHECK_EQ_INT(lookup(s, e.nodeid, "etc", NULL), -ENOTDIR);
		CHECK_EQ_INT(lookup(s, e.nodeid, "outside", NULL), -ENOTDIR);
		CHECK_EQ_INT(mkdir_op(s, e.nodeid, "new"), -ENOTDIR);
		/* setattr on a link changes the link, not its target */
		CHECK_EQ_INT(setattr(s, e.nodeid,
				     &(struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 0 }, 0),
			     -EACCES);
	}
	/* CREATE over a symlink creates nothing through it */
	{
		uint64_t nid;

		CHECK_EQ_INT(create(s, ROOT, "to-outside", O_RDWR | O_TRUNC, 0644, &nid, &fh),
			     -EACCES);
		forget(s, lookup_id(s, ROOT, "to-outside"), 2);
	}
	/* the server never followed: */
	CHECK_EQ_INT(stat(outside, &st), 0);
	CHECK_EQ_INT(st.st_size, 6);
	/* a directory reached through a symlink (inside) is still refused */
	CHECK_EQ_INT(mkdir_op(s, ROOT, "real"), 0);
	CHECK_EQ_INT(symlink("real", host_path("alias")), 0);
	CHECK_EQ_INT(lookup(s, lookup_id(s, ROOT, "alias"), "x", NULL), -ENOTDIR);

	/* forged node ids in every second-node position */
	id = 0xdeadbeef00000005ull;
	req_begin(&q, FUSE_LINK, ROOT);
	req_add(&q, &(struct fuse_link_in){ .oldnodeid = id }, sizeof(struct fuse_link_in));
	req_str(&q, "stolen");
	CHECK_EQ_INT(send_req(s, &q, &rp), -EBADF);
	CHECK(!host_exists("stolen"));
	host_write("mine", "mine", 0644);
	CHECK_EQ_INT(rename_op(s, ROOT, "mine", id, "mine", 0), -EBADF);
	CHECK_EQ_INT(rename_op(s, ROOT, "mine", 0, "mine", 0), -EBADF);
	CHECK_EQ_INT(rename_op(s, ROOT, "mine", ROOT, "../mine", 0), -EINVAL);
	CHECK_EQ_INT(rename_op(s, ROOT, "../outside", ROOT, "got", 0), -EINVAL);
	CHECK(host_exists("mine"));
	/* a removed node's id is not reusable by the guest */
	dir = lookup_id(s, ROOT, "real");
	forget(s, dir, 100);
	CHECK_EQ_INT(mkdir_op(s, dir, "x"), -EBADF);

	/* a host device node in the share: stat yes, open no */
	CHECK_EQ_INT(mknod(host_path("null"), S_IFCHR | 0666, makedev(1, 3)), 0);
	id = lookup_id(s, ROOT, "null");
	CHECK(id != 0);
	CHECK_EQ_INT(getattr(s, id, NULL), 0);
	CHECK(S_ISCHR(((struct fuse_attr_out *)rp.data)->attr.mode));
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh), -EACCES);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_WRONLY, &fh), -EACCES);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_SIZE }, 0), -EACCES);
	{
		uint64_t nid;

		/* CREATE of an existing device name goes through the same check */
		CHECK_EQ_INT(create(s, ROOT, "null", O_RDWR, 0644, &nid, &fh), -EACCES);
	}

	/* set-user-ID dropped when an unprivileged guest user writes */
	host_write("suid", "#!/bin/true\n", 06755);
	CHECK_EQ_INT(setxattr(host_path("suid"), "security.capability",
			      "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			      "\x00\x00\x00\x00",
			      20, 0),
		     0);
	id = lookup_id(s, ROOT, "suid");
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDWR, &fh), 0);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "#", 1, 0), 0); /* root: kept */
	lstat(host_path("suid"), &st);
	CHECK_EQ_INT(st.st_mode & 07777, 06755);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "#", 1, 1000), 0);
	lstat(host_path("suid"), &st);
	CHECK_EQ_INT(st.st_mode & 07777, 0755);
	CHECK_EQ_INT(getxattr(host_path("suid"), "security.capability", buf, sizeof(buf)), -1);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, fh), 0);
	/* and on truncation */
	chmod(host_path("suid"), 04755);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 1 },
			     1000),
		     0);
	lstat(host_path("suid"), &st);
	CHECK_EQ_INT(st.st_mode & 07777, 0755);
	/* and on a truncating open */
	chmod(host_path("suid"), 04755);
	req_begin(&q, FUSE_OPEN, id);
	req_hdr(&q)->uid = 1000;
	req_add(&q, &(struct fuse_open_in){ .flags = O_WRONLY | O_TRUNC }, sizeof(struct fuse_open_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, id, ((struct fuse_open_out *)rp.data)->fh), 0);
	lstat(host_path("suid"), &st);
	CHECK_EQ_INT(st.st_mode & 07777, 0755);

	/* the file beside the share is as it was */
	CHECK_EQ_INT(stat(outside, &st), 0);
	CHECK_EQ_INT(st.st_size, before.st_size);
	CHECK_EQ_INT(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	CHECK_EQ_INT(st.st_mode, before.st_mode);
	CHECK_EQ_INT(st.st_nlink, 1);
	for (const char *const *n = (const char *const[]){ "to-root", "to-outside", "up", "abs",
							   "alias", "mine", "null", "suid", NULL };
	     *n; n++)
		unlink(host_path(*n));
	rmdir(host_path("real"));
	unlink(outside);
}

static void test_read_only(void)
{
	struct fuse_server *s = new_server(true, 0, 0);
	uint64_t id, fh;

	host_write("ro", "data", 0644);
	id = lookup_id(s, ROOT, "ro");
	CHECK(id != 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY, &fh), 0);
	CHECK_EQ_INT(read_data(s, id, fh, 0, 10), 0);
	CHECK_EQ_INT(reply_len(&rp), 4);
	CHECK_EQ_INT(write_data(s, id, fh, 0, "x", 1, 0), -EROFS);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDWR, &fh), -EROFS);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, id, O_RDONLY | O_TRUNC, &fh), -EROFS);
	CHECK_EQ_INT(mkdir_op(s, ROOT, "new"), -EROFS);
	CHECK_EQ_INT(mknod_op(s, ROOT, "new", S_IFREG | 0644, 0), -EROFS);
	CHECK_EQ_INT(name_op(s, FUSE_UNLINK, ROOT, "", 0, "ro"), -EROFS);
	CHECK_EQ_INT(rename_op(s, ROOT, "ro", ROOT, "ro2", 0), -EROFS);
	CHECK_EQ_INT(setattr(s, id, &(struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0 }, 0),
		     -EROFS);
	CHECK_EQ_INT(name_op(s, FUSE_REMOVEXATTR, id, "", 0, "user.x"), -EROFS);
	{
		uint64_t nid;

		CHECK_EQ_INT(create(s, ROOT, "new", O_RDWR, 0644, &nid, &fh), -EROFS);
	}
	req_begin(&q, FUSE_ACCESS, id);
	req_add(&q, &(struct fuse_access_in){ .mask = W_OK }, sizeof(struct fuse_access_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EROFS);
	CHECK(host_exists("ro") && !host_exists("new"));
	fuse_server_destroy(s);
	unlink(host_path("ro"));
}

/* Several threads looking up, reading and forgetting the same files. */
struct thread_arg {
	struct fuse_server *s;
	int failures;
};

static void *hammer(void *p)
{
	struct thread_arg *t = p;
	static __thread struct req tq;
	static __thread struct reply trp;
	/* Room for an entry, as the guest gives: the server's bounce buffer
	 * follows the room offered, and 2 MiB per request costs seconds under
	 * ASan, which maps and faults in every large allocation anew. */
	const size_t room = sizeof(trp.hdr) + 4096;

	for (int i = 0; i < 2000; i++) {
		const char *name = i % 2 ? "t1" : "t2";
		struct fuse_forget_in fin = { .nlookup = 1 };
		uint64_t id;

		req_begin(&tq, FUSE_LOOKUP, ROOT);
		req_str(&tq, name);
		if (send_req_room(t->s, &tq, &trp, room)) {
			t->failures++;
			continue;
		}
		id = ((struct fuse_entry_out *)trp.data)->nodeid;
		req_begin(&tq, FUSE_GETATTR, id);
		req_add(&tq, &(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in));
		if (send_req_room(t->s, &tq, &trp, room))
			t->failures++;
		req_begin(&tq, FUSE_FORGET, id);
		req_add(&tq, &fin, sizeof(fin));
		req_hdr(&tq)->len = tq.len;
		send_raw(t->s, &tq, tq.len, &trp, room);
	}
	return NULL;
}

/* ---- POSIX locks ---- */

static int lock_op(struct fuse_server *s, uint32_t opcode, uint64_t nodeid, uint64_t fh,
		   uint64_t owner, uint32_t type, uint64_t start, uint64_t end,
		   struct fuse_file_lock *got)
{
	struct fuse_lk_in in = {
		.fh = fh, .owner = owner,
		.lk = { .start = start, .end = end, .type = type, .pid = (uint32_t)owner },
	};
	int err;

	req_begin(&q, opcode, nodeid);
	req_add(&q, &in, sizeof(in));
	err = send_req(s, &q, &rp);
	if (!err && opcode == FUSE_GETLK) {
		CHECK_EQ_INT(reply_len(&rp), sizeof(struct fuse_lk_out));
		*got = ((struct fuse_lk_out *)rp.data)->lk;
	}
	return err;
}

static int flush_owner(struct fuse_server *s, uint64_t nodeid, uint64_t fh, uint64_t owner)
{
	struct fuse_flush_in in = { .fh = fh, .lock_owner = owner };

	req_begin(&q, FUSE_FLUSH, nodeid);
	req_add(&q, &in, sizeof(in));
	return send_req(s, &q, &rp);
}

#define EOF_OFFSET ((uint64_t)INT64_MAX)

/* What a host process sees of the guest's locks: an open file description
 * lock test on the file. */
static short host_lock_test(const char *name, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int fd = open(host_path(name), O_RDWR);

	CHECK(fd >= 0 && !fcntl(fd, F_OFD_GETLK, &fl));
	close(fd);
	return fl.l_type;
}

struct lock_waiter {
	struct fuse_server *s;
	uint64_t nodeid, fh;
	atomic_bool cancel;
	atomic_bool done;
	int error;
};

/* A SETLKW on a thread of its own, as the device runs it. */
static void *wait_for_lock(void *arg)
{
	struct lock_waiter *w = arg;
	struct fuse_lk_in in = { .fh = w->fh, .owner = 3,
				 .lk = { .start = 0, .end = EOF_OFFSET, .type = F_WRLCK, .pid = 3 } };
	struct req *wq = malloc(sizeof(*wq));
	struct reply *wrp = malloc(sizeof(*wrp));
	struct iovec iq, io;

	req_begin(wq, FUSE_SETLKW, w->nodeid);
	req_add(wq, &in, sizeof(in));
	req_hdr(wq)->len = wq->len;
	iq = (struct iovec){ wq->buf, wq->len };
	io = (struct iovec){ wrp, sizeof(*wrp) };
	CHECK_EQ_INT(fuse_server_handle_waiting(w->s, &iq, 1, &io, 1, &w->cancel),
		     sizeof(wrp->hdr));
	w->error = wrp->hdr.error;
	atomic_store(&w->done, true);
	free(wq);
	free(wrp);
	return NULL;
}

static bool wait_done(struct lock_waiter *w, int ms)
{
	for (int i = 0; i < ms && !atomic_load(&w->done); i++)
		usleep(1000);
	return atomic_load(&w->done);
}

static void test_locks(void)
{
	struct fuse_server *s = new_server(false, 0, 0);
	struct fuse_file_lock got;
	struct lock_waiter waiter;
	uint64_t node, fh1, fh2, fh3, vnode, vfh;
	pthread_t th;
	struct iovec iq;

	host_write("locked", "0123456789", 0644);
	node = lookup_id(s, ROOT, "locked");
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, node, O_RDWR, &fh1), 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, node, O_RDWR, &fh2), 0);
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, node, O_RDONLY, &fh3), 0);

	/* nothing locked yet */
	CHECK_EQ_INT(lock_op(s, FUSE_GETLK, node, fh1, 1, F_WRLCK, 0, EOF_OFFSET, &got), 0);
	CHECK_EQ_INT(got.type, F_UNLCK);
	/* owner 1 write-locks bytes 0-9, owner 2 read-locks from 20 on */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_WRLCK, 0, 9, NULL), 0);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh2, 2, F_RDLCK, 20, EOF_OFFSET, NULL), 0);
	/* they conflict with each other as processes do */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh2, 2, F_RDLCK, 5, 5, NULL), -EAGAIN);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_WRLCK, 30, 40, NULL), -EAGAIN);
	CHECK_EQ_INT(lock_op(s, FUSE_GETLK, node, fh2, 2, F_WRLCK, 0, 100, &got), 0);
	CHECK_EQ_INT(got.type, F_WRLCK);
	CHECK_EQ_INT(got.start, 0);
	CHECK_EQ_INT(got.end, 9);
	CHECK_EQ_INT(got.pid, 1);
	CHECK_EQ_INT(lock_op(s, FUSE_GETLK, node, fh1, 1, F_WRLCK, 0, EOF_OFFSET, &got), 0);
	CHECK_EQ_INT(got.type, F_RDLCK);
	CHECK_EQ_INT(got.start, 20);
	CHECK_EQ_INT(got.end, EOF_OFFSET);
	CHECK_EQ_INT(got.pid, 2);
	/* read locks share */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh3, 3, F_RDLCK, 25, 30, NULL), 0);
	/* an owner's locks are one set through any of its handles */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh2, 1, F_WRLCK, 0, 15, NULL), 0);
	CHECK_EQ_INT(lock_op(s, FUSE_GETLK, node, fh3, 1, F_WRLCK, 0, 15, &got), 0);
	CHECK_EQ_INT(got.type, F_UNLCK);
	/* a host process sees the guest's locks */
	CHECK_EQ_INT(host_lock_test("locked", F_RDLCK, 0, 1), F_WRLCK);
	CHECK_EQ_INT(host_lock_test("locked", F_RDLCK, 20, 1), F_UNLCK);
	CHECK_EQ_INT(host_lock_test("locked", F_WRLCK, 20, 1), F_RDLCK);
	/* unlocking a part splits the lock */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_UNLCK, 4, 5, NULL), 0);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh2, 2, F_WRLCK, 4, 5, NULL), 0);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh2, 2, F_UNLCK, 4, 5, NULL), 0);
	/* ranges and types fcntl refuses */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_WRLCK, 10, 9, NULL), -EINVAL);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_WRLCK, 0, UINT64_MAX, NULL), -EINVAL);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, 7, 0, 1, NULL), -EINVAL);
	CHECK_EQ_INT(lock_op(s, FUSE_GETLK, node, fh1, 1, F_UNLCK, 0, 1, &got), -EINVAL);
	/* flock(2) is not offered */
	req_begin(&q, FUSE_SETLK, node);
	req_add(&q, &(struct fuse_lk_in){ .fh = fh1, .owner = 1, .lk_flags = FUSE_LK_FLOCK,
					  .lk = { .end = EOF_OFFSET, .type = F_WRLCK } },
		sizeof(struct fuse_lk_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), -EINVAL);

	/* SETLKW without a thread to spare is not made to wait */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLKW, node, fh3, 3, F_WRLCK, 0, 0, NULL), -ENOLCK);
	/* ... nor when the lock is free */
	CHECK_EQ_INT(lock_op(s, FUSE_SETLKW, node, fh3, 3, F_RDLCK, 50, 60, NULL), 0);
	/* on a thread of its own it waits, and an unlock wakes it */
	waiter = (struct lock_waiter){ .s = s, .nodeid = node, .fh = fh3 };
	pthread_create(&th, NULL, wait_for_lock, &waiter);
	CHECK(!wait_done(&waiter, 200));
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_UNLCK, 0, EOF_OFFSET, NULL), 0);
	CHECK(!wait_done(&waiter, 200)); /* owner 2 still reads from 20 on */
	/* FLUSH is a close: the owner's locks go */
	CHECK_EQ_INT(flush_owner(s, node, fh2, 2), 0);
	CHECK(wait_done(&waiter, 5000));
	pthread_join(th, NULL);
	CHECK_EQ_INT(waiter.error, 0);
	CHECK_EQ_INT(host_lock_test("locked", F_RDLCK, 100, 1), F_WRLCK);
	CHECK_EQ_INT(lock_op(s, FUSE_GETLK, node, fh1, 1, F_RDLCK, 0, 0, &got), 0);
	CHECK_EQ_INT(got.type, F_WRLCK);
	CHECK_EQ_INT(got.pid, 3);
	/* a lock held by a host process: waited for too, and a cancel (the
	 * device resets) ends the wait */
	int host_fd = open(host_path("locked"), O_RDWR);
	struct flock hl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	CHECK_EQ_INT(flush_owner(s, node, fh3, 3), 0);
	CHECK(host_fd >= 0 && !fcntl(host_fd, F_OFD_SETLK, &hl));
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, node, fh1, 1, F_RDLCK, 0, 0, NULL), -EAGAIN);
	waiter = (struct lock_waiter){ .s = s, .nodeid = node, .fh = fh1 };
	pthread_create(&th, NULL, wait_for_lock, &waiter);
	CHECK(!wait_done(&waiter, 300));
	atomic_store(&waiter.cancel, true);
	fuse_server_wake_waiting(s);
	CHECK(wait_done(&waiter, 5000));
	pthread_join(th, NULL);
	CHECK_EQ_INT(waiter.error, -EINTR);
	/* ... and a host unlock is noticed without any guest unlock */
	waiter = (struct lock_waiter){ .s = s, .nodeid = node, .fh = fh1 };
	pthread_create(&th, NULL, wait_for_lock, &waiter);
	CHECK(!wait_done(&waiter, 200));
	close(host_fd);
	CHECK(wait_done(&waiter, 5000));
	pthread_join(th, NULL);
	CHECK_EQ_INT(waiter.error, 0);

	/* a release that flushes drops the owner's locks too */
	req_begin(&q, FUSE_RELEASE, node);
	req_add(&q, &(struct fuse_release_in){ .fh = fh3, .release_flags = FUSE_RELEASE_FLUSH,
					      .lock_owner = 3 }, sizeof(struct fuse_release_in));
	CHECK_EQ_INT(send_req(s, &q, &rp), 0);
	CHECK_EQ_INT(host_lock_test("locked", F_WRLCK, 0, 0), F_UNLCK);
	/* virtual files have no locks */
	vnode = lookup_id(s, ROOT, "init.krun");
	CHECK_EQ_INT(open_node(s, FUSE_OPEN, vnode, O_RDONLY, &vfh), 0);
	CHECK_EQ_INT(lock_op(s, FUSE_SETLK, vnode, vfh, 1, F_RDLCK, 0, 0, NULL), -ENOLCK);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, vnode, vfh), 0);
	/* a request that may wait is told apart by its header alone */
	req_begin(&q, FUSE_SETLKW, node);
	iq = (struct iovec){ q.buf, q.len };
	CHECK(fuse_server_request_may_wait(&iq, 1));
	req_begin(&q, FUSE_SETLK, node);
	CHECK(!fuse_server_request_may_wait(&iq, 1));
	iq.iov_len = 4;
	CHECK(!fuse_server_request_may_wait(&iq, 1));
	CHECK_EQ_INT(release(s, FUSE_RELEASE, node, fh1), 0);
	CHECK_EQ_INT(release(s, FUSE_RELEASE, node, fh2), 0);
	forget(s, node, 1);
	fuse_server_destroy(s);
	unlink(host_path("locked"));
}

static void test_threads(void)
{
	struct fuse_server *s = new_server(false, 0, 0);
	struct thread_arg args[4];
	pthread_t th[4];

	host_write("t1", "1", 0644);
	host_write("t2", "2", 0644);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ .s = s };
		pthread_create(&th[i], NULL, hammer, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(args[i].failures, 0);
	}
	fuse_server_destroy(s);
	unlink(host_path("t1"));
	unlink(host_path("t2"));
}

int main(void)
{
	struct fuse_server *s;

	if (harness_setup())
		return 1;

	test_session();
	s = new_server(false, 0, 0);
	test_malformed(s);
	test_files(s);
	test_entries(s);
	test_dirs_and_virtual(s);
	test_xattr_ioctl(s);
	test_escapes(s);
	fuse_server_destroy(s);
	test_inodes();
	test_read_only();
	test_locks();
	test_threads();

	harness_teardown();
	return CHECK_DONE();
}
