/* Operations on attributes: getattr, setattr (owner, mode, size, times),
 * access and statfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "fs/ops.h"

int op_getattr(struct fuse_req *r, struct fs_inode *node)
{
	return reply_attr(r, node);
}

static int truncate_node(struct fuse_req *r, struct fs_inode *node,
			 const struct fuse_setattr_in *in, bool kill)
{
	struct fs_handle *h = NULL;
	int fd, ret = 0;

	if (in->valid & FATTR_FH) {
		ret = req_handle(r, in->fh, &h);
		if (ret)
			return ret;
		fd = h->fd;
		ret = fd < 0 ? -EBADF : 0;
	} else {
		fd = inode_open(r->s, node, O_WRONLY);
		ret = fd < 0 ? fd : 0;
	}
	if (!ret) {
		if (kill)
			kill_priv(r->s, fd);
		if (in->size > (uint64_t)LLONG_MAX)
			ret = -EFBIG;
		else if (ftruncate(fd, (off_t)in->size))
			ret = -errno;
	}
	if (h)
		handle_put(r->s, h);
	else if (fd >= 0)
		close(fd);
	return ret;
}

static struct timespec setattr_time(uint32_t valid, uint32_t set, uint32_t now, uint64_t sec,
				    uint32_t nsec)
{
	if (valid & now)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (valid & set)
		return (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

int op_setattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_setattr_in *in = req_arg(r, sizeof(*in));
	bool kill;
	int ret;

	if (!in)
		return -EINVAL;
	if (node->vfile)
		return -EPERM;
	kill = !req_is_root_writer(r) || (in->valid & FATTR_KILL_SUIDGID);
	if (in->valid & (FATTR_UID | FATTR_GID)) {
		uid_t uid = in->valid & FATTR_UID ? in->uid : (uid_t)-1;
		gid_t gid = in->valid & FATTR_GID ? in->gid : (gid_t)-1;

		if (fchownat(node->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
		devnode_chowned(node->fd);
	}
	if (in->valid & FATTR_MODE) {
		ret = chmod_fd(r->s, node->fd, chmod_mode(r, node->fd, in->mode & 07777));
		if (ret)
			return ret;
	}
	if (in->valid & FATTR_SIZE) {
		ret = truncate_node(r, node, in, kill);
		if (ret)
			return ret;
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		struct timespec ts[2] = {
			setattr_time(in->valid, FATTR_ATIME, FATTR_ATIME_NOW, in->atime,
				     in->atimensec),
			setattr_time(in->valid, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime,
				     in->mtimensec),
		};

		if ((ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT &&
		     ts[0].tv_nsec >= 1000000000) ||
		    (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT &&
		     ts[1].tv_nsec >= 1000000000))
			return -EINVAL;
		if (utimensat(node->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	return reply_attr(r, node);
}

int op_access(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_access_in *in = req_arg(r, sizeof(*in));
	struct fuse_attr a;
	uint32_t granted;
	int ret;

	if (!in)
		return -EINVAL;
	ret = inode_attr(r->s, node, &a);
	if (ret)
		return ret;
	if ((in->mask & W_OK) && (r->s->cfg.read_only || node->vfile))
		return -EROFS;
	if (r->hdr->uid == 0) {
		/* root may execute only what someone may execute */
		granted = R_OK | W_OK | ((a.mode & 0111) || S_ISDIR(a.mode) ? X_OK : 0);
	} else if (r->hdr->uid == a.uid) {
		granted = (a.mode >> 6) & 7;
	} else if (r->hdr->gid == a.gid) {
		granted = (a.mode >> 3) & 7;
	} else {
		granted = a.mode & 7;
	}
	return (in->mask & 7 & ~granted) ? -EACCES : 0;
}

int op_statfs(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_statfs_out *out;
	struct statfs st;

	if (fstatfs(node->vfile ? r->s->inodes[FUSE_ROOT_INDEX].fd : node->fd, &st))
		return -errno;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->st = (struct fuse_kstatfs){
		.blocks = st.f_blocks,
		.bfree = st.f_bfree,
		.bavail = st.f_bavail,
		.files = st.f_files,
		.ffree = st.f_ffree,
		.bsize = st.f_bsize,
		.namelen = st.f_namelen,
		.frsize = st.f_frsize,
	};
	return 0;
}
