/* Extended attributes, and which of them the guest may touch.
 *
 * The policy: nothing the guest sets means anything to the host.
 * - The guest's security.* and trusted.* are stored on the host as
 *   user.krun.security.* and user.krun.trusted.*: file capabilities,
 *   SELinux labels and overlayfs's trusted.overlay.* work inside the guest
 *   (its kernel reads them through GETXATTR) while the host sees inert user
 *   xattrs. Like every user xattr, they only exist on regular files and
 *   directories: on a symlink, FIFO or socket the host answers EPERM.
 * - user.krun.* is the server's own (the device nodes' user.krun.node,
 *   devnode.c, and the names above): the guest can neither read it
 *   (ENODATA) nor set or remove it (EPERM), and LISTXATTR leaves it out.
 * - user.* and the POSIX ACLs (system.posix_acl_access and _default) pass
 *   through. Any other name (other system.* names, unknown namespaces) is
 *   refused with EOPNOTSUPP.
 * - Of the host's own security.* and trusted.* the guest sees one:
 *   security.capability, read-only, while it has not set its own, so that
 *   the file capabilities of an image unpacked on the host (ping's
 *   cap_net_raw) work in the guest. Removing it removes the host's too, as
 *   an unprivileged write does (perm.c's kill_priv): taking a capability
 *   away grants nothing. The host's SELinux labels, IMA and EVM hashes and
 *   trusted.* are not the guest's business and stay hidden.
 * A write or truncation by an unprivileged guest user drops the stored
 * capability with the host's (kill_priv). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <linux/limits.h>

#include "fs/ops.h"

#define CAPABILITY "security.capability"

/* xattrs work on every kind of inode, so through the fd's /proc entry,
 * which names exactly the inode and opens nothing. */
static void proc_path(const struct fs_inode *node, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", node->fd);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool is_acl(const char *name)
{
	return !strcmp(name, "system.posix_acl_access") ||
	       !strcmp(name, "system.posix_acl_default");
}

/* The host's name for a guest's: 0, -EPERM for the server's own names, or
 * the -errno the guest gets. */
static int host_name(const char *name, char host[XATTR_NAME_MAX + 1])
{
	size_t len = strlen(name);

	if (len > XATTR_NAME_MAX)
		return -ERANGE;
	if (has_prefix(name, XATTR_KRUN_PREFIX))
		return -EPERM;
	if (has_prefix(name, "security.") || has_prefix(name, "trusted.")) {
		if (!strchr(name, '.')[1])
			return -EINVAL;
		if (snprintf(host, XATTR_NAME_MAX + 1, XATTR_KRUN_PREFIX "%s", name) >
		    XATTR_NAME_MAX)
			return -ERANGE;
		return 0;
	}
	if (!has_prefix(name, "user.") && !is_acl(name))
		return -EOPNOTSUPP;
	memcpy(host, name, len + 1);
	return 0;
}

/* The xattr a GETXATTR, SETXATTR or REMOVEXATTR names, as the host knows
 * it. */
struct xattr_target {
	const char *name; /* the guest's */
	char host[XATTR_NAME_MAX + 1];
	char path[32];
};

/* The name at the request's arguments, taken from them (a value may
 * follow), on node: 0, or the -errno the guest gets; -EPERM for a virtual
 * file or one of the server's own names. */
static int xattr_target(struct fuse_req *r, const struct fs_inode *node, struct xattr_target *t)
{
	const char *end = memchr(r->arg, '\0', r->arg_len);
	int ret;

	if (!end)
		return -EINVAL;
	t->name = (const char *)r->arg;
	req_arg(r, end - t->name + 1);
	if (node->vfile)
		return -EPERM;
	ret = host_name(t->name, t->host);
	if (ret)
		return ret;
	proc_path(node, t->path, sizeof(t->path));
	return 0;
}

/* The guest's name for a host's, or NULL when the guest does not see it;
 * own_capability: the guest has set security.capability itself. */
static const char *guest_name(const char *host, bool own_capability)
{
	if (has_prefix(host, XATTR_KRUN_PREFIX)) {
		const char *stored = host + strlen(XATTR_KRUN_PREFIX);

		if (has_prefix(stored, "security.") || has_prefix(stored, "trusted."))
			return stored;
		return NULL;
	}
	if (has_prefix(host, "user.") || is_acl(host))
		return host;
	if (!strcmp(host, CAPABILITY) && !own_capability)
		return host;
	return NULL;
}

/* GETXATTR's and LISTXATTR's reply: n bytes already in place, or only n
 * when the guest asked for the size. */
static int reply_xattr(struct fuse_req *r, uint32_t asked, size_t n)
{
	struct fuse_getxattr_out *out;

	if (asked) {
		r->reply_len = n;
		return 0;
	}
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->size = (uint32_t)n;
	return 0;
}

int op_getxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_getxattr_in *in = req_arg(r, sizeof(*in));
	struct xattr_target t;
	size_t size = 0;
	ssize_t n;
	void *buf = NULL;
	int ret;

	if (!in)
		return -EINVAL;
	ret = xattr_target(r, node, &t);
	if (ret)
		return ret == -EPERM ? -ENODATA : ret;
	if (in->size) {
		size = in->size < XATTR_MAX ? in->size : XATTR_MAX;
		if (size > r->reply_cap)
			return -ERANGE;
		buf = r->reply;
	}
	n = getxattr(t.path, t.host, buf, size);
	if (n < 0 && errno == ENODATA && !strcmp(t.name, CAPABILITY))
		n = getxattr(t.path, t.name, buf, size);
	if (n < 0)
		return -errno;
	return reply_xattr(r, in->size, (size_t)n);
}

static bool in_list(const char *list, size_t len, const char *name)
{
	for (const char *p = list; p < list + len; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

/* The guest's list from the host's, into out (NULL: only its size). */
static size_t guest_list(const char *list, size_t len, char *out)
{
	bool own_capability = in_list(list, len, XATTR_MAPPED_CAPABILITY);
	size_t total = 0;

	for (const char *p = list; p < list + len; p += strlen(p) + 1) {
		const char *name = guest_name(p, own_capability);

		if (!name)
			continue;
		if (out)
			memcpy(out + total, name, strlen(name) + 1);
		total += strlen(name) + 1;
	}
	return total;
}

int op_listxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_getxattr_in *in = req_arg(r, sizeof(*in));
	char path[32], *list;
	size_t size;
	ssize_t len, n;

	if (!in)
		return -EINVAL;
	size = in->size < XATTR_LIST_MAX ? in->size : XATTR_LIST_MAX;
	if (size > r->reply_cap)
		return -ERANGE;
	if (node->vfile) {
		n = 0;
	} else {
		/* The whole list, whatever the guest asked: what it sees is
		 * shorter than the host's, so its size needs the names. */
		list = malloc(XATTR_LIST_MAX + 1);
		if (!list)
			return -ENOMEM;
		proc_path(node, path, sizeof(path));
		len = listxattr(path, list, XATTR_LIST_MAX);
		if (len < 0) {
			n = errno == ERANGE ? -E2BIG : -errno;
		} else {
			list[len] = '\0'; /* the walks stop at the end, whatever the list */
			n = (ssize_t)guest_list(list, (size_t)len, NULL);
			if (in->size && (size_t)n <= size)
				guest_list(list, (size_t)len, (char *)r->reply);
		}
		free(list);
		if (n < 0)
			return (int)n;
	}
	if (in->size && (size_t)n > size)
		return -ERANGE;
	return reply_xattr(r, in->size, (size_t)n);
}

int op_setxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_setxattr_in *in = req_arg(r, FUSE_COMPAT_SETXATTR_IN_SIZE);
	struct xattr_target t;
	int flags, ret;

	if (!in)
		return -EINVAL;
	ret = xattr_target(r, node, &t);
	if (ret)
		return ret;
	if (in->size > r->arg_len || in->size > XATTR_MAX)
		return -EINVAL;
	flags = (int)in->flags;
	/* The host's capability the guest sees counts as its own for the
	 * flags; what it sets is stored mapped all the same. */
	if ((flags & (XATTR_CREATE | XATTR_REPLACE)) && !strcmp(t.name, CAPABILITY) &&
	    getxattr(t.path, t.host, NULL, 0) < 0 && getxattr(t.path, t.name, NULL, 0) >= 0) {
		if (flags & XATTR_CREATE)
			return -EEXIST;
		flags &= ~XATTR_REPLACE;
	}
	return setxattr(t.path, t.host, r->arg, in->size, flags) ? -errno : 0;
}

int op_removexattr(struct fuse_req *r, struct fs_inode *node)
{
	struct xattr_target t;
	int ret = xattr_target(r, node, &t);

	if (ret)
		return ret;
	ret = removexattr(t.path, t.host) ? -errno : 0;
	if (!strcmp(t.name, CAPABILITY)) {
		int host_ret = removexattr(t.path, t.name) ? -errno : 0;

		if (ret == -ENODATA || !host_ret)
			ret = host_ret;
	}
	return ret;
}
