/* Permission rules the host kernel would apply to the guest's user but
 * cannot, since the server acts for it: modes on creation, and what a write
 * by someone other than root takes away. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/internal.h"

int chmod_fd(struct fuse_server *s, int fd, mode_t mode)
{
	char name[16];
	int ret;

	if (devnode_chmod(fd, mode, &ret))
		return ret;
	if (!syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH))
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/* Kernels before 6.6: through the fd's /proc entry. */
	snprintf(name, sizeof(name), "%d", fd);
	return fchmodat(s->proc_self_fd, name, mode, 0) ? -errno : 0;
}

/* What the kernel does when an unprivileged writer changes a file: drop
 * set-user-ID, set-group-ID (when group-executable) and file capabilities. */
void kill_priv(struct fuse_server *s, int fd)
{
	struct stat st;
	mode_t mode;

	if (stat_fd(fd, &st) || !S_ISREG(st.st_mode))
		return;
	mode = st.st_mode & 07777 & ~S_ISUID;
	if ((st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		mode &= ~S_ISGID;
	if (mode != (st.st_mode & 07777))
		chmod_fd(s, fd, mode);
	fremovexattr(fd, "security.capability");
	fremovexattr(fd, XATTR_MAPPED_CAPABILITY);
}

/* The guest's mode exactly, whatever our umask took away; a directory keeps
 * the set-group-ID bit it inherited from its parent. */
void set_created_mode(struct fuse_server *s, int fd, mode_t mode)
{
	struct stat st;

	if (stat_fd(fd, &st))
		return;
	if (S_ISDIR(st.st_mode))
		mode |= st.st_mode & S_ISGID;
	if ((st.st_mode & 07777) != mode)
		chmod_fd(s, fd, mode);
}
