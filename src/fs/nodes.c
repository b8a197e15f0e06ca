/* Node ids and file handles: (generation << 32 | slot index) into two
 * tables, checked on every use, so a stale or forged id finds nothing. A
 * node is the host inode's O_PATH fd; the guest holds it by LOOKUP and lets
 * go by FORGET, a request pins it while it uses the fd. Every fd a node, a
 * handle or a lock owner holds comes out of the share's fd budget. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/internal.h"

static uint64_t make_id(uint32_t index, uint32_t generation)
{
	return (uint64_t)generation << 32 | index;
}

static struct fs_inode *inode_at_locked(struct fuse_server *s, uint64_t nodeid)
{
	uint32_t index = (uint32_t)nodeid;
	struct fs_inode *in;

	if (index == 0 || index >= s->nr_inodes)
		return NULL;
	in = &s->inodes[index];
	if (!in->in_use || in->generation != (uint32_t)(nodeid >> 32))
		return NULL;
	return in;
}

static uint32_t *hash_bucket(struct fuse_server *s, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;

	h *= 0xff51afd7ed558ccdull;
	return &s->inode_hash[(h >> 32) & s->hash_mask];
}

void inode_hash_add(struct fuse_server *s, struct fs_inode *in)
{
	uint32_t *head = hash_bucket(s, in->dev, in->ino);

	in->next = *head;
	*head = (uint32_t)(in - s->inodes);
}

static void inode_free_locked(struct fuse_server *s, struct fs_inode *in)
{
	uint32_t index = (uint32_t)(in - s->inodes);
	uint32_t *link = hash_bucket(s, in->dev, in->ino);

	while (*link != index)
		link = &s->inodes[*link].next;
	*link = in->next;
	plocks_free(s, in);
	close(in->fd);
	fd_budget_return(s);
	in->fd = -1;
	in->in_use = false;
	in->generation++;
	in->next = s->free_inode;
	s->free_inode = index;
}

/* Pins the inode so its fd stays open while the lock is not held. */
struct fs_inode *inode_get(struct fuse_server *s, uint64_t nodeid)
{
	struct fs_inode *in;

	pthread_mutex_lock(&s->lock);
	in = inode_at_locked(s, nodeid);
	if (in)
		in->pins++;
	pthread_mutex_unlock(&s->lock);
	return in;
}

static bool inode_is_permanent(const struct fs_inode *in, const struct fuse_server *s)
{
	return in - s->inodes < FUSE_ROOT_INDEX + 1 + (ptrdiff_t)s->cfg.nr_virtual_files;
}

void inode_unref_locked(struct fuse_server *s, struct fs_inode *in)
{
	if (!in->pins && !in->nlookup && !inode_is_permanent(in, s))
		inode_free_locked(s, in);
}

void inode_put(struct fuse_server *s, struct fs_inode *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&s->lock);
	in->pins--;
	inode_unref_locked(s, in);
	pthread_mutex_unlock(&s->lock);
}

uint64_t inode_id(const struct fuse_server *s, const struct fs_inode *in)
{
	return make_id((uint32_t)(in - s->inodes), in->generation);
}

void forget_one(struct fuse_server *s, uint64_t nodeid, uint64_t count)
{
	struct fs_inode *in;

	pthread_mutex_lock(&s->lock);
	in = inode_at_locked(s, nodeid);
	if (in) {
		in->nlookup -= count < in->nlookup ? count : in->nlookup;
		inode_unref_locked(s, in);
	}
	pthread_mutex_unlock(&s->lock);
}

/* A free slot, one freed before or the first never used; 0 when the
 * table is full. */
static uint32_t inode_slot_take(struct fuse_server *s)
{
	uint32_t i = s->free_inode;

	if (i)
		s->free_inode = s->inodes[i].next;
	else if (s->inode_high < s->nr_inodes)
		i = s->inode_high++;
	return i;
}

static bool inode_table_full(const struct fuse_server *s)
{
	return !s->free_inode && s->inode_high == s->nr_inodes;
}

/* Takes ownership of fd: either it becomes a new inode or, when the host
 * inode is already known, it is closed and the known one gains a lookup. */
int inode_insert(struct fuse_server *s, int fd, const struct stat *st, uint64_t *nodeid)
{
	struct fs_inode *in, *free_slot;
	uint32_t i;

	pthread_mutex_lock(&s->lock);
	for (i = *hash_bucket(s, st->st_dev, st->st_ino); i; i = in->next) {
		in = &s->inodes[i];
		if (in->dev == st->st_dev && in->ino == st->st_ino) {
			in->nlookup++;
			*nodeid = inode_id(s, in);
			pthread_mutex_unlock(&s->lock);
			close(fd);
			return 0;
		}
	}
	if (inode_table_full(s) || !fd_budget_take(s)) {
		bool table_full = inode_table_full(s);

		pthread_mutex_unlock(&s->lock);
		close(fd);
		if (table_full)
			LOG_RATELIMITED(LOG_WARN, "virtio-fs: inode limit (%u) reached",
					s->nr_inodes - 1);
		return -ENFILE;
	}
	free_slot = &s->inodes[inode_slot_take(s)];
	free_slot->in_use = true;
	free_slot->fd = fd;
	free_slot->dev = st->st_dev;
	free_slot->ino = st->st_ino;
	free_slot->nlookup = 1;
	free_slot->pins = 0;
	free_slot->vfile = NULL;
	inode_hash_add(s, free_slot);
	*nodeid = inode_id(s, free_slot);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

struct fs_handle *handle_get(struct fuse_server *s, uint64_t fh)
{
	uint32_t index = (uint32_t)fh;
	struct fs_handle *h = NULL;

	pthread_mutex_lock(&s->lock);
	if (index && index < s->nr_handles) {
		h = &s->handles[index];
		if (!h->in_use || h->released || h->generation != (uint32_t)(fh >> 32))
			h = NULL;
		else
			h->pins++;
	}
	pthread_mutex_unlock(&s->lock);
	return h;
}

void handle_unref_locked(struct fuse_server *s, struct fs_handle *h)
{
	if (h->pins || !h->released)
		return;
	if (h->fd >= 0) {
		close(h->fd);
		fd_budget_return(s);
	}
	h->fd = -1;
	h->in_use = false;
	h->generation++;
	h->next_free = s->free_handle;
	s->free_handle = (uint32_t)(h - s->handles);
}

void handle_put(struct fuse_server *s, struct fs_handle *h)
{
	pthread_mutex_lock(&s->lock);
	h->pins--;
	handle_unref_locked(s, h);
	pthread_mutex_unlock(&s->lock);
}

/* A free slot, as inode_slot_take; a slot used for the first time gets its
 * lock. */
static uint32_t handle_slot_take(struct fuse_server *s)
{
	uint32_t i = s->free_handle;

	if (i) {
		s->free_handle = s->handles[i].next_free;
	} else if (s->handle_high < s->nr_handles) {
		i = s->handle_high++;
		pthread_mutex_init(&s->handles[i].dir_lock, NULL);
	}
	return i;
}

/* Takes ownership of fd (closed on failure). */
int handle_new(struct fuse_server *s, int fd, uint64_t nodeid,
	       const struct fuse_virtual_file *vfile, uint64_t *fh)
{
	bool table_full;

	pthread_mutex_lock(&s->lock);
	table_full = !s->free_handle && s->handle_high == s->nr_handles;
	if (!table_full && (fd < 0 || fd_budget_take(s))) {
		uint32_t i = handle_slot_take(s);
		struct fs_handle *h = &s->handles[i];

		h->in_use = true;
		h->released = false;
		h->pins = 0;
		h->fd = fd;
		h->nodeid = nodeid;
		h->vfile = vfile;
		*fh = make_id(i, h->generation);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (fd >= 0)
		close(fd);
	if (table_full)
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: open file limit (%u) reached",
				s->nr_handles - 1);
	return -EMFILE;
}

/* One fd more for the share, if its budget allows. */
bool fd_budget_take(struct fuse_server *s)
{
	unsigned int n = atomic_load(&s->nr_fds);

	do {
		if (n >= s->max_fds) {
			LOG_RATELIMITED(LOG_WARN, "virtio-fs: the share's fd budget (%u) is spent",
					s->max_fds);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&s->nr_fds, &n, n + 1));
	return true;
}

void fd_budget_return(struct fuse_server *s)
{
	atomic_fetch_sub(&s->nr_fds, 1);
}

int handle_release(struct fuse_server *s, uint64_t fh)
{
	struct fs_handle *h = handle_get(s, fh);

	if (!h)
		return -EBADF;
	pthread_mutex_lock(&s->lock);
	h->released = true;
	h->pins--;
	handle_unref_locked(s, h);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
