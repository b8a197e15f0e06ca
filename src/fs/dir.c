/* Directory listings, served straight from the host directory: nothing of a
 * listing is kept between requests, so an open directory costs the host its
 * fd and no more, however many the guest opens and however big they are.
 *
 * The guest's offsets are the host's own cookies (getdents64's d_off, which
 * the handle's fd is seeked back to), as virtiofsd does. Those are below
 * 2^63, which leaves the offsets with the top bit set to the root's virtual
 * files: they follow the host's entries, and hide a host entry of their
 * name. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fs/ops.h"

#define VFILE_OFFSET (1ull << 63)
/* What one getdents64 reads: a few dozen entries, on the worker's stack. */
#define DIR_READ_SIZE 8192

/* One READDIR or READDIRPLUS reply being filled. */
struct dir_reply {
	struct fuse_req *r;
	struct fs_inode *dir;
	bool plus;
	size_t end; /* the reply may grow up to here */
};

/* Appends one entry, whose successor is at offset next; false when it does
 * not fit. READDIRPLUS looks it up too, and the entry's type is then the
 * node's as the lookup found it; one that cannot be looked up stays a plain
 * name (node id 0). Otherwise a host entry (dirfd, or -1 for the server's
 * own) gets its type from devnode.c: a regular file may stand in for a
 * device node. */
static bool dir_emit(struct dir_reply *dr, int dirfd, uint64_t ino, uint32_t type,
		     const char *name, uint64_t next)
{
	size_t namelen = strlen(name);
	size_t head = dr->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t size = FUSE_DIRENT_ALIGN(head + namelen);
	bool typed = false;
	struct fuse_dirent *d;

	if (dr->r->reply_len + size > dr->end || !(d = reply_space(dr->r, size)))
		return false;
	if (dr->plus) {
		struct fuse_direntplus *dp = (struct fuse_direntplus *)d;

		if (!is_dot_or_dotdot(name) &&
		    lookup_entry(dr->r->s, dr->dir, name, &dp->entry_out) == 0) {
			type = IFTODT(dp->entry_out.attr.mode);
			typed = true;
		}
		d = &dp->dirent;
	}
	if (!typed && dirfd >= 0)
		type = devnode_dirent_type(dirfd, name, type);
	d->ino = ino;
	d->off = next;
	d->namelen = namelen;
	d->type = type;
	memcpy(d->name, name, namelen);
	return true;
}

/* The host's entries from the cookie offset on, as many as fit; *at_end
 * once the directory has no more. Under the handle's dir_lock: the fd's
 * position is the listing's. */
static int dir_emit_host(struct dir_reply *dr, int fd, uint64_t offset, bool *at_end)
{
	char buf[DIR_READ_SIZE] __attribute__((aligned(8)));
	ssize_t n, pos;

	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (pos = 0; pos < n; pos += ((struct dirent64 *)(buf + pos))->d_reclen) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + pos);

			if (vfile_named(dr->r->s, dr->dir, d->d_name))
				continue;
			if (!dir_emit(dr, fd, d->d_ino, d->d_type, d->d_name, (uint64_t)d->d_off))
				return 0;
		}
	}
	if (n < 0)
		return -errno;
	*at_end = true;
	return 0;
}

/* The root's virtual files from the index'th on, as many as fit. */
static void dir_emit_virtual(struct dir_reply *dr, uint64_t index)
{
	const struct fuse_server *s = dr->r->s;

	if (dr->dir != &s->inodes[FUSE_ROOT_INDEX])
		return;
	for (uint64_t i = index; i < s->cfg.nr_virtual_files; i++) {
		const struct fuse_virtual_file *vf = &s->cfg.virtual_files[i];

		if (!dir_emit(dr, -1, vfile_ino(s, vf), DT_REG, vf->name, VFILE_OFFSET | (i + 1)))
			return;
	}
}

/* A sealed directory (confine.c) has no fd behind it: . and .. only, at
 * offsets 1 and 2. */
static void dir_emit_sealed(struct dir_reply *dr, uint64_t offset)
{
	static const char *const names[] = { ".", ".." };

	for (uint64_t i = offset; i < 2; i++)
		if (!dir_emit(dr, -1, dr->dir->ino, DT_DIR, names[i], i + 1))
			return;
}

static int readdir_common(struct fuse_req *r, struct fs_inode *node, bool plus)
{
	const struct fuse_read_in *in = req_arg(r, sizeof(*in));
	struct dir_reply dr = { .r = r, .dir = node, .plus = plus };
	struct fs_handle *h;
	bool at_end = false;
	size_t base;
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->vfile || (h->fd < 0 && !inode_sealed(node))) {
		handle_put(r->s, h);
		return -ENOTDIR;
	}
	base = r->reply_len;
	dr.end = base + (in->size < r->reply_cap - base ? in->size : r->reply_cap - base);
	pthread_mutex_lock(&h->dir_lock);
	if (inode_sealed(node))
		dir_emit_sealed(&dr, in->offset);
	else if (!(in->offset & VFILE_OFFSET))
		ret = dir_emit_host(&dr, h->fd, in->offset, &at_end);
	if (at_end || (in->offset & VFILE_OFFSET))
		dir_emit_virtual(&dr, at_end ? 0 : in->offset & ~VFILE_OFFSET);
	pthread_mutex_unlock(&h->dir_lock);
	handle_put(r->s, h);
	/* What was listed before a failure is worth having; the next request
	 * starts after it, and fails if the host still does. */
	return r->reply_len > base ? 0 : ret;
}

int op_readdir(struct fuse_req *r, struct fs_inode *node)
{
	return readdir_common(r, node, false);
}

int op_readdirplus(struct fuse_req *r, struct fs_inode *node)
{
	return readdir_common(r, node, true);
}
