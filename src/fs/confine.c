/* Confinement: every path the guest names is resolved beneath its parent
 * node, symlinks never followed, so nothing resolves outside the share; only
 * regular files and directories are ever opened for I/O, through the O_PATH
 * fd's /proc entry (the only way to make such an fd readable). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "fs/internal.h"

int open_beneath(int dirfd, const char *name, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC | O_NOFOLLOW,
		.mode = mode,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	if (fd >= 0)
		return fd;
	/* A ".." or symlink that would leave the share: not the guest's to see. */
	return errno == EXDEV ? -EACCES : -errno;
}

/* An fd for I/O on an inode; only regular files and directories. */
int inode_open(struct fuse_server *s, struct fs_inode *in, int flags)
{
	char name[16];
	struct stat st;
	int fd, ret;

	ret = stat_fd(in->fd, &st);
	if (ret)
		return ret;
	if (S_ISDIR(st.st_mode)) {
		if ((flags & O_ACCMODE) != O_RDONLY)
			return -EISDIR;
	} else if (!S_ISREG(st.st_mode)) {
		return -EACCES;
	}
	snprintf(name, sizeof(name), "%d", in->fd);
	fd = openat(s->proc_self_fd, name, (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}
