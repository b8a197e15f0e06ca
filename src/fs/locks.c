/* POSIX locks: the server's, so that the host's processes and the guest
 * see each other's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/ops.h"

/* How long a SETLKW sleeps before it looks again when no guest owner has
 * unlocked anything: the wait for a lock a host process holds, which nothing
 * here is told about. A guest owner's unlock wakes it at once. */
#define PLOCK_RETRY_MS 100

/* Unlinks *link from its inode's list and drops its locks (closing the
 * owner's fd does). Under plock_lock. */
static void plock_drop_locked(struct fuse_server *s, struct fs_plock **link)
{
	struct fs_plock *p = *link;

	*link = p->next;
	close(p->fd);
	fd_budget_return(s);
	free(p);
	s->nr_plocks--;
}

/* Drops every guest lock on the inode (its owners' fds): the inode is
 * going, and no request holds it. */
void plocks_free(struct fuse_server *s, struct fs_inode *in)
{
	pthread_mutex_lock(&s->plock_lock);
	while (in->plocks)
		plock_drop_locked(s, &in->plocks);
	pthread_cond_broadcast(&s->plocks_changed);
	pthread_mutex_unlock(&s->plock_lock);
}

static struct fs_plock *plock_find(struct fs_inode *node, uint64_t owner)
{
	struct fs_plock *p;

	for (p = node->plocks; p && p->owner != owner; p = p->next)
		;
	return p;
}

/* An fd of the inode for locking: read-write where the host allows it (a
 * read lock needs a readable fd, a write lock a writable one; the guest's
 * kernel has checked its own fd's mode already), else read-only or
 * write-only. Never writable on a read-only share. */
static int plock_open(struct fuse_server *s, struct fs_inode *node)
{
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	int fd = -EBADF;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (s->cfg.read_only && modes[i] != O_RDONLY)
			continue;
		fd = inode_open(s, node, modes[i]);
		if (fd >= 0)
			break;
	}
	return fd;
}

/* The owner's lock fd on node, made on first use. Under plock_lock. */
static int plock_get_locked(struct fuse_server *s, struct fs_inode *node, uint64_t owner,
			    uint32_t pid, struct fs_plock **out)
{
	struct fs_plock *p = plock_find(node, owner);
	int fd;

	if (p) {
		if (pid)
			p->pid = pid;
		*out = p;
		return 0;
	}
	if (s->nr_plocks >= s->max_plocks) {
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: lock owner limit (%u) reached",
				s->max_plocks);
		return -ENOLCK;
	}
	if (!fd_budget_take(s))
		return -ENOLCK;
	fd = plock_open(s, node);
	p = fd < 0 ? NULL : malloc(sizeof(*p));
	if (!p) {
		if (fd >= 0)
			close(fd);
		fd_budget_return(s);
		return fd < 0 ? fd : -ENOLCK;
	}
	*p = (struct fs_plock){ .next = node->plocks, .owner = owner, .pid = pid, .fd = fd };
	node->plocks = p;
	s->nr_plocks++;
	*out = p;
	return 0;
}

/* The owner closed a file through handle h (FLUSH, or RELEASE with FLUSH):
 * POSIX drops all of its locks on the file, and someone may be waiting for
 * them. Virtual files have none. */
void plock_release_owner(struct fuse_server *s, const struct fs_handle *h,
			 uint64_t owner)
{
	struct fs_inode *node = h->vfile ? NULL : inode_get(s, h->nodeid);
	struct fs_plock **link;

	if (!node)
		return;
	pthread_mutex_lock(&s->plock_lock);
	for (link = &node->plocks; *link && (*link)->owner != owner; link = &(*link)->next)
		;
	if (*link) {
		plock_drop_locked(s, link);
		pthread_cond_broadcast(&s->plocks_changed);
	}
	pthread_mutex_unlock(&s->plock_lock);
	inode_put(s, node);
}

/* The guest's lock (inclusive end, OFFSET_MAX for "to the end of the file")
 * as fcntl's; -EINVAL for a range or type fcntl would refuse. */
static int flock_from_fuse(const struct fuse_file_lock *lk, struct flock *fl)
{
	if (lk->start > (uint64_t)LLONG_MAX || lk->end > (uint64_t)LLONG_MAX || lk->end < lk->start)
		return -EINVAL;
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && lk->type != F_UNLCK)
		return -EINVAL;
	*fl = (struct flock){
		.l_type = (short)lk->type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)lk->start,
		.l_len = lk->end == (uint64_t)LLONG_MAX ? 0 : (off_t)(lk->end - lk->start + 1),
	};
	return 0;
}

static bool same_lock(const struct flock *a, const struct flock *b)
{
	return a->l_type == b->l_type && a->l_start == b->l_start && a->l_len == b->l_len;
}

/* Which guest owner holds the conflicting lock found from a view other than
 * requester's: the first other owner that does not see it (its own locks
 * are invisible to it). 0 (unknown) for a host process's lock, or when
 * overlapping read locks leave it open; GETLK's pid is informative only. */
static uint32_t plock_holder_pid(struct fs_inode *node, uint64_t requester,
				 const struct flock *conflict)
{
	for (struct fs_plock *p = node->plocks; p; p = p->next) {
		struct flock probe = *conflict;

		if (p->owner == requester)
			continue;
		probe.l_type = F_WRLCK;
		probe.l_pid = 0;
		if (!fcntl(p->fd, F_OFD_GETLK, &probe) && !same_lock(&probe, conflict))
			return p->pid;
	}
	return 0;
}

static const struct fuse_lk_in *req_lk(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_lk_in *in = req_arg(r, sizeof(*in));

	/* flock(2) stays the guest's own: FUSE_FLOCK_LOCKS is not offered */
	if (!in || (in->lk_flags & FUSE_LK_FLOCK) || node->vfile)
		return NULL;
	return in;
}

int op_getlk(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_server *s = r->s;
	const struct fuse_lk_in *in = req_lk(r, node);
	struct fuse_lk_out *out;
	struct fs_plock *p;
	struct flock fl;
	int fd, ret;

	if (!in)
		return node->vfile ? -ENOLCK : -EINVAL;
	ret = flock_from_fuse(&in->lk, &fl);
	if (ret || fl.l_type == F_UNLCK)
		return ret ? ret : -EINVAL;
	pthread_mutex_lock(&s->plock_lock);
	/* From the owner's own fd, so that its own locks do not conflict; an
	 * owner without one holds nothing, and any fd of the inode will do. */
	p = plock_find(node, in->owner);
	fd = p ? p->fd : plock_open(s, node);
	if (fd < 0)
		ret = fd;
	else if (fcntl(fd, F_OFD_GETLK, &fl))
		ret = -errno;
	if (!ret && (out = reply_space(r, sizeof(*out)))) {
		if (fl.l_type == F_UNLCK) {
			out->lk = (struct fuse_file_lock){ .start = in->lk.start, .end = in->lk.end,
							   .type = F_UNLCK };
		} else {
			/* l_len 0: to the end of the file */
			uint64_t end = fl.l_len ? (uint64_t)(fl.l_start + fl.l_len - 1) : LLONG_MAX;

			out->lk = (struct fuse_file_lock){
				.start = (uint64_t)fl.l_start,
				.end = end,
				.type = (uint32_t)fl.l_type,
				.pid = plock_holder_pid(node, in->owner, &fl),
			};
		}
	} else if (!ret) {
		ret = -ERANGE;
	}
	if (!p && fd >= 0)
		close(fd);
	pthread_mutex_unlock(&s->plock_lock);
	return ret;
}

/* SETLK, and SETLKW when wait: a lock another owner holds is waited for
 * while r->cancel allows it (the caller runs the request on a thread of its
 * own); otherwise SETLKW is answered ENOLCK rather than block its caller. */
static int setlk(struct fuse_req *r, struct fs_inode *node, bool wait)
{
	struct fuse_server *s = r->s;
	const struct fuse_lk_in *in = req_lk(r, node);
	struct fs_plock *p;
	struct flock fl;
	int ret;

	if (!in)
		return node->vfile ? -ENOLCK : -EINVAL;
	ret = flock_from_fuse(&in->lk, &fl);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->plock_lock);
	for (;;) {
		/* looked up anew each time: a FLUSH of the same owner may have
		 * dropped its fd while this one waited */
		p = plock_find(node, in->owner);
		if (fl.l_type == F_UNLCK) {
			if (p && fcntl(p->fd, F_OFD_SETLK, &fl))
				ret = -errno;
			pthread_cond_broadcast(&s->plocks_changed);
			break;
		}
		ret = plock_get_locked(s, node, in->owner, in->lk.pid, &p);
		if (ret)
			break;
		if (!fcntl(p->fd, F_OFD_SETLK, &fl))
			break;
		ret = -errno;
		if ((ret != -EAGAIN && ret != -EACCES) || !wait)
			break;
		if (!r->cancel) {
			ret = -ENOLCK;
			break;
		}
		if (atomic_load(r->cancel)) {
			ret = -EINTR;
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += PLOCK_RETRY_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->plocks_changed, &s->plock_lock, &until);
	}
	pthread_mutex_unlock(&s->plock_lock);
	/* EACCES is what some systems say for a conflict; Linux's fcntl says
	 * EAGAIN, and so does the guest's kernel */
	return ret == -EACCES ? -EAGAIN : ret;
}

int op_setlk(struct fuse_req *r, struct fs_inode *node)
{
	return setlk(r, node, false);
}

int op_setlkw(struct fuse_req *r, struct fs_inode *node)
{
	return setlk(r, node, true);
}
