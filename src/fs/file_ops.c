/* Operations on open files: open and create, read and write (the data
 * straight between the file and the guest's buffers), fsync, flush,
 * release, fallocate, lseek and copy_file_range. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "base/iov.h"
#include "fs/ops.h"

/* Open flags the guest may ask for; creation is CREATE's business. */
static int open_flags(uint32_t guest_flags)
{
	return guest_flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC |
			      O_DIRECT | O_NOATIME | O_LARGEFILE | O_DIRECTORY);
}

static bool open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* An open that truncates is a change like a write. */
static void open_kill_priv(struct fuse_req *r, int fd, int flags, uint32_t fuse_open_flags)
{
	if ((flags & O_TRUNC) &&
	    (!req_is_root_writer(r) || (fuse_open_flags & FUSE_OPEN_KILL_SUIDGID)))
		kill_priv(r->s, fd);
}

static int reply_open(struct fuse_req *r, int fd, uint64_t nodeid,
		      const struct fuse_virtual_file *vf)
{
	struct fuse_open_out *out = reply_space(r, sizeof(*out));
	int ret;

	if (!out) {
		if (fd >= 0)
			close(fd);
		return -ERANGE;
	}
	ret = handle_new(r->s, fd, nodeid, vf, &out->fh);
	if (ret)
		r->reply_len -= sizeof(*out);
	return ret;
}

static int open_node(struct fuse_req *r, struct fs_inode *node, bool dir)
{
	const struct fuse_open_in *in = req_arg(r, sizeof(*in));
	int flags, fd;

	if (!in)
		return -EINVAL;
	flags = open_flags(in->flags) | (dir ? O_DIRECTORY : 0);
	if (open_writes(flags) && r->s->cfg.read_only)
		return -EROFS;
	if (node->vfile) {
		if (dir)
			return -ENOTDIR;
		if (open_writes(flags))
			return -EACCES;
		return reply_open(r, -1, r->hdr->nodeid, node->vfile);
	}
	fd = inode_open(r->s, node, flags);
	if (fd < 0)
		return fd;
	open_kill_priv(r, fd, flags, in->open_flags);
	return reply_open(r, fd, r->hdr->nodeid, NULL);
}

int op_open(struct fuse_req *r, struct fs_inode *node)
{
	return open_node(r, node, false);
}

int op_opendir(struct fuse_req *r, struct fs_inode *node)
{
	return open_node(r, node, true);
}

int op_create(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_create_in *in = req_arg(r, sizeof(*in));
	struct fuse_entry_out *e;
	struct fs_inode *created;
	const char *name;
	size_t reply_start = r->reply_len;
	int flags, fd, ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	flags = open_flags(in->flags) & ~O_DIRECTORY;
	/* Create exclusively, so that an existing entry (perhaps a device node)
	 * goes through the checked open of an inode instead. */
	fd = open_beneath(node->fd, name, flags | O_CREAT | O_EXCL, in->mode & 07777);
	if (fd >= 0) {
		close(fd);
		ret = reply_created(r, node, name, in->mode, true);
	} else if (fd == -EEXIST && !(in->flags & O_EXCL)) {
		ret = reply_entry(r, node, name);
	} else {
		ret = fd;
	}
	if (ret)
		return ret;
	e = (struct fuse_entry_out *)(r->reply + reply_start);
	created = inode_get(r->s, e->nodeid);
	fd = created ? inode_open(r->s, created, flags) : -EBADF;
	inode_put(r->s, created);
	if (fd >= 0) {
		open_kill_priv(r, fd, flags, in->open_flags);
		ret = reply_open(r, fd, e->nodeid, NULL);
		if (!ret)
			return 0;
	} else {
		ret = fd;
	}
	forget_one(r->s, e->nodeid, 1);
	return ret;
}

int op_read(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_read_in *in = req_arg(r, sizeof(*in));
	const size_t data_at = sizeof(struct fuse_out_header);
	struct iovec slice[SLICE_MAX];
	struct fs_handle *h;
	size_t size;
	ssize_t n;
	int nr, ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if (in->offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	/* the handler made sure the out header fits */
	size = iov_total(r->out, r->nr_out) - data_at;
	if (size > MAX_WRITE)
		size = MAX_WRITE;
	if (size > in->size)
		size = in->size;
	nr = iov_slice(r->out, r->nr_out, data_at, size, slice, SLICE_MAX);
	if (nr < 0)
		return nr;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->vfile) {
		const struct fuse_virtual_file *vf = h->vfile;

		n = in->offset < vf->len ? (ssize_t)(vf->len - in->offset) : 0;
		if ((size_t)n > size)
			n = size;
		if (n)
			iov_scatter(slice, nr, (const uint8_t *)vf->data + in->offset, n);
	} else {
		n = preadv(h->fd, slice, nr, (off_t)in->offset);
		if (n < 0)
			ret = -errno;
	}
	handle_put(r->s, h);
	if (!ret) {
		r->reply_len = n;
		r->reply_data_in_place = true;
	}
	return ret;
}

int op_write(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_write_in *in = req_arg(r, sizeof(*in));
	const size_t data_at = sizeof(struct fuse_in_header) + sizeof(*in);
	struct iovec slice[SLICE_MAX];
	struct fuse_write_out *out;
	struct fs_handle *h;
	ssize_t n;
	int nr, ret;

	(void)node;
	/* The data follows in the guest's buffers, never copied: see
	 * request_copy_len. */
	if (!in)
		return -EINVAL;
	if (in->size > r->hdr->len - data_at || in->offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	nr = iov_slice(r->in, r->nr_in, data_at, in->size, slice, SLICE_MAX);
	if (nr < 0)
		return nr;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->vfile) {
		handle_put(r->s, h);
		return -EBADF;
	}
	if (!req_is_root_writer(r) || (in->write_flags & FUSE_WRITE_KILL_SUIDGID))
		kill_priv(r->s, h->fd);
	n = pwritev(h->fd, slice, nr, (off_t)in->offset);
	if (n < 0)
		ret = -errno;
	handle_put(r->s, h);
	if (ret)
		return ret;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->size = (uint32_t)n;
	return 0;
}

int op_release(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_release_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;

	(void)node;
	if (!in)
		return -EINVAL;
	/* A release that stands for the last close's flush drops the owner's
	 * locks as FLUSH does. */
	if ((in->release_flags & FUSE_RELEASE_FLUSH) && (h = handle_get(r->s, in->fh))) {
		plock_release_owner(r->s, h, in->lock_owner);
		handle_put(r->s, h);
	}
	return handle_release(r->s, in->fh);
}

int op_fsync(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_fsync_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->fd >= 0 &&
	    ((in->fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(h->fd) : fsync(h->fd)))
		ret = -errno;
	handle_put(r->s, h);
	return ret;
}

int op_flush(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_flush_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	/* A close: POSIX drops every lock the closing owner holds on the file. */
	plock_release_owner(r->s, h, in->lock_owner);
	handle_put(r->s, h);
	return 0;
}

int op_fallocate(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_fallocate_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if (in->offset > (uint64_t)LLONG_MAX || in->length > (uint64_t)LLONG_MAX)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->fd < 0)
		ret = -EBADF;
	else if (fallocate(h->fd, (int)in->mode, (off_t)in->offset, (off_t)in->length))
		ret = -errno;
	handle_put(r->s, h);
	return ret;
}

int op_lseek(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_lseek_in *in = req_arg(r, sizeof(*in));
	struct fuse_lseek_out *out;
	struct fs_handle *h;
	off_t pos = -1;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if ((in->whence != SEEK_DATA && in->whence != SEEK_HOLE) ||
	    in->offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->fd < 0)
		ret = -EBADF;
	else if ((pos = lseek(h->fd, (off_t)in->offset, (int)in->whence)) < 0)
		ret = -errno;
	handle_put(r->s, h);
	if (ret)
		return ret;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->offset = pos;
	return 0;
}

int op_copy_file_range(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_copy_file_range_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *src = NULL, *dst = NULL;
	struct fuse_write_out *out;
	loff_t off_in, off_out;
	ssize_t n = 0;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if (in->flags || in->off_in > (uint64_t)LLONG_MAX || in->off_out > (uint64_t)LLONG_MAX)
		return -EINVAL;
	ret = req_handle(r, in->fh_in, &src);
	if (ret)
		return ret;
	dst = handle_get(r->s, in->fh_out);
	if (!dst || dst->nodeid != in->nodeid_out || src->fd < 0 || dst->fd < 0) {
		ret = -EBADF;
	} else {
		off_in = (loff_t)in->off_in;
		off_out = (loff_t)in->off_out;
		if (!req_is_root_writer(r))
			kill_priv(r->s, dst->fd);
		/* The reply's size is 32 bits. */
		n = copy_file_range(src->fd, &off_in, dst->fd, &off_out,
				    in->len < UINT32_MAX ? in->len : UINT32_MAX, 0);
		if (n < 0)
			ret = -errno;
	}
	if (dst)
		handle_put(r->s, dst);
	handle_put(r->s, src);
	if (ret)
		return ret;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->size = (uint32_t)n;
	return 0;
}
