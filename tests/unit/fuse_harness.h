/* Driving the FUSE server as a guest would, for the unit tests of src/fs/:
 * requests built in memory and sent split over several buffers, one helper
 * per request, and the share's host side. Each test program includes it
 * once; its requests and replies are that program's own. */
#ifndef KRUN_TESTS_FUSE_HARNESS_H
#define KRUN_TESTS_FUSE_HARNESS_H

#include "fs/fuse_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define ROOT 1
#define BUF_SIZE (1 << 21)

static char tmp_dir[256];  /* holds the share and a file beside it */
static char root_dir[300]; /* the share */

/* ---- building requests ---- */

struct req {
	uint8_t buf[BUF_SIZE];
	size_t len;
};

struct reply {
	struct fuse_out_header hdr;
	uint8_t data[BUF_SIZE];
};

static inline void req_begin(struct req *q, uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = { .opcode = opcode, .nodeid = nodeid, .unique = 42,
				    .uid = 0, .gid = 0, .pid = 1 };

	memcpy(q->buf, &h, sizeof(h));
	q->len = sizeof(h);
}

static inline void req_add(struct req *q, const void *data, size_t len)
{
	memcpy(q->buf + q->len, data, len);
	q->len += len;
}

static inline void req_str(struct req *q, const char *s)
{
	req_add(q, s, strlen(s) + 1);
}

static inline struct fuse_in_header *req_hdr(struct req *q)
{
	return (struct fuse_in_header *)q->buf;
}

/* Sends the request split in three buffers at odd places, and the reply
 * space in two; hdr.len is set from the request unless set already. */
static inline ssize_t send_raw(struct fuse_server *s, struct req *q, size_t in_len, struct reply *rp,
			       size_t out_len)
{
	size_t a = in_len / 3, b = in_len / 3 * 2 + 1 > in_len ? in_len : in_len / 3 * 2 + 1;
	size_t c = out_len > 5 ? 5 : out_len;
	struct iovec in[3] = {
		{ q->buf, a }, { q->buf + a, b - a }, { q->buf + b, in_len - b },
	};
	struct iovec out[2] = { { rp, c }, { (uint8_t *)rp + c, out_len - c } };

	memset(&rp->hdr, 0xee, sizeof(rp->hdr));
	return fuse_server_handle(s, in, 3, out, 2);
}

/* The reply's error (0 or -errno), with room for out_len bytes of reply;
 * the payload is in rp->data. */
static inline int send_req_room(struct fuse_server *s, struct req *q, struct reply *rp, size_t out_len)
{
	ssize_t n;

	req_hdr(q)->len = q->len;
	n = send_raw(s, q, q->len, rp, out_len);
	if (n < (ssize_t)sizeof(rp->hdr) || rp->hdr.len != n || rp->hdr.unique != 42)
		return -1000;
	return rp->hdr.error;
}

static inline int send_req(struct fuse_server *s, struct req *q, struct reply *rp)
{
	return send_req_room(s, q, rp, sizeof(*rp));
}

static inline size_t reply_len(const struct reply *rp)
{
	return rp->hdr.len - sizeof(rp->hdr);
}

static struct req q;
static struct reply rp;

/* ---- one helper per request ---- */

static inline int fuse_init(struct fuse_server *s, uint32_t major, uint32_t flags)
{
	struct fuse_init_in in = { .major = major, .minor = 38, .max_readahead = 65536,
				   .flags = flags };

	req_begin(&q, FUSE_INIT, 0);
	req_add(&q, &in, sizeof(in));
	return send_req(s, &q, &rp);
}

static inline int lookup(struct fuse_server *s, uint64_t parent, const char *name,
			 struct fuse_entry_out *e)
{
	int err;

	req_begin(&q, FUSE_LOOKUP, parent);
	req_str(&q, name);
	err = send_req(s, &q, &rp);
	if (!err && e)
		memcpy(e, rp.data, sizeof(*e));
	return err;
}

static inline uint64_t lookup_id(struct fuse_server *s, uint64_t parent, const char *name)
{
	struct fuse_entry_out e;

	return lookup(s, parent, name, &e) ? 0 : e.nodeid;
}

static inline void forget(struct fuse_server *s, uint64_t nodeid, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };
	/* its own buffers: callers walk replies while forgetting */
	static struct req fq;
	static struct reply frp;

	req_begin(&fq, FUSE_FORGET, nodeid);
	req_add(&fq, &in, sizeof(in));
	req_hdr(&fq)->len = fq.len;
	CHECK_EQ_INT(send_raw(s, &fq, fq.len, &frp, sizeof(frp)), 0);
}

static inline int getattr(struct fuse_server *s, uint64_t nodeid, struct fuse_attr *a)
{
	struct fuse_getattr_in in = { 0 };
	int err;

	req_begin(&q, FUSE_GETATTR, nodeid);
	req_add(&q, &in, sizeof(in));
	err = send_req(s, &q, &rp);
	if (!err && a)
		*a = ((struct fuse_attr_out *)rp.data)->attr;
	return err;
}

static inline int open_node(struct fuse_server *s, uint32_t opcode, uint64_t nodeid, uint32_t flags,
			    uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	int err;

	req_begin(&q, opcode, nodeid);
	req_add(&q, &in, sizeof(in));
	err = send_req(s, &q, &rp);
	if (!err)
		*fh = ((struct fuse_open_out *)rp.data)->fh;
	return err;
}

static inline int release(struct fuse_server *s, uint32_t opcode, uint64_t nodeid, uint64_t fh)
{
	struct fuse_release_in in = { .fh = fh };

	req_begin(&q, opcode, nodeid);
	req_add(&q, &in, sizeof(in));
	return send_req(s, &q, &rp);
}

static inline int create(struct fuse_server *s, uint64_t parent, const char *name, uint32_t flags,
			 uint32_t mode, uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_create_in in = { .flags = flags, .mode = S_IFREG | mode };
	int err;

	req_begin(&q, FUSE_CREATE, parent);
	req_add(&q, &in, sizeof(in));
	req_str(&q, name);
	err = send_req(s, &q, &rp);
	if (!err) {
		CHECK_EQ_INT(reply_len(&rp), sizeof(struct fuse_entry_out) +
						     sizeof(struct fuse_open_out));
		*nodeid = ((struct fuse_entry_out *)rp.data)->nodeid;
		*fh = ((struct fuse_open_out *)(rp.data + sizeof(struct fuse_entry_out)))->fh;
	}
	return err;
}

static inline int write_data(struct fuse_server *s, uint64_t nodeid, uint64_t fh, uint64_t off,
			     const void *data, uint32_t size, uint32_t uid)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };
	int err;

	req_begin(&q, FUSE_WRITE, nodeid);
	req_hdr(&q)->uid = uid;
	req_add(&q, &in, sizeof(in));
	req_add(&q, data, size);
	err = send_req(s, &q, &rp);
	if (!err)
		CHECK_EQ_INT(((struct fuse_write_out *)rp.data)->size, size);
	return err;
}

static inline int read_data(struct fuse_server *s, uint64_t nodeid, uint64_t fh, uint64_t off,
			    uint32_t size)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };

	req_begin(&q, FUSE_READ, nodeid);
	req_add(&q, &in, sizeof(in));
	return send_req(s, &q, &rp);
}

static inline int name_op(struct fuse_server *s, uint32_t opcode, uint64_t parent, const void *arg,
			  size_t arg_len, const char *name)
{
	req_begin(&q, opcode, parent);
	req_add(&q, arg, arg_len);
	req_str(&q, name);
	return send_req(s, &q, &rp);
}

static inline int mkdir_op(struct fuse_server *s, uint64_t parent, const char *name)
{
	struct fuse_mkdir_in in = { .mode = 0750 };

	return name_op(s, FUSE_MKDIR, parent, &in, sizeof(in), name);
}

static inline int mknod_op(struct fuse_server *s, uint64_t parent, const char *name, uint32_t mode,
			   uint32_t rdev)
{
	struct fuse_mknod_in in = { .mode = mode, .rdev = rdev };

	return name_op(s, FUSE_MKNOD, parent, &in, sizeof(in), name);
}

static inline int rename_op(struct fuse_server *s, uint64_t olddir, const char *oldname,
			    uint64_t newdir, const char *newname, uint32_t flags)
{
	struct fuse_rename2_in in = { .newdir = newdir, .flags = flags };

	req_begin(&q, FUSE_RENAME2, olddir);
	req_add(&q, &in, sizeof(in));
	req_str(&q, oldname);
	req_str(&q, newname);
	return send_req(s, &q, &rp);
}

static inline int setattr(struct fuse_server *s, uint64_t nodeid, const struct fuse_setattr_in *in,
			  uint32_t uid)
{
	req_begin(&q, FUSE_SETATTR, nodeid);
	req_hdr(&q)->uid = uid;
	req_add(&q, in, sizeof(*in));
	return send_req(s, &q, &rp);
}

/* Walks a directory listing; returns how many entries had name. */
static inline int count_in_listing(struct fuse_server *s, uint64_t nodeid, bool plus,
				   const char *name, uint32_t chunk, int *entries)
{
	uint64_t fh, off = 0;
	int found = 0, rounds = 0;

	*entries = 0;
	CHECK_EQ_INT(open_node(s, FUSE_OPENDIR, nodeid, O_RDONLY, &fh), 0);
	for (;;) {
		size_t pos = 0;

		req_begin(&q, plus ? FUSE_READDIRPLUS : FUSE_READDIR, nodeid);
		req_add(&q, &(struct fuse_read_in){ .fh = fh, .offset = off, .size = chunk },
			sizeof(struct fuse_read_in));
		CHECK_EQ_INT(send_req(s, &q, &rp), 0);
		if (reply_len(&rp) == 0 || ++rounds > 1000)
			break;
		while (pos < reply_len(&rp)) {
			struct fuse_dirent *d;
			size_t size;

			if (plus) {
				struct fuse_direntplus *dp = (void *)(rp.data + pos);

				d = &dp->dirent;
				size = FUSE_DIRENTPLUS_SIZE(dp);
				if (dp->entry_out.nodeid && dp->entry_out.nodeid != ROOT)
					forget(s, dp->entry_out.nodeid, 1);
			} else {
				d = (void *)(rp.data + pos);
				size = FUSE_DIRENT_SIZE(d);
			}
			if (d->namelen == strlen(name) && !memcmp(d->name, name, d->namelen))
				found++;
			(*entries)++;
			off = d->off;
			pos += size;
		}
	}
	CHECK_EQ_INT(release(s, FUSE_RELEASEDIR, nodeid, fh), 0);
	return found;
}

/* ---- host side ---- */

static inline char *host_path(const char *name)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/%s", root_dir, name);
	return path;
}

static inline void host_write(const char *name, const char *data, mode_t mode)
{
	int fd = open(host_path(name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, data, strlen(data)), strlen(data));
	fchmod(fd, mode);
	close(fd);
}

static inline bool host_exists(const char *name)
{
	struct stat st;

	return !lstat(host_path(name), &st);
}

static const char init_data[] = "#!/bin/sh\necho virtual\n";
static const struct fuse_virtual_file vfiles[] = {
	{ .name = "init.krun", .data = init_data, .len = sizeof(init_data) - 1, .mode = 0755 },
};
static int exit_code_seen = -1;

static inline void record_exit(void *opaque, int code)
{
	(void)opaque;
	exit_code_seen = code;
}

static inline struct fuse_server *new_server(bool read_only, unsigned int max_inodes,
					     unsigned int max_handles)
{
	struct fuse_server_config cfg = {
		.root_dir = root_dir, .read_only = read_only, .max_inodes = max_inodes,
		.max_handles = max_handles, .virtual_files = vfiles, .nr_virtual_files = 1,
		.exit_code = record_exit,
	};
	struct fuse_server *s = NULL;
	/* the root as the VMM hands it over: opened once, readable */
	int root_fd = open(root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	CHECK_EQ_INT(fuse_server_create_at(&cfg, root_fd, &s), 0);
	CHECK_EQ_INT(fuse_init(s, 7, FUSE_DO_READDIRPLUS | FUSE_POSIX_LOCKS |
					   FUSE_ATOMIC_O_TRUNC | FUSE_HANDLE_KILLPRIV_V2), 0);
	return s;
}

/* Makes the temporary share: TMPDIR/fuse-test-XXXXXX/share. */
static inline int harness_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/fuse-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(root_dir, sizeof(root_dir), "%s/share", tmp_dir);
	mkdir(root_dir, 0755);
	umask(022);
	return 0;
}

/* Removes the share, which the tests left empty, and says what is left. */
static inline void harness_teardown(void)
{
	rmdir(root_dir);
	if (rmdir(tmp_dir))
		fprintf(stderr, "leftovers in %s\n", tmp_dir);
}

#endif
