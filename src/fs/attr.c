/* What the guest is told about an inode: the host's stat (with a device
 * node's stand-in shown as the node, devnode.c), and the attributes of the
 * in-memory virtual files. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fs/internal.h"

int stat_fd(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	devnode_stat(fd, st);
	return 0;
}

void attr_from_stat(struct fuse_attr *a, const struct stat *st)
{
	*a = (struct fuse_attr){
		.ino = st->st_ino,
		.size = st->st_size,
		.blocks = st->st_blocks,
		.atime = st->st_atim.tv_sec,
		.mtime = st->st_mtim.tv_sec,
		.ctime = st->st_ctim.tv_sec,
		.atimensec = st->st_atim.tv_nsec,
		.mtimensec = st->st_mtim.tv_nsec,
		.ctimensec = st->st_ctim.tv_nsec,
		.mode = st->st_mode,
		.nlink = st->st_nlink,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.rdev = st->st_rdev,
		.blksize = st->st_blksize,
	};
}

uint64_t vfile_ino(const struct fuse_server *s, const struct fuse_virtual_file *vf)
{
	return UINT64_MAX - (uint64_t)(vf - s->cfg.virtual_files);
}

void vfile_attr(const struct fuse_server *s, const struct fuse_virtual_file *vf,
		struct fuse_attr *a)
{
	*a = (struct fuse_attr){
		.ino = vfile_ino(s, vf),
		.size = vf->len,
		.blocks = (vf->len + 511) / 512,
		.mode = S_IFREG | (vf->mode & 0555),
		.nlink = 1,
		.blksize = 4096,
	};
}

int inode_attr(struct fuse_server *s, struct fs_inode *in, struct fuse_attr *a)
{
	struct stat st;
	int ret;

	if (in->vfile) {
		vfile_attr(s, in->vfile, a);
		return 0;
	}
	if (inode_sealed(in)) {
		sealed_attr(in->ino, a);
		return 0;
	}
	ret = stat_fd(in->fd, &st);
	if (!ret)
		attr_from_stat(a, &st);
	return ret;
}

const struct fuse_virtual_file *vfile_named(const struct fuse_server *s,
					    const struct fs_inode *parent, const char *name)
{
	if (parent != &s->inodes[FUSE_ROOT_INDEX])
		return NULL;
	for (unsigned int i = 0; i < s->cfg.nr_virtual_files; i++)
		if (!strcmp(s->cfg.virtual_files[i].name, name))
			return &s->cfg.virtual_files[i];
	return NULL;
}

struct fs_inode *vfile_inode(struct fuse_server *s, const struct fuse_virtual_file *vf)
{
	return &s->inodes[FUSE_ROOT_INDEX + 1 + (vf - s->cfg.virtual_files)];
}

int reply_attr(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_attr_out *out = reply_space(r, sizeof(*out));

	if (!out)
		return -ERANGE;
	out->attr_valid = ATTR_TIMEOUT_S;
	return inode_attr(r->s, node, &out->attr);
}
