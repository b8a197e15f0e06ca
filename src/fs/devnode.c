/* Device nodes the guest makes, kept on the host as inert stand-ins.
 *
 * The rule: a character or block device the guest creates is an empty
 * regular file of mode 0600 on the host, with the node's type, permissions
 * and device number in the xattr user.krun.node, text of the form
 * "c 0644 1:3" (c or b, four octal digits, major:minor in decimal, major
 * below 4096 and minor below 2^20 as the guest kernel's 32-bit dev_t
 * carries them). Every answer the guest gets about such a file (entry
 * replies, GETATTR and SETATTR, READDIR's d_type) describes the node; its
 * chmod and the set-ID bits a chown drops change the xattr, never the host
 * mode. So the host never holds a device node the guest made, nor a
 * set-ID file: whoever opens the stand-in on the host gets an empty file.
 * The guest's kernel opens device nodes itself, so the server never opens a
 * stand-in (inode_open refuses non-regular files, which it is to the
 * guest). Only an empty regular file of mode 0600, as the stand-in was
 * made, whose xattr parses exactly is a node; anything else (a malformed
 * value, a file the host wrote to or chmod'ed) is served as the regular
 * file it is. The mode and size, which every stat gives, spare the xattr's
 * read for nearly every other file. The guest can neither read nor set the xattr
 * (xattr.c hides the user.krun. prefix), so it cannot forge a node of a
 * file it owns. A host filesystem without user xattrs cannot hold a stand-in:
 * mknod of a device there answers EPERM, as mknod(2) does where a
 * filesystem does not support the node's type, and leaves nothing behind.
 *
 * FIFOs and sockets stay real host nodes: neither gives anyone access to
 * anything (a socket file made by mknod is bound to nothing, a FIFO only
 * connects processes that open it), and the server never opens them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/internal.h"

#define NODE_XATTR XATTR_KRUN_PREFIX "node"
#define NODE_HOST_MODE 0600
#define MAJOR_LIMIT (1u << 12)
#define MINOR_LIMIT (1u << 20)
/* "b 7777 4095:1048575" and room to see a longer value as malformed. */
#define NODE_VALUE_MAX 24

struct devnode {
	mode_t mode; /* S_IFCHR or S_IFBLK, and the permissions */
	unsigned int major, minor;
};

/* A decimal number below limit, without sign, spaces or leading zeros. */
static const char *parse_number(const char *p, const char *end, unsigned int limit,
				unsigned int *out)
{
	unsigned long v = 0;
	const char *start = p;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= limit)
			return NULL;
	}
	if (p == start || (*start == '0' && p - start > 1))
		return NULL;
	*out = (unsigned int)v;
	return p;
}

static bool parse_node(const char *value, size_t len, struct devnode *n)
{
	const char *p, *end = value + len;
	mode_t perms = 0;

	if (len < 10 || (value[0] != 'c' && value[0] != 'b') || value[1] != ' ' ||
	    value[6] != ' ')
		return false;
	for (int i = 2; i < 6; i++) {
		if (value[i] < '0' || value[i] > '7')
			return false;
		perms = perms << 3 | (mode_t)(value[i] - '0');
	}
	p = parse_number(value + 7, end, MAJOR_LIMIT, &n->major);
	if (!p || p == end || *p != ':')
		return false;
	p = parse_number(p + 1, end, MINOR_LIMIT, &n->minor);
	if (p != end)
		return false;
	n->mode = (value[0] == 'c' ? S_IFCHR : S_IFBLK) | perms;
	return true;
}

static int format_node(char buf[NODE_VALUE_MAX], const struct devnode *n)
{
	return snprintf(buf, NODE_VALUE_MAX, "%c %04o %u:%u", S_ISCHR(n->mode) ? 'c' : 'b',
			(unsigned int)(n->mode & 07777), n->major, n->minor);
}

/* The node a host file stands for, given the host's stat of it and a path:
 * an fd's /proc entry (followed) or a name in a directory (not). */
static bool read_node(const char *path, bool follow, const struct stat *host, struct devnode *n)
{
	char value[NODE_VALUE_MAX];
	ssize_t len;

	if (host->st_mode != (S_IFREG | NODE_HOST_MODE) || host->st_size != 0)
		return false;
	len = (follow ? getxattr : lgetxattr)(path, NODE_XATTR, value, sizeof(value));
	return len > 0 && parse_node(value, (size_t)len, n);
}

static bool read_fd_node(int fd, const struct stat *host, struct devnode *n)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return read_node(path, true, host, n);
}

static int write_node(int fd, const struct devnode *n, int flags)
{
	char path[32], value[NODE_VALUE_MAX];
	int len = format_node(value, n);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return setxattr(path, NODE_XATTR, value, (size_t)len, flags) ? -errno : 0;
}

void devnode_stat(int fd, struct stat *st)
{
	struct devnode n;

	if (!read_fd_node(fd, st, &n))
		return;
	st->st_mode = n.mode;
	st->st_rdev = makedev(n.major, n.minor);
	st->st_blocks = 0;
}

/* A listing's entries are names, not fds: the stat and the xattr by name
 * (the stat first: it is the cheaper, and most files are not empty). */
uint32_t devnode_dirent_type(int dirfd, const char *name, uint32_t type)
{
	char path[PATH_MAX];
	struct devnode n;
	struct stat st;

	if ((type != DT_REG && type != DT_UNKNOWN) ||
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name) >= (int)sizeof(path) ||
	    !read_node(path, false, &st, &n))
		return type;
	return S_ISCHR(n.mode) ? DT_CHR : DT_BLK;
}

int devnode_create(int dirfd, const char *name, mode_t mode, uint32_t rdev)
{
	struct devnode n = { .mode = mode & (S_IFMT | 07777), .major = major(rdev),
			     .minor = minor(rdev) };
	int fd, ret;

	fd = open_beneath(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, NODE_HOST_MODE);
	if (fd < 0)
		return fd;
	ret = write_node(fd, &n, XATTR_CREATE);
	close(fd);
	if (!ret)
		return 0;
	unlinkat(dirfd, name, 0);
	if (ret == -EOPNOTSUPP) {
		LOG_RATELIMITED(LOG_WARN,
				"virtio-fs: the share has no user xattrs, so no device nodes");
		ret = -EPERM;
	}
	return ret;
}

/* The node an fd's inode stands for, if it is a stand-in. */
static bool stand_in(int fd, struct devnode *n)
{
	struct stat st;

	return !fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) &&
	       read_fd_node(fd, &st, n);
}

bool devnode_chmod(int fd, mode_t perms, int *ret)
{
	struct devnode n;

	if (!stand_in(fd, &n))
		return false;
	n.mode = (n.mode & S_IFMT) | (perms & 07777);
	*ret = write_node(fd, &n, XATTR_REPLACE);
	return true;
}

void devnode_chowned(int fd)
{
	struct devnode n;
	mode_t kill = S_ISUID;

	if (!stand_in(fd, &n))
		return;
	/* What the host's kernel takes from a real file chowned by the VMM. */
	if (n.mode & S_IXGRP)
		kill |= S_ISGID;
	if (n.mode & kill) {
		n.mode &= ~kill;
		write_node(fd, &n, XATTR_REPLACE);
	}
}
