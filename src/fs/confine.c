/* Confinement: what of the host the guest reaches through its share.
 *
 * Paths. Every name the guest gives is one component, resolved beneath its
 * parent node's fd, symlinks never followed (open_beneath), so nothing
 * resolves outside the share; only regular files and directories are ever
 * opened for I/O, through the O_PATH fd's /proc entry (inode_open), which
 * reopens that very object and walks no name again.
 *
 * Filesystems. A share shows the files of real filesystems and nothing else:
 * no procfs, sysfs or other pseudo filesystem mounted inside it is ever
 * reached. Every node the guest can name is made in one of two places, both
 * here: the share's root (confine_root, when the server is created) and the
 * lookup of one name beneath a node (confine_node, called by lookup_entry,
 * which serves LOOKUP, READDIRPLUS and the entry that CREATE, MKDIR, MKNOD,
 * SYMLINK and LINK reply with). Both ask fstatfs about the fd they are about
 * to keep and look its f_type up in an allow-list (fs_allowed):
 * - allowed: the node keeps the fd, served as any;
 * - refused, a directory (a mount point of procfs, sysfs, ...): the fd is
 *   closed and the node keeps only the inode's (dev, ino), so that a second
 *   lookup finds it again. Such a "sealed" node (inode_sealed) is an empty
 *   directory, mode 0555, root's, which lists . and .., finds no name
 *   (ENOENT) and takes none (EACCES). Every request whose node it is gets
 *   sealed_op's answer, never the operation's; as LINK's source or RENAME's
 *   target directory it is refused (entry_ops.c); and having no fd, it could
 *   not touch the host through a path that forgot it;
 * - refused, anything else (a procfs file bind-mounted over a file of the
 *   share): the lookup fails with EACCES, as a name that would leave the
 *   share does;
 * - the share's root on a refused filesystem: fuse_server_create fails with
 *   ENOTSUP, and the log says the filesystem's type. A root on FUSE is
 *   served (fuse-overlayfs, sshfs: the user chose those files), and nodes
 *   on the root's own filesystem (its st_dev) pass without a second look;
 *   a FUSE mount inside the share is refused as any other.
 * The server thus holds no fd of a refused filesystem beyond the lookup that
 * finds one.
 *
 * Races. The object checked is the object kept (an fd's filesystem never
 * changes), so no swap between check and use exists. A mount made later on
 * a directory the guest already holds does not reach the guest: the node's
 * fd is the covered directory, and names resolve and listings read beneath
 * it, not beneath the mount; a new lookup of the name crosses into the mount
 * and is checked. A rename that swaps a directory for a symlink gives the
 * next lookup the symlink itself, which is never followed. A guest's
 * `mount --bind / /m` only shows the same nodes again: a sealed node is
 * sealed wherever the guest sees it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/openat2.h>

#include "base/log.h"
#include "fs/ops.h"

/* Magic numbers of filesystems outside the kernel's tree or its uapi. */
#define ZFS_SUPER_MAGIC 0x2fc12fc1
#define BCACHEFS_SUPER_MAGIC 0xca451a4e
#define NTFS_SUPER_MAGIC 0x5346544e  /* the old ntfs driver */
#define NTFS3_SUPER_MAGIC 0x7366746e /* ntfs3 */

/* The filesystems whose f_type says they hold stored files and nothing
 * else. Anything not listed is refused, including filesystems added to the
 * kernel later; a real one missing here is one line to add. */
static const uint32_t allowed_fs[] = {
	/* disks of the host: files as written, nothing computed */
	EXT4_SUPER_MAGIC, /* also ext2 and ext3 */
	XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC, F2FS_SUPER_MAGIC, ZFS_SUPER_MAGIC,
	BCACHEFS_SUPER_MAGIC,
	/* removable media and other systems' disks */
	MSDOS_SUPER_MAGIC, /* vfat and msdos */
	EXFAT_SUPER_MAGIC, NTFS_SUPER_MAGIC, NTFS3_SUPER_MAGIC, UDF_SUPER_MAGIC,
	ISOFS_SUPER_MAGIC,
	/* read-only images: container layers (composefs is erofs), snaps */
	SQUASHFS_MAGIC, EROFS_SUPER_MAGIC_V1,
	/* memory: a container's /dev, /run, /tmp; rootfs. Device nodes in them
	 * are never opened (inode_open). */
	TMPFS_MAGIC, RAMFS_MAGIC,
	/* stacked on other filesystems' files: container roots, encrypted
	 * homes. overlayfs refuses layers whose dentries revalidate, as procfs
	 * and sysfs do. */
	OVERLAYFS_SUPER_MAGIC, ECRYPTFS_SUPER_MAGIC,
	/* another machine's stored files, by its own export rules: nfsd exports
	 * no pseudo filesystem; 9p is the nested test host's root */
	NFS_SUPER_MAGIC, V9FS_MAGIC, CIFS_SUPER_MAGIC, SMB2_SUPER_MAGIC, CEPH_SUPER_MAGIC,
	/* Not FUSE (FUSE_SUPER_MAGIC): it names a protocol, not what the daemon
	 * behind it serves, and lxcfs, the common one inside container roots,
	 * serves /proc and /sys views (its older versions writable cgroup
	 * trees) with root's authority. A share whose root is on FUSE is served
	 * all the same (confine_root): the user chose it. Not
	 * hugetlbfs either: huge pages are a host pool, and its files take no
	 * write(2). */
};

static bool fs_allowed(uint32_t f_type)
{
	for (size_t i = 0; i < sizeof(allowed_fs) / sizeof(allowed_fs[0]); i++)
		if (allowed_fs[i] == f_type)
			return true;
	return false;
}

int confine_root(int fd, const char *path)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs)) {
		int err = errno;
		LOG_ERR("cannot share %s with the guest: cannot read its filesystem's type: %s",
			path, strerror(err));
		return -err;
	}
	/* FUSE as the root itself is the user's own choice of files (a
	 * container root on fuse-overlayfs, an sshfs); only FUSE mounts found
	 * inside a share are refused. */
	if (fs_allowed((uint32_t)sfs.f_type) || sfs.f_type == FUSE_SUPER_MAGIC)
		return 0;
	LOG_ERR("the share %s is on a filesystem of type 0x%lx, which shares do not serve "
		"(only filesystems of stored files; see src/fs/confine.c)",
		path, (unsigned long)(uint32_t)sfs.f_type);
	return -ENOTSUP;
}

int confine_node(const struct fuse_server *s, int *fd, const struct stat *st)
{
	struct statfs sfs;

	/* the root's own filesystem passed confine_root */
	if (st->st_dev == s->inodes[FUSE_ROOT_INDEX].dev)
		return 0;
	if (fstatfs(*fd, &sfs))
		return -errno;
	if (fs_allowed((uint32_t)sfs.f_type))
		return 0;
	close(*fd);
	*fd = -1;
	if (S_ISDIR(st->st_mode))
		return 0;
	LOG_RATELIMITED(LOG_INFO, "virtio-fs: a file on a filesystem of type 0x%lx refused",
			(unsigned long)(uint32_t)sfs.f_type);
	return -EACCES;
}

void sealed_attr(ino_t ino, struct fuse_attr *a)
{
	*a = (struct fuse_attr){
		.ino = ino, .mode = S_IFDIR | 0555, .nlink = 2, .blksize = 4096,
	};
}

static int sealed_opendir(struct fuse_req *r)
{
	struct fuse_open_out *out = reply_space(r, sizeof(*out));

	if (!out)
		return -ERANGE;
	return handle_new(r->s, -1, r->hdr->nodeid, NULL, &out->fh);
}

int sealed_op(struct fuse_req *r, struct fs_inode *node, op_fn op)
{
	switch (r->hdr->opcode) {
	case FUSE_GETATTR:
	case FUSE_ACCESS:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		return op(r, node); /* inode_attr gives sealed_attr, dir.c . and .. */
	case FUSE_STATFS:
		return op(r, &r->s->inodes[FUSE_ROOT_INDEX]);
	case FUSE_OPENDIR:
		return sealed_opendir(r);
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
		return -ENOENT; /* it holds no name */
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_SYMLINK:
	case FUSE_CREATE:
	case FUSE_LINK:
		return -EACCES; /* and takes none */
	case FUSE_OPEN:
		return -EISDIR;
	case FUSE_READLINK:
		return -EINVAL;
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
		return -ENOTSUP;
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		return -ENOLCK;
	case FUSE_IOCTL:
		return -ENOTTY;
	default:
		return -EPERM; /* SETATTR: nothing of it to change */
	}
}

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

	if (inode_sealed(in))
		return -EISDIR; /* a directory with nothing behind it to open */
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
