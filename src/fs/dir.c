/* Directory listings: taken at offset 0 and served by index, so that the
 * virtual files can be merged into the root and offsets stay stable. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/ops.h"

void dir_entries_free(struct fs_handle *h)
{
	for (size_t i = 0; i < h->nr_entries; i++)
		free(h->entries[i].name);
	free(h->entries);
	h->entries = NULL;
	h->nr_entries = 0;
}

static int dir_add(struct fs_handle *h, size_t *cap, uint64_t ino, uint32_t type,
		   const char *name)
{
	struct dir_entry *e;

	if (h->nr_entries == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 64;

		if (new_cap > MAX_DIR_ENTRIES)
			return -ENOMEM;
		e = realloc(h->entries, new_cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		h->entries = e;
		*cap = new_cap;
	}
	e = &h->entries[h->nr_entries];
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	e->ino = ino;
	e->type = type;
	e->namelen = strlen(name);
	h->nr_entries++;
	return 0;
}

/* Lists the directory anew: what a readdir from offset 0 must show. */
static int dir_snapshot(struct fuse_server *s, struct fs_handle *h)
{
	const struct fuse_virtual_file *vf = s->cfg.virtual_files;
	bool is_root = h->nodeid == FUSE_ROOT_INDEX;
	size_t cap = 0;
	struct dirent *d;
	DIR *dir;
	int fd, ret = 0;

	dir_entries_free(h);
	if (is_root)
		for (unsigned int i = 0; i < s->cfg.nr_virtual_files && !ret; i++)
			ret = dir_add(h, &cap, vfile_ino(s, &vf[i]), DT_REG, vf[i].name);
	if (ret)
		return ret;
	fd = dup(h->fd);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	rewinddir(dir);
	while (!ret && (errno = 0, d = readdir(dir))) {
		bool shadowed = false;

		for (unsigned int i = 0; is_root && i < s->cfg.nr_virtual_files; i++)
			shadowed |= !strcmp(vf[i].name, d->d_name);
		if (!shadowed)
			ret = dir_add(h, &cap, d->d_ino,
				      devnode_dirent_type(dirfd(dir), d->d_name, d->d_type), d->d_name);
	}
	if (!ret && errno)
		ret = -errno;
	closedir(dir);
	return ret;
}

static int readdir_common(struct fuse_req *r, struct fs_inode *node, bool plus)
{
	const struct fuse_read_in *in = req_arg(r, sizeof(*in));
	size_t limit, base;
	struct fs_handle *h;
	int ret = 0;

	if (!in)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->vfile || h->fd < 0) {
		handle_put(r->s, h);
		return -ENOTDIR;
	}
	limit = in->size < r->reply_cap ? in->size : r->reply_cap;
	base = r->reply_len;
	pthread_mutex_lock(&h->dir_lock);
	if (in->offset == 0 || !h->entries)
		ret = dir_snapshot(r->s, h);
	for (uint64_t i = in->offset; !ret && i < h->nr_entries; i++) {
		const struct dir_entry *de = &h->entries[i];
		size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
		size_t size = FUSE_DIRENT_ALIGN(head + de->namelen);
		struct fuse_dirent *d;

		if (r->reply_len - base + size > limit)
			break;
		d = reply_space(r, size);
		if (plus) {
			struct fuse_direntplus *dp = (struct fuse_direntplus *)d;

			/* An entry that cannot be looked up stays a plain name. */
			if (!is_dot_or_dotdot(de->name))
				lookup_entry(r->s, node, de->name, &dp->entry_out);
			d = &dp->dirent;
		}
		d->ino = de->ino;
		d->off = i + 1;
		d->namelen = de->namelen;
		d->type = de->type;
		memcpy(d->name, de->name, de->namelen);
	}
	pthread_mutex_unlock(&h->dir_lock);
	handle_put(r->s, h);
	return ret;
}

int op_readdir(struct fuse_req *r, struct fs_inode *node)
{
	return readdir_common(r, node, false);
}

int op_readdirplus(struct fuse_req *r, struct fs_inode *node)
{
	return readdir_common(r, node, true);
}
