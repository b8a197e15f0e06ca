/* Permission rules the host kernel would apply to the guest's user but
 * cannot, since the server acts for it: modes on creation and chmod, and
 * what a write by someone other than root takes away. The caller is the
 * request's uid and gid; uid 0 stands for the kernel's CAP_FSETID. */
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

/* Whether the guest's caller may keep set-group-ID on a file of group gid,
 * as the kernel's in_group_or_capable: root, or a member of the group. FUSE
 * tells us the caller's fsgid only, not its supplementary groups: a member
 * through a supplementary group loses the bit where the guest's kernel would
 * keep it (stricter than the kernel, never looser). */
static bool keeps_sgid(const struct fuse_req *r, gid_t gid)
{
	return r->hdr->uid == 0 || r->hdr->gid == gid;
}

/* The guest's mode exactly, whatever our umask took away, as the kernel
 * gives it (vfs_mkdir, inode_init_owner, mode_strip_sgid): a directory takes
 * no set-user/group-ID bits from the caller but keeps the set-group-ID bit
 * it inherited from its parent; a group-executable non-directory made in a
 * set-group-ID directory loses set-group-ID unless its caller keeps_sgid for
 * the directory's group (CVE-2022-0358). */
void set_created_mode(struct fuse_req *r, int fd, const struct stat *parent, mode_t mode)
{
	struct stat st;

	if (stat_fd(fd, &st))
		return;
	if (S_ISDIR(st.st_mode))
		mode = (mode & (S_IRWXU | S_IRWXG | S_IRWXO | S_ISVTX)) | (st.st_mode & S_ISGID);
	else if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		 (parent->st_mode & S_ISGID) && !keeps_sgid(r, parent->st_gid))
		mode &= ~S_ISGID;
	if ((st.st_mode & 07777) != mode)
		chmod_fd(r->s, fd, mode);
}

/* The mode a guest's chmod sets, as setattr_prepare: set-group-ID only for
 * a caller that keeps_sgid for the file's group (its new group when the same
 * SETATTR changed it, which op_setattr does first). */
mode_t chmod_mode(const struct fuse_req *r, int fd, mode_t mode)
{
	struct stat st;

	if ((mode & S_ISGID) && (stat_fd(fd, &st) || !keeps_sgid(r, st.st_gid)))
		mode &= ~S_ISGID;
	return mode;
}
