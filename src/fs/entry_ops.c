/* Operations on names: lookup and forget, creating, linking, removing and
 * renaming entries, reading symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/ops.h"

/* Adds a lookup of name in parent to the table and describes it. */
int lookup_entry(struct fuse_server *s, struct fs_inode *parent, const char *name,
		 struct fuse_entry_out *e)
{
	const struct fuse_virtual_file *vf = vfile_named(s, parent, name);
	struct stat st;
	int fd, ret;

	if (parent->vfile)
		return -ENOTDIR;
	memset(e, 0, sizeof(*e));
	e->entry_valid = e->attr_valid = ATTR_TIMEOUT_S;
	if (vf) {
		struct fs_inode *in = vfile_inode(s, vf);

		pthread_mutex_lock(&s->lock);
		in->nlookup++;
		e->nodeid = inode_id(s, in);
		pthread_mutex_unlock(&s->lock);
		vfile_attr(s, vf, &e->attr);
		return 0;
	}
	fd = open_beneath(parent->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	ret = stat_fd(fd, &st);
	if (!ret)
		ret = confine_node(s, &fd, &st);
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	ret = inode_insert(s, fd, &st, &e->nodeid);
	if (ret)
		return ret;
	if (fd < 0)
		sealed_attr(st.st_ino, &e->attr);
	else
		attr_from_stat(&e->attr, &st);
	return 0;
}

int reply_entry(struct fuse_req *r, struct fs_inode *parent, const char *name)
{
	struct fuse_entry_out e;
	int ret = lookup_entry(r->s, parent, name, &e);

	if (ret)
		return ret;
	ret = reply_copy(r, &e, sizeof(e));
	if (ret)
		forget_one(r->s, e.nodeid, 1);
	return ret;
}

int op_lookup(struct fuse_req *r, struct fs_inode *node)
{
	const char *name;
	int ret = req_name(r, &name);

	return ret ? ret : reply_entry(r, node, name);
}

int op_forget(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_forget_in *in = req_arg(r, sizeof(*in));

	(void)node;
	if (in)
		forget_one(r->s, r->hdr->nodeid, in->nlookup);
	return 0;
}

int op_batch_forget(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_batch_forget_in *in = req_arg(r, sizeof(*in));
	const struct fuse_forget_one *one;

	(void)node;
	if (!in)
		return 0;
	for (uint32_t i = 0; i < in->count && (one = req_arg(r, sizeof(*one))); i++)
		forget_one(r->s, one->nodeid, one->nlookup);
	return 0;
}

int op_readlink(struct fuse_req *r, struct fs_inode *node)
{
	char buf[PATH_MAX];
	ssize_t n;

	if (node->vfile)
		return -EINVAL;
	n = readlinkat(node->fd, "", buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return reply_copy(r, buf, n);
}

/* The parts every creation shares: the name must be free of virtual files,
 * and the new entry gets the guest caller's ownership and exact mode. */
int reply_created(struct fuse_req *r, struct fs_inode *parent, const char *name,
		  mode_t mode, bool set_mode)
{
	struct fuse_entry_out e;
	struct fs_inode *in;
	struct stat pst = { 0 };
	gid_t gid = r->hdr->gid;
	int ret = lookup_entry(r->s, parent, name, &e);

	if (ret)
		return ret;
	/* Below a set-group-ID directory the entry keeps the directory's group,
	 * which the host already gave it. */
	stat_fd(parent->fd, &pst);
	if (pst.st_mode & S_ISGID)
		gid = (gid_t)-1;
	in = inode_get(r->s, e.nodeid);
	if (in && geteuid() == 0)
		fchownat(in->fd, "", r->hdr->uid, gid,
			 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	if (in && set_mode)
		set_created_mode(r, in->fd, &pst, mode & 07777);
	if (in)
		inode_attr(r->s, in, &e.attr);
	inode_put(r->s, in);
	ret = reply_copy(r, &e, sizeof(e));
	if (ret)
		forget_one(r->s, e.nodeid, 1);
	return ret;
}

int req_new_name(struct fuse_req *r, struct fs_inode *parent, const char **name)
{
	int ret = req_name(r, name);

	if (ret)
		return ret;
	if (parent->vfile)
		return -ENOTDIR;
	return vfile_named(r->s, parent, *name) ? -EEXIST : 0;
}

int op_mkdir(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_mkdir_in *in = req_arg(r, sizeof(*in));
	const char *name;
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	if (mkdirat(node->fd, name, in->mode & 07777))
		return -errno;
	return reply_created(r, node, name, in->mode, true);
}

int op_mknod(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_mknod_in *in = req_arg(r, sizeof(*in));
	const char *name;
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	switch (in->mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		if (mknodat(node->fd, name, in->mode & (S_IFMT | 07777), 0))
			return -errno;
		break;
	case S_IFCHR:
	case S_IFBLK:
		/* A real device node in the share would be the guest's key to the
		 * host's devices for anyone on the host who opens it: a stand-in. */
		ret = devnode_create(node->fd, name, in->mode, in->rdev);
		if (ret)
			return ret;
		break;
	default:
		return -EINVAL;
	}
	return reply_created(r, node, name, in->mode, true);
}

int op_symlink(struct fuse_req *r, struct fs_inode *node)
{
	const char *name, *target;
	int ret = req_new_name(r, node, &name);

	if (ret)
		return ret;
	/* The target is only text stored in the link; it may say anything. */
	target = (const char *)r->arg;
	if (!memchr(target, '\0', r->arg_len) || !*target)
		return -EINVAL;
	if (symlinkat(target, node->fd, name))
		return -errno;
	return reply_created(r, node, name, 0, false);
}

int op_link(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_link_in *in = req_arg(r, sizeof(*in));
	struct fs_inode *old;
	const char *name;
	char proc_name[16];
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	old = inode_get(r->s, in->oldnodeid);
	if (!old)
		return -EBADF;
	if (old->vfile || inode_sealed(old)) {
		ret = -EPERM;
	} else if (!linkat(old->fd, "", node->fd, name, AT_EMPTY_PATH)) {
		ret = 0;
	} else if (errno == ENOENT) {
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the fd's /proc entry
		 * names the same inode. */
		snprintf(proc_name, sizeof(proc_name), "%d", old->fd);
		ret = linkat(r->s->proc_self_fd, proc_name, node->fd, name, AT_SYMLINK_FOLLOW) ?
			      -errno :
			      0;
	} else {
		ret = -errno;
	}
	inode_put(r->s, old);
	return ret ? ret : reply_entry(r, node, name);
}

static int remove_entry(struct fuse_req *r, struct fs_inode *node, int flags)
{
	const char *name;
	int ret = req_name(r, &name);

	if (ret)
		return ret;
	if (vfile_named(r->s, node, name))
		return -EPERM;
	if (node->vfile)
		return -ENOTDIR;
	return unlinkat(node->fd, name, flags) ? -errno : 0;
}

int op_unlink(struct fuse_req *r, struct fs_inode *node)
{
	return remove_entry(r, node, 0);
}

int op_rmdir(struct fuse_req *r, struct fs_inode *node)
{
	return remove_entry(r, node, AT_REMOVEDIR);
}

static int rename_entry(struct fuse_req *r, struct fs_inode *node, uint64_t newdir,
			uint32_t flags)
{
	struct fs_inode *newparent;
	const char *oldname, *newname;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	ret = req_name(r, &oldname);
	if (!ret)
		ret = req_name(r, &newname);
	if (ret)
		return ret;
	newparent = inode_get(r->s, newdir);
	if (!newparent)
		return -EBADF;
	if (vfile_named(r->s, node, oldname) || vfile_named(r->s, newparent, newname))
		ret = -EPERM;
	else if (node->vfile || newparent->vfile)
		ret = -ENOTDIR;
	else if (inode_sealed(newparent))
		ret = -EACCES; /* it takes no name (confine.c) */
	else if (syscall(SYS_renameat2, node->fd, oldname, newparent->fd, newname, flags))
		ret = -errno;
	inode_put(r->s, newparent);
	return ret;
}

int op_rename(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_rename_in *in = req_arg(r, sizeof(*in));

	return in ? rename_entry(r, node, in->newdir, 0) : -EINVAL;
}

int op_rename2(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_rename2_in *in = req_arg(r, sizeof(*in));

	return in ? rename_entry(r, node, in->newdir, in->flags) : -EINVAL;
}
