/* Extended attributes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/ops.h"

/* xattrs work on every kind of inode, so through the fd's /proc entry,
 * which names exactly the inode and opens nothing. */
static void proc_path(const struct fs_inode *node, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", node->fd);
}

int op_getxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_getxattr_in *in = req_arg(r, sizeof(*in));
	const char *name = (const char *)r->arg;
	char path[32];
	size_t size;
	ssize_t n;
	void *buf;

	if (!in || !memchr(name, '\0', r->arg_len))
		return -EINVAL;
	if (node->vfile)
		return -ENODATA;
	proc_path(node, path, sizeof(path));
	if (in->size == 0) {
		struct fuse_getxattr_out *out;

		n = getxattr(path, name, NULL, 0);
		if (n < 0)
			return -errno;
		out = reply_space(r, sizeof(*out));
		if (!out)
			return -ERANGE;
		out->size = n;
		return 0;
	}
	size = in->size < XATTR_MAX ? in->size : XATTR_MAX;
	if (size > r->reply_cap)
		return -ERANGE;
	buf = r->reply;
	n = getxattr(path, name, buf, size);
	if (n < 0)
		return -errno;
	r->reply_len = n;
	return 0;
}

int op_listxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_getxattr_in *in = req_arg(r, sizeof(*in));
	char path[32];
	size_t size;
	ssize_t n;

	if (!in)
		return -EINVAL;
	if (node->vfile) {
		n = 0;
	} else {
		proc_path(node, path, sizeof(path));
		size = in->size < XATTR_MAX ? in->size : XATTR_MAX;
		if (size > r->reply_cap)
			return -ERANGE;
		n = listxattr(path, in->size ? (char *)r->reply : NULL, in->size ? size : 0);
		if (n < 0)
			return -errno;
	}
	if (in->size == 0) {
		struct fuse_getxattr_out *out = reply_space(r, sizeof(*out));

		if (!out)
			return -ERANGE;
		out->size = n;
	} else {
		r->reply_len = n;
	}
	return 0;
}

int op_setxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_setxattr_in *in = req_arg(r, FUSE_COMPAT_SETXATTR_IN_SIZE);
	const char *name = (const char *)r->arg;
	const char *end;
	char path[32];

	if (!in || !(end = memchr(name, '\0', r->arg_len)))
		return -EINVAL;
	req_arg(r, end - name + 1);
	if (in->size > r->arg_len || in->size > XATTR_MAX)
		return -EINVAL;
	if (node->vfile)
		return -EPERM;
	proc_path(node, path, sizeof(path));
	return setxattr(path, name, r->arg, in->size, (int)in->flags) ? -errno : 0;
}

int op_removexattr(struct fuse_req *r, struct fs_inode *node)
{
	const char *name = (const char *)r->arg;
	char path[32];

	if (!memchr(name, '\0', r->arg_len))
		return -EINVAL;
	if (node->vfile)
		return -EPERM;
	proc_path(node, path, sizeof(path));
	return removexattr(path, name) ? -errno : 0;
}
