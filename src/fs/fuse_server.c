/* The FUSE passthrough server: one request in, one reply out.
 *
 * Node ids and file handles are (generation << 32 | slot index) into two
 * tables, checked on every request. Every inode is an O_PATH fd obtained by
 * openat2() beneath its parent with symlinks never followed, so nothing the
 * guest names can resolve outside the share. Regular files and directories
 * are reopened for I/O through /proc/self/fd (the only way to turn an O_PATH
 * fd into a readable one); anything else is never opened. */
#include "fs/fuse_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/openat2.h>

#include "util/log.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define FUSE_ROOT_INDEX 1
#define DEFAULT_MAX_INODES (1u << 16)
#define DEFAULT_MAX_HANDLES (1u << 14)
#define MAX_WRITE (1u << 20)
/* Largest request: a write of MAX_WRITE plus its header, or two names. */
#define MAX_REQUEST (MAX_WRITE + 2 * PATH_MAX + 4096)
#define ATTR_TIMEOUT_S 5
#define XATTR_MAX 65536
#define MAX_DIR_ENTRIES (1u << 20)
/* libkrun's guest init reports the exit status with _IO('v', 2) on "/". */
#define KRUN_IOCTL_EXIT_CODE 0x7602

/* One guest lock owner's POSIX locks on one inode, held as open file
 * description locks on an fd of the owner's own: owners then conflict with
 * each other (and with the host's processes) as processes do, an owner's locks
 * on one inode are one set whichever of its handles it locks through, and
 * closing the fd drops them all, which FLUSH does when the owner closes. */
struct fs_plock {
	struct fs_plock *next;
	uint64_t owner; /* the guest's lock owner id */
	uint32_t pid;	/* its process, as the guest named it: for GETLK */
	int fd;
};

struct fs_inode {
	int fd; /* O_PATH, or -1 for a virtual file */
	struct fs_plock *plocks; /* under the server's plock_lock */
	uint32_t generation;
	bool in_use;
	dev_t dev;
	ino_t ino;
	uint64_t nlookup; /* the guest's references (LOOKUP minus FORGET) */
	uint32_t pins;    /* requests using fd right now */
	uint32_t next;    /* in use: next in its hash chain; free: next free slot */
	const struct fuse_virtual_file *vfile;
};

/* A directory listing taken at offset 0 and served by index, so that the
 * virtual files can be merged into the root and offsets stay stable. */
struct dir_entry {
	uint64_t ino;
	uint32_t type;
	uint32_t namelen;
	char *name;
};

struct fs_handle {
	int fd; /* -1 for a virtual file */
	uint32_t generation;
	bool in_use;
	bool released; /* RELEASE seen; freed when the last pin goes */
	uint32_t pins;
	uint32_t next_free;
	uint64_t nodeid;
	const struct fuse_virtual_file *vfile;
	pthread_mutex_t dir_lock; /* serializes listing snapshot use */
	struct dir_entry *entries;
	size_t nr_entries;
};

struct fuse_server {
	struct fuse_server_config cfg;
	int proc_self_fd;
	pthread_mutex_t lock; /* the tables and the session state */
	bool initialized;
	/* Slot 0 is never used, so index 0 ends every list. */
	struct fs_inode *inodes;
	uint32_t nr_inodes;
	uint32_t free_inode;
	uint32_t *inode_hash; /* (dev, ino) -> first slot of the chain */
	uint32_t hash_mask;
	struct fs_handle *handles;
	uint32_t nr_handles;
	uint32_t free_handle;

	/* POSIX locks: every inode's plocks, their count (bounded: each holds
	 * an fd) and what wakes a SETLKW waiting for a lock. Taken inside lock,
	 * never the other way round. */
	pthread_mutex_t plock_lock;
	pthread_cond_t plocks_changed; /* a guest owner unlocked, or a cancel */
	uint32_t nr_plocks;
	uint32_t max_plocks;
};

struct fuse_req {
	struct fuse_server *s;
	const struct fuse_in_header *hdr;
	const uint8_t *arg; /* what is left of the arguments */
	size_t arg_len;
	uint8_t *reply; /* after the out header */
	size_t reply_cap;
	size_t reply_len;
	/* Where a request may wait (SETLKW): set when the caller can stop it;
	 * NULL, and the request never waits. */
	const atomic_bool *cancel;
	/* The guest's buffers: the data of WRITE and READ goes between them
	 * and the file directly, not through a copy (a hostile guest changing
	 * the data meanwhile only changes what it reads or writes). */
	const struct iovec *in, *out;
	unsigned int nr_in, nr_out;
	bool reply_data_in_place; /* reply_len bytes are in out after the header */
};

/* ---- node ids and handles ---- */

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

static void inode_hash_add(struct fuse_server *s, struct fs_inode *in)
{
	uint32_t *head = hash_bucket(s, in->dev, in->ino);

	in->next = *head;
	*head = (uint32_t)(in - s->inodes);
}

/* Unlinks *link from its inode's list and drops its locks (closing the
 * owner's fd does). Under plock_lock. */
static void plock_drop_locked(struct fuse_server *s, struct fs_plock **link)
{
	struct fs_plock *p = *link;

	*link = p->next;
	close(p->fd);
	free(p);
	s->nr_plocks--;
}

/* Drops every guest lock on the inode (its owners' fds): the inode is
 * going, and no request holds it. */
static void plocks_free(struct fuse_server *s, struct fs_inode *in)
{
	pthread_mutex_lock(&s->plock_lock);
	while (in->plocks)
		plock_drop_locked(s, &in->plocks);
	pthread_cond_broadcast(&s->plocks_changed);
	pthread_mutex_unlock(&s->plock_lock);
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
	in->fd = -1;
	in->in_use = false;
	in->generation++;
	in->next = s->free_inode;
	s->free_inode = index;
}

/* Pins the inode so its fd stays open while the lock is not held. */
static struct fs_inode *inode_get(struct fuse_server *s, uint64_t nodeid)
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

static void inode_unref_locked(struct fuse_server *s, struct fs_inode *in)
{
	if (!in->pins && !in->nlookup && !inode_is_permanent(in, s))
		inode_free_locked(s, in);
}

static void inode_put(struct fuse_server *s, struct fs_inode *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&s->lock);
	in->pins--;
	inode_unref_locked(s, in);
	pthread_mutex_unlock(&s->lock);
}

static uint64_t inode_id(const struct fuse_server *s, const struct fs_inode *in)
{
	return make_id((uint32_t)(in - s->inodes), in->generation);
}

static void forget_one(struct fuse_server *s, uint64_t nodeid, uint64_t count)
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

/* Takes ownership of fd: either it becomes a new inode or, when the host
 * inode is already known, it is closed and the known one gains a lookup. */
static int inode_insert(struct fuse_server *s, int fd, const struct stat *st, uint64_t *nodeid)
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
	if (!s->free_inode) {
		pthread_mutex_unlock(&s->lock);
		close(fd);
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: inode limit (%u) reached", s->nr_inodes - 1);
		return -ENFILE;
	}
	free_slot = &s->inodes[s->free_inode];
	s->free_inode = free_slot->next;
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

static struct fs_handle *handle_get(struct fuse_server *s, uint64_t fh)
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

static void dir_entries_free(struct fs_handle *h)
{
	for (size_t i = 0; i < h->nr_entries; i++)
		free(h->entries[i].name);
	free(h->entries);
	h->entries = NULL;
	h->nr_entries = 0;
}

static void handle_unref_locked(struct fuse_server *s, struct fs_handle *h)
{
	if (h->pins || !h->released)
		return;
	if (h->fd >= 0)
		close(h->fd);
	dir_entries_free(h);
	h->fd = -1;
	h->in_use = false;
	h->generation++;
	h->next_free = s->free_handle;
	s->free_handle = (uint32_t)(h - s->handles);
}

static void handle_put(struct fuse_server *s, struct fs_handle *h)
{
	pthread_mutex_lock(&s->lock);
	h->pins--;
	handle_unref_locked(s, h);
	pthread_mutex_unlock(&s->lock);
}

/* Takes ownership of fd (closed on failure). */
static int handle_new(struct fuse_server *s, int fd, uint64_t nodeid,
		      const struct fuse_virtual_file *vfile, uint64_t *fh)
{
	pthread_mutex_lock(&s->lock);
	if (s->free_handle) {
		uint32_t i = s->free_handle;
		struct fs_handle *h = &s->handles[i];

		s->free_handle = h->next_free;
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
	LOG_RATELIMITED(LOG_WARN, "virtio-fs: open file limit (%u) reached", s->nr_handles);
	return -EMFILE;
}

static int handle_release(struct fuse_server *s, uint64_t fh)
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

/* ---- requests and replies ---- */

static size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

static void iov_gather(void *dst, size_t len, const struct iovec *iov, unsigned int n)
{
	uint8_t *p = dst;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t chunk = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(p, iov[i].iov_base, chunk);
		p += chunk;
		len -= chunk;
	}
}

static void iov_scatter(const struct iovec *iov, unsigned int n, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t chunk = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, p, chunk);
		p += chunk;
		len -= chunk;
	}
}

/* Bytes [offset, offset + len) of iov, clipped to its end, as iovecs of
 * their own in slice (room for SLICE_MAX): how many, or -EINVAL when there
 * are more. Memory the guest's buffers name, for preadv and pwritev. */
#define SLICE_MAX 1024 /* the kernel's UIO_MAXIOV */
static int iov_slice(const struct iovec *iov, unsigned int n, size_t offset, size_t len,
		     struct iovec slice[SLICE_MAX])
{
	int nr = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t chunk;

		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		if (nr == SLICE_MAX)
			return -EINVAL;
		chunk = iov[i].iov_len - offset < len ? iov[i].iov_len - offset : len;
		slice[nr++] = (struct iovec){ (uint8_t *)iov[i].iov_base + offset, chunk };
		offset = 0;
		len -= chunk;
	}
	return nr;
}

static const void *req_arg(struct fuse_req *r, size_t size)
{
	const void *p = r->arg;

	if (r->arg_len < size)
		return NULL;
	r->arg += size;
	r->arg_len -= size;
	return p;
}

static bool is_dot_or_dotdot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/* A name the guest gives for an entry of a directory: NUL-terminated within
 * the request, one path component, not "." or "..". */
static int req_name(struct fuse_req *r, const char **name)
{
	const char *p = (const char *)r->arg;
	const char *end = memchr(p, '\0', r->arg_len);

	if (!end)
		return -EINVAL;
	if (end == p || strchr(p, '/') || is_dot_or_dotdot(p))
		return -EINVAL;
	if (end - p > NAME_MAX)
		return -ENAMETOOLONG;
	req_arg(r, end - p + 1);
	*name = p;
	return 0;
}

/* Room for size more bytes of reply, or NULL when the guest's buffer is
 * too small. */
static void *reply_space(struct fuse_req *r, size_t size)
{
	void *p;

	if (r->reply_cap - r->reply_len < size)
		return NULL;
	p = r->reply + r->reply_len;
	memset(p, 0, size);
	r->reply_len += size;
	return p;
}

static int reply_copy(struct fuse_req *r, const void *data, size_t size)
{
	void *p = reply_space(r, size);

	if (!p)
		return -ERANGE;
	memcpy(p, data, size);
	return 0;
}

static bool req_is_root_writer(const struct fuse_req *r)
{
	return r->hdr->uid == 0;
}

/* ---- host helpers ---- */

static int open_beneath(int dirfd, const char *name, uint64_t flags, uint64_t mode)
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

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? -errno : 0;
}

static int chmod_fd(struct fuse_server *s, int fd, mode_t mode)
{
	char name[16];

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
static void kill_priv(struct fuse_server *s, int fd)
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
}

/* An fd for I/O on an inode; only regular files and directories. */
static int inode_open(struct fuse_server *s, struct fs_inode *in, int flags)
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

static void attr_from_stat(struct fuse_attr *a, const struct stat *st)
{
	*a = (struct fuse_attr){
		.ino = st->st_ino,
		.size = st->st_size,
		.blocks = st->st_blocks,
		.atime = st->st_atim.tv_sec,
		.mtime = st->st_mtim.tv_sec,
		.ctime = st->st_ctim.tv_sec,
		.atimensec = st->st_atim.tv_nsec,
		.mtimensec = st->st_mtim.tv_nsec,
		.ctimensec = st->st_ctim.tv_nsec,
		.mode = st->st_mode,
		.nlink = st->st_nlink,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.rdev = st->st_rdev,
		.blksize = st->st_blksize,
	};
}

static uint64_t vfile_ino(const struct fuse_server *s, const struct fuse_virtual_file *vf)
{
	return UINT64_MAX - (uint64_t)(vf - s->cfg.virtual_files);
}

static void vfile_attr(const struct fuse_server *s, const struct fuse_virtual_file *vf,
		       struct fuse_attr *a)
{
	*a = (struct fuse_attr){
		.ino = vfile_ino(s, vf),
		.size = vf->len,
		.blocks = (vf->len + 511) / 512,
		.mode = S_IFREG | (vf->mode & 0555),
		.nlink = 1,
		.blksize = 4096,
	};
}

static int inode_attr(struct fuse_server *s, struct fs_inode *in, struct fuse_attr *a)
{
	struct stat st;
	int ret;

	if (in->vfile) {
		vfile_attr(s, in->vfile, a);
		return 0;
	}
	ret = stat_fd(in->fd, &st);
	if (!ret)
		attr_from_stat(a, &st);
	return ret;
}

static const struct fuse_virtual_file *vfile_named(const struct fuse_server *s,
						   const struct fs_inode *parent, const char *name)
{
	if (parent != &s->inodes[FUSE_ROOT_INDEX])
		return NULL;
	for (unsigned int i = 0; i < s->cfg.nr_virtual_files; i++)
		if (!strcmp(s->cfg.virtual_files[i].name, name))
			return &s->cfg.virtual_files[i];
	return NULL;
}

static struct fs_inode *vfile_inode(struct fuse_server *s, const struct fuse_virtual_file *vf)
{
	return &s->inodes[FUSE_ROOT_INDEX + 1 + (vf - s->cfg.virtual_files)];
}

/* Adds a lookup of name in parent to the table and describes it. */
static int lookup_entry(struct fuse_server *s, struct fs_inode *parent, const char *name,
			struct fuse_entry_out *e)
{
	const struct fuse_virtual_file *vf = vfile_named(s, parent, name);
	struct stat st;
	int fd, ret;

	if (parent->vfile)
		return -ENOTDIR;
	memset(e, 0, sizeof(*e));
	e->entry_valid = e->attr_valid = ATTR_TIMEOUT_S;
	if (vf) {
		struct fs_inode *in = vfile_inode(s, vf);

		pthread_mutex_lock(&s->lock);
		in->nlookup++;
		e->nodeid = inode_id(s, in);
		pthread_mutex_unlock(&s->lock);
		vfile_attr(s, vf, &e->attr);
		return 0;
	}
	fd = open_beneath(parent->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	ret = stat_fd(fd, &st);
	if (ret) {
		close(fd);
		return ret;
	}
	ret = inode_insert(s, fd, &st, &e->nodeid);
	if (!ret)
		attr_from_stat(&e->attr, &st);
	return ret;
}

static int reply_entry(struct fuse_req *r, struct fs_inode *parent, const char *name)
{
	struct fuse_entry_out e;
	int ret = lookup_entry(r->s, parent, name, &e);

	if (ret)
		return ret;
	ret = reply_copy(r, &e, sizeof(e));
	if (ret)
		forget_one(r->s, e.nodeid, 1);
	return ret;
}

/* ---- operations ---- */

/* node: the request's node, pinned; NULL for OP_NO_NODE ops. */
typedef int (*op_fn)(struct fuse_req *r, struct fs_inode *node);

static int op_init(struct fuse_req *r, struct fs_inode *node)
{
	const uint32_t offered = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
				 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
				 FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_HANDLE_KILLPRIV_V2 |
				 FUSE_POSIX_LOCKS;
	struct fuse_server *s = r->s;
	const struct fuse_init_in *in = (const void *)r->arg;
	struct fuse_init_out out = { .major = FUSE_KERNEL_VERSION };
	size_t out_size = sizeof(out);

	(void)node;
	if (r->arg_len < offsetof(struct fuse_init_in, flags2))
		return -EINVAL;
	if (in->major < 7)
		return -EPROTO;
	/* A newer major: answer with ours and the kernel retries with it. */
	if (in->major > 7)
		return reply_copy(r, &out, FUSE_COMPAT_INIT_OUT_SIZE);

	pthread_mutex_lock(&s->lock);
	if (s->initialized) {
		pthread_mutex_unlock(&s->lock);
		return -EPROTO;
	}
	out.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor : FUSE_KERNEL_MINOR_VERSION;
	out.max_readahead = in->max_readahead;
	out.flags = in->flags & offered;
	out.max_background = 64;
	out.congestion_threshold = 48;
	out.max_write = MAX_WRITE;
	out.time_gran = 1;
	out.max_pages = MAX_WRITE / 4096;
	s->initialized = true;
	pthread_mutex_unlock(&s->lock);
	if (out.minor < 5)
		out_size = FUSE_COMPAT_INIT_OUT_SIZE;
	else if (out.minor < 23)
		out_size = FUSE_COMPAT_22_INIT_OUT_SIZE;
	return reply_copy(r, &out, out_size);
}

/* The guest unmounted: drop everything it held. */
static int op_destroy(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_server *s = r->s;

	(void)node;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->nr_handles; i++) {
		if (s->handles[i].in_use && !s->handles[i].released) {
			s->handles[i].released = true;
			handle_unref_locked(s, &s->handles[i]);
		}
	}
	for (uint32_t i = FUSE_ROOT_INDEX; i < s->nr_inodes; i++) {
		if (s->inodes[i].in_use) {
			s->inodes[i].nlookup = 0;
			plocks_free(s, &s->inodes[i]);
			inode_unref_locked(s, &s->inodes[i]);
		}
	}
	s->initialized = false;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int op_lookup(struct fuse_req *r, struct fs_inode *node)
{
	const char *name;
	int ret = req_name(r, &name);

	return ret ? ret : reply_entry(r, node, name);
}

static int op_forget(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_forget_in *in = req_arg(r, sizeof(*in));

	(void)node;
	if (in)
		forget_one(r->s, r->hdr->nodeid, in->nlookup);
	return 0;
}

static int op_batch_forget(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_batch_forget_in *in = req_arg(r, sizeof(*in));
	const struct fuse_forget_one *one;

	(void)node;
	if (!in)
		return 0;
	for (uint32_t i = 0; i < in->count && (one = req_arg(r, sizeof(*one))); i++)
		forget_one(r->s, one->nodeid, one->nlookup);
	return 0;
}

static int reply_attr(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_attr_out *out = reply_space(r, sizeof(*out));

	if (!out)
		return -ERANGE;
	out->attr_valid = ATTR_TIMEOUT_S;
	return inode_attr(r->s, node, &out->attr);
}

static int op_getattr(struct fuse_req *r, struct fs_inode *node)
{
	return reply_attr(r, node);
}

/* A handle of the request's node, pinned; fh 0 is as valid as any. */
static int req_handle(struct fuse_req *r, uint64_t fh, struct fs_handle **out)
{
	struct fs_handle *h = handle_get(r->s, fh);

	if (!h)
		return -EBADF;
	if (h->nodeid != r->hdr->nodeid && r->hdr->nodeid) {
		handle_put(r->s, h);
		return -EBADF;
	}
	*out = h;
	return 0;
}

static int truncate_node(struct fuse_req *r, struct fs_inode *node,
			 const struct fuse_setattr_in *in, bool kill)
{
	struct fs_handle *h = NULL;
	int fd, ret = 0;

	if (in->valid & FATTR_FH) {
		ret = req_handle(r, in->fh, &h);
		if (ret)
			return ret;
		fd = h->fd;
		ret = fd < 0 ? -EBADF : 0;
	} else {
		fd = inode_open(r->s, node, O_WRONLY);
		ret = fd < 0 ? fd : 0;
	}
	if (!ret) {
		if (kill)
			kill_priv(r->s, fd);
		if (in->size > (uint64_t)LLONG_MAX)
			ret = -EFBIG;
		else if (ftruncate(fd, (off_t)in->size))
			ret = -errno;
	}
	if (h)
		handle_put(r->s, h);
	else if (fd >= 0)
		close(fd);
	return ret;
}

static struct timespec setattr_time(uint32_t valid, uint32_t set, uint32_t now, uint64_t sec,
				    uint32_t nsec)
{
	if (valid & now)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (valid & set)
		return (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

static int op_setattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_setattr_in *in = req_arg(r, sizeof(*in));
	bool kill;
	int ret;

	if (!in)
		return -EINVAL;
	if (node->vfile)
		return -EPERM;
	kill = !req_is_root_writer(r) || (in->valid & FATTR_KILL_SUIDGID);
	if (in->valid & (FATTR_UID | FATTR_GID)) {
		uid_t uid = in->valid & FATTR_UID ? in->uid : (uid_t)-1;
		gid_t gid = in->valid & FATTR_GID ? in->gid : (gid_t)-1;

		if (fchownat(node->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (in->valid & FATTR_MODE) {
		ret = chmod_fd(r->s, node->fd, in->mode & 07777);
		if (ret)
			return ret;
	}
	if (in->valid & FATTR_SIZE) {
		ret = truncate_node(r, node, in, kill);
		if (ret)
			return ret;
	}
	if (in->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		struct timespec ts[2] = {
			setattr_time(in->valid, FATTR_ATIME, FATTR_ATIME_NOW, in->atime,
				     in->atimensec),
			setattr_time(in->valid, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime,
				     in->mtimensec),
		};

		if ((ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT &&
		     ts[0].tv_nsec >= 1000000000) ||
		    (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT &&
		     ts[1].tv_nsec >= 1000000000))
			return -EINVAL;
		if (utimensat(node->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	return reply_attr(r, node);
}

static int op_readlink(struct fuse_req *r, struct fs_inode *node)
{
	char buf[PATH_MAX];
	ssize_t n;

	if (node->vfile)
		return -EINVAL;
	n = readlinkat(node->fd, "", buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return reply_copy(r, buf, n);
}

/* The guest's mode exactly, whatever our umask took away; a directory keeps
 * the set-group-ID bit it inherited from its parent. */
static void set_created_mode(struct fuse_server *s, int fd, mode_t mode)
{
	struct stat st;

	if (stat_fd(fd, &st))
		return;
	if (S_ISDIR(st.st_mode))
		mode |= st.st_mode & S_ISGID;
	if ((st.st_mode & 07777) != mode)
		chmod_fd(s, fd, mode);
}

/* The parts every creation shares: the name must be free of virtual files,
 * and the new entry gets the guest caller's ownership and exact mode. */
static int reply_created(struct fuse_req *r, struct fs_inode *parent, const char *name,
			 mode_t mode, bool set_mode)
{
	struct fuse_entry_out e;
	struct fs_inode *in;
	struct stat pst;
	gid_t gid = r->hdr->gid;
	int ret = lookup_entry(r->s, parent, name, &e);

	if (ret)
		return ret;
	/* Below a set-group-ID directory the entry keeps the directory's group,
	 * which the host already gave it. */
	if (!stat_fd(parent->fd, &pst) && (pst.st_mode & S_ISGID))
		gid = (gid_t)-1;
	in = inode_get(r->s, e.nodeid);
	if (in && geteuid() == 0)
		fchownat(in->fd, "", r->hdr->uid, gid,
			 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	if (in && set_mode)
		set_created_mode(r->s, in->fd, mode & 07777);
	if (in)
		inode_attr(r->s, in, &e.attr);
	inode_put(r->s, in);
	ret = reply_copy(r, &e, sizeof(e));
	if (ret)
		forget_one(r->s, e.nodeid, 1);
	return ret;
}

static int req_new_name(struct fuse_req *r, struct fs_inode *parent, const char **name)
{
	int ret = req_name(r, name);

	if (ret)
		return ret;
	if (parent->vfile)
		return -ENOTDIR;
	return vfile_named(r->s, parent, *name) ? -EEXIST : 0;
}

static int op_mkdir(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_mkdir_in *in = req_arg(r, sizeof(*in));
	const char *name;
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	if (mkdirat(node->fd, name, in->mode & 07777))
		return -errno;
	return reply_created(r, node, name, in->mode, true);
}

static int op_mknod(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_mknod_in *in = req_arg(r, sizeof(*in));
	const char *name;
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	switch (in->mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
	case S_IFBLK:
		/* A device node in the share would be the guest's key to the host's
		 * devices for anyone on the host who opens it. */
		return -EPERM;
	default:
		return -EINVAL;
	}
	if (mknodat(node->fd, name, in->mode & (S_IFMT | 07777), 0))
		return -errno;
	return reply_created(r, node, name, in->mode, true);
}

static int op_symlink(struct fuse_req *r, struct fs_inode *node)
{
	const char *name, *target;
	int ret = req_new_name(r, node, &name);

	if (ret)
		return ret;
	/* The target is only text stored in the link; it may say anything. */
	target = (const char *)r->arg;
	if (!memchr(target, '\0', r->arg_len) || !*target)
		return -EINVAL;
	if (symlinkat(target, node->fd, name))
		return -errno;
	return reply_created(r, node, name, 0, false);
}

static int op_link(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_link_in *in = req_arg(r, sizeof(*in));
	struct fs_inode *old;
	const char *name;
	char proc_name[16];
	int ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	old = inode_get(r->s, in->oldnodeid);
	if (!old)
		return -EBADF;
	if (old->vfile) {
		ret = -EPERM;
	} else if (!linkat(old->fd, "", node->fd, name, AT_EMPTY_PATH)) {
		ret = 0;
	} else if (errno == ENOENT) {
		/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the fd's /proc entry
		 * names the same inode. */
		snprintf(proc_name, sizeof(proc_name), "%d", old->fd);
		ret = linkat(r->s->proc_self_fd, proc_name, node->fd, name, AT_SYMLINK_FOLLOW) ?
			      -errno :
			      0;
	} else {
		ret = -errno;
	}
	inode_put(r->s, old);
	return ret ? ret : reply_entry(r, node, name);
}

static int remove_entry(struct fuse_req *r, struct fs_inode *node, int flags)
{
	const char *name;
	int ret = req_name(r, &name);

	if (ret)
		return ret;
	if (vfile_named(r->s, node, name))
		return -EPERM;
	if (node->vfile)
		return -ENOTDIR;
	return unlinkat(node->fd, name, flags) ? -errno : 0;
}

static int op_unlink(struct fuse_req *r, struct fs_inode *node)
{
	return remove_entry(r, node, 0);
}

static int op_rmdir(struct fuse_req *r, struct fs_inode *node)
{
	return remove_entry(r, node, AT_REMOVEDIR);
}

static int rename_entry(struct fuse_req *r, struct fs_inode *node, uint64_t newdir,
			uint32_t flags)
{
	struct fs_inode *newparent;
	const char *oldname, *newname;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	ret = req_name(r, &oldname);
	if (!ret)
		ret = req_name(r, &newname);
	if (ret)
		return ret;
	newparent = inode_get(r->s, newdir);
	if (!newparent)
		return -EBADF;
	if (vfile_named(r->s, node, oldname) || vfile_named(r->s, newparent, newname))
		ret = -EPERM;
	else if (node->vfile || newparent->vfile)
		ret = -ENOTDIR;
	else if (syscall(SYS_renameat2, node->fd, oldname, newparent->fd, newname, flags))
		ret = -errno;
	inode_put(r->s, newparent);
	return ret;
}

static int op_rename(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_rename_in *in = req_arg(r, sizeof(*in));

	return in ? rename_entry(r, node, in->newdir, 0) : -EINVAL;
}

static int op_rename2(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_rename2_in *in = req_arg(r, sizeof(*in));

	return in ? rename_entry(r, node, in->newdir, in->flags) : -EINVAL;
}

/* Open flags the guest may ask for; creation is CREATE's business. */
static int open_flags(uint32_t guest_flags)
{
	return guest_flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC |
			      O_DIRECT | O_NOATIME | O_LARGEFILE | O_DIRECTORY);
}

static bool open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* An open that truncates is a change like a write. */
static void open_kill_priv(struct fuse_req *r, int fd, int flags, uint32_t fuse_open_flags)
{
	if ((flags & O_TRUNC) &&
	    (!req_is_root_writer(r) || (fuse_open_flags & FUSE_OPEN_KILL_SUIDGID)))
		kill_priv(r->s, fd);
}

static int reply_open(struct fuse_req *r, int fd, uint64_t nodeid,
		      const struct fuse_virtual_file *vf)
{
	struct fuse_open_out *out = reply_space(r, sizeof(*out));
	int ret;

	if (!out) {
		if (fd >= 0)
			close(fd);
		return -ERANGE;
	}
	ret = handle_new(r->s, fd, nodeid, vf, &out->fh);
	if (ret)
		r->reply_len -= sizeof(*out);
	return ret;
}

static int open_node(struct fuse_req *r, struct fs_inode *node, bool dir)
{
	const struct fuse_open_in *in = req_arg(r, sizeof(*in));
	int flags, fd;

	if (!in)
		return -EINVAL;
	flags = open_flags(in->flags) | (dir ? O_DIRECTORY : 0);
	if (open_writes(flags) && r->s->cfg.read_only)
		return -EROFS;
	if (node->vfile) {
		if (dir)
			return -ENOTDIR;
		if (open_writes(flags))
			return -EACCES;
		return reply_open(r, -1, r->hdr->nodeid, node->vfile);
	}
	fd = inode_open(r->s, node, flags);
	if (fd < 0)
		return fd;
	open_kill_priv(r, fd, flags, in->open_flags);
	return reply_open(r, fd, r->hdr->nodeid, NULL);
}

static int op_open(struct fuse_req *r, struct fs_inode *node)
{
	return open_node(r, node, false);
}

static int op_opendir(struct fuse_req *r, struct fs_inode *node)
{
	return open_node(r, node, true);
}

static int op_create(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_create_in *in = req_arg(r, sizeof(*in));
	struct fuse_entry_out *e;
	struct fs_inode *created;
	const char *name;
	size_t reply_start = r->reply_len;
	int flags, fd, ret;

	if (!in)
		return -EINVAL;
	ret = req_new_name(r, node, &name);
	if (ret)
		return ret;
	flags = open_flags(in->flags) & ~O_DIRECTORY;
	/* Create exclusively, so that an existing entry (perhaps a device node)
	 * goes through the checked open of an inode instead. */
	fd = open_beneath(node->fd, name, flags | O_CREAT | O_EXCL, in->mode & 07777);
	if (fd >= 0) {
		close(fd);
		ret = reply_created(r, node, name, in->mode, true);
	} else if (fd == -EEXIST && !(in->flags & O_EXCL)) {
		ret = reply_entry(r, node, name);
	} else {
		ret = fd;
	}
	if (ret)
		return ret;
	e = (struct fuse_entry_out *)(r->reply + reply_start);
	created = inode_get(r->s, e->nodeid);
	fd = created ? inode_open(r->s, created, flags) : -EBADF;
	inode_put(r->s, created);
	if (fd >= 0) {
		open_kill_priv(r, fd, flags, in->open_flags);
		ret = reply_open(r, fd, e->nodeid, NULL);
		if (!ret)
			return 0;
	} else {
		ret = fd;
	}
	forget_one(r->s, e->nodeid, 1);
	return ret;
}

static int op_read(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_read_in *in = req_arg(r, sizeof(*in));
	const size_t data_at = sizeof(struct fuse_out_header);
	struct iovec slice[SLICE_MAX];
	struct fs_handle *h;
	size_t size;
	ssize_t n;
	int nr, ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if (in->offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	/* the handler made sure the out header fits */
	size = iov_total(r->out, r->nr_out) - data_at;
	if (size > MAX_WRITE)
		size = MAX_WRITE;
	if (size > in->size)
		size = in->size;
	nr = iov_slice(r->out, r->nr_out, data_at, size, slice);
	if (nr < 0)
		return nr;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->vfile) {
		const struct fuse_virtual_file *vf = h->vfile;

		n = in->offset < vf->len ? (ssize_t)(vf->len - in->offset) : 0;
		if ((size_t)n > size)
			n = size;
		if (n)
			iov_scatter(slice, nr, (const uint8_t *)vf->data + in->offset, n);
	} else {
		n = preadv(h->fd, slice, nr, (off_t)in->offset);
		if (n < 0)
			ret = -errno;
	}
	handle_put(r->s, h);
	if (!ret) {
		r->reply_len = n;
		r->reply_data_in_place = true;
	}
	return ret;
}

static int op_write(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_write_in *in = req_arg(r, sizeof(*in));
	const size_t data_at = sizeof(struct fuse_in_header) + sizeof(*in);
	struct iovec slice[SLICE_MAX];
	struct fuse_write_out *out;
	struct fs_handle *h;
	ssize_t n;
	int nr, ret;

	(void)node;
	/* The data follows in the guest's buffers, never copied: see
	 * request_copy_len. */
	if (!in)
		return -EINVAL;
	if (in->size > r->hdr->len - data_at || in->offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	nr = iov_slice(r->in, r->nr_in, data_at, in->size, slice);
	if (nr < 0)
		return nr;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->vfile) {
		handle_put(r->s, h);
		return -EBADF;
	}
	if (!req_is_root_writer(r) || (in->write_flags & FUSE_WRITE_KILL_SUIDGID))
		kill_priv(r->s, h->fd);
	n = pwritev(h->fd, slice, nr, (off_t)in->offset);
	if (n < 0)
		ret = -errno;
	handle_put(r->s, h);
	if (ret)
		return ret;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->size = (uint32_t)n;
	return 0;
}

static int op_statfs(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_statfs_out *out;
	struct statfs st;

	if (fstatfs(node->vfile ? r->s->inodes[FUSE_ROOT_INDEX].fd : node->fd, &st))
		return -errno;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->st = (struct fuse_kstatfs){
		.blocks = st.f_blocks,
		.bfree = st.f_bfree,
		.bavail = st.f_bavail,
		.files = st.f_files,
		.ffree = st.f_ffree,
		.bsize = st.f_bsize,
		.namelen = st.f_namelen,
		.frsize = st.f_frsize,
	};
	return 0;
}

/* ---- POSIX locks ---- */

/* How long a SETLKW sleeps before it looks again when no guest owner has
 * unlocked anything: the wait for a lock a host process holds, which nothing
 * here is told about. A guest owner's unlock wakes it at once. */
#define PLOCK_RETRY_MS 100

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
	fd = plock_open(s, node);
	if (fd < 0)
		return fd;
	p = malloc(sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOLCK;
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
static void plock_release_owner(struct fuse_server *s, const struct fs_handle *h,
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

static int op_getlk(struct fuse_req *r, struct fs_inode *node)
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

static int op_setlk(struct fuse_req *r, struct fs_inode *node)
{
	return setlk(r, node, false);
}

static int op_setlkw(struct fuse_req *r, struct fs_inode *node)
{
	return setlk(r, node, true);
}

static int op_release(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_release_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;

	(void)node;
	if (!in)
		return -EINVAL;
	/* A release that stands for the last close's flush drops the owner's
	 * locks as FLUSH does. */
	if ((in->release_flags & FUSE_RELEASE_FLUSH) && (h = handle_get(r->s, in->fh))) {
		plock_release_owner(r->s, h, in->lock_owner);
		handle_put(r->s, h);
	}
	return handle_release(r->s, in->fh);
}

static int op_fsync(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_fsync_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->fd >= 0 &&
	    ((in->fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(h->fd) : fsync(h->fd)))
		ret = -errno;
	handle_put(r->s, h);
	return ret;
}

static int op_flush(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_flush_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	/* A close: POSIX drops every lock the closing owner holds on the file. */
	plock_release_owner(r->s, h, in->lock_owner);
	handle_put(r->s, h);
	return 0;
}

/* xattrs work on every kind of inode, so through the fd's /proc entry,
 * which names exactly the inode and opens nothing. */
static void proc_path(const struct fs_inode *node, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", node->fd);
}

static int op_getxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_getxattr_in *in = req_arg(r, sizeof(*in));
	const char *name = (const char *)r->arg;
	char path[32];
	size_t size;
	ssize_t n;
	void *buf;

	if (!in || !memchr(name, '\0', r->arg_len))
		return -EINVAL;
	if (node->vfile)
		return -ENODATA;
	proc_path(node, path, sizeof(path));
	if (in->size == 0) {
		struct fuse_getxattr_out *out;

		n = getxattr(path, name, NULL, 0);
		if (n < 0)
			return -errno;
		out = reply_space(r, sizeof(*out));
		if (!out)
			return -ERANGE;
		out->size = n;
		return 0;
	}
	size = in->size < XATTR_MAX ? in->size : XATTR_MAX;
	if (size > r->reply_cap)
		return -ERANGE;
	buf = r->reply;
	n = getxattr(path, name, buf, size);
	if (n < 0)
		return -errno;
	r->reply_len = n;
	return 0;
}

static int op_listxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_getxattr_in *in = req_arg(r, sizeof(*in));
	char path[32];
	size_t size;
	ssize_t n;

	if (!in)
		return -EINVAL;
	if (node->vfile) {
		n = 0;
	} else {
		proc_path(node, path, sizeof(path));
		size = in->size < XATTR_MAX ? in->size : XATTR_MAX;
		if (size > r->reply_cap)
			return -ERANGE;
		n = listxattr(path, in->size ? (char *)r->reply : NULL, in->size ? size : 0);
		if (n < 0)
			return -errno;
	}
	if (in->size == 0) {
		struct fuse_getxattr_out *out = reply_space(r, sizeof(*out));

		if (!out)
			return -ERANGE;
		out->size = n;
	} else {
		r->reply_len = n;
	}
	return 0;
}

static int op_setxattr(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_setxattr_in *in = req_arg(r, FUSE_COMPAT_SETXATTR_IN_SIZE);
	const char *name = (const char *)r->arg;
	const char *end;
	char path[32];

	if (!in || !(end = memchr(name, '\0', r->arg_len)))
		return -EINVAL;
	req_arg(r, end - name + 1);
	if (in->size > r->arg_len || in->size > XATTR_MAX)
		return -EINVAL;
	if (node->vfile)
		return -EPERM;
	proc_path(node, path, sizeof(path));
	return setxattr(path, name, r->arg, in->size, (int)in->flags) ? -errno : 0;
}

static int op_removexattr(struct fuse_req *r, struct fs_inode *node)
{
	const char *name = (const char *)r->arg;
	char path[32];

	if (!memchr(name, '\0', r->arg_len))
		return -EINVAL;
	if (node->vfile)
		return -EPERM;
	proc_path(node, path, sizeof(path));
	return removexattr(path, name) ? -errno : 0;
}

static int op_access(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_access_in *in = req_arg(r, sizeof(*in));
	struct fuse_attr a;
	uint32_t granted;
	int ret;

	if (!in)
		return -EINVAL;
	ret = inode_attr(r->s, node, &a);
	if (ret)
		return ret;
	if ((in->mask & W_OK) && (r->s->cfg.read_only || node->vfile))
		return -EROFS;
	if (r->hdr->uid == 0) {
		/* root may execute only what someone may execute */
		granted = R_OK | W_OK | ((a.mode & 0111) || S_ISDIR(a.mode) ? X_OK : 0);
	} else if (r->hdr->uid == a.uid) {
		granted = (a.mode >> 6) & 7;
	} else if (r->hdr->gid == a.gid) {
		granted = (a.mode >> 3) & 7;
	} else {
		granted = a.mode & 7;
	}
	return (in->mask & 7 & ~granted) ? -EACCES : 0;
}

static int op_fallocate(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_fallocate_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *h;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if (in->offset > (uint64_t)LLONG_MAX || in->length > (uint64_t)LLONG_MAX)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->fd < 0)
		ret = -EBADF;
	else if (fallocate(h->fd, (int)in->mode, (off_t)in->offset, (off_t)in->length))
		ret = -errno;
	handle_put(r->s, h);
	return ret;
}

static int op_lseek(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_lseek_in *in = req_arg(r, sizeof(*in));
	struct fuse_lseek_out *out;
	struct fs_handle *h;
	off_t pos = -1;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if ((in->whence != SEEK_DATA && in->whence != SEEK_HOLE) ||
	    in->offset > (uint64_t)LLONG_MAX)
		return -EINVAL;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	if (h->fd < 0)
		ret = -EBADF;
	else if ((pos = lseek(h->fd, (off_t)in->offset, (int)in->whence)) < 0)
		ret = -errno;
	handle_put(r->s, h);
	if (ret)
		return ret;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->offset = pos;
	return 0;
}

static int op_copy_file_range(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_copy_file_range_in *in = req_arg(r, sizeof(*in));
	struct fs_handle *src = NULL, *dst = NULL;
	struct fuse_write_out *out;
	loff_t off_in, off_out;
	ssize_t n = 0;
	int ret;

	(void)node;
	if (!in)
		return -EINVAL;
	if (in->flags || in->off_in > (uint64_t)LLONG_MAX || in->off_out > (uint64_t)LLONG_MAX)
		return -EINVAL;
	ret = req_handle(r, in->fh_in, &src);
	if (ret)
		return ret;
	dst = handle_get(r->s, in->fh_out);
	if (!dst || dst->nodeid != in->nodeid_out || src->fd < 0 || dst->fd < 0) {
		ret = -EBADF;
	} else {
		off_in = (loff_t)in->off_in;
		off_out = (loff_t)in->off_out;
		if (!req_is_root_writer(r))
			kill_priv(r->s, dst->fd);
		/* The reply's size is 32 bits. */
		n = copy_file_range(src->fd, &off_in, dst->fd, &off_out,
				    in->len < UINT32_MAX ? in->len : UINT32_MAX, 0);
		if (n < 0)
			ret = -errno;
	}
	if (dst)
		handle_put(r->s, dst);
	handle_put(r->s, src);
	if (ret)
		return ret;
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	out->size = (uint32_t)n;
	return 0;
}

static int op_ioctl(struct fuse_req *r, struct fs_inode *node)
{
	const struct fuse_ioctl_in *in = req_arg(r, sizeof(*in));
	struct fuse_ioctl_out *out;
	struct fs_handle *h;
	int ret;

	if (!in)
		return -EINVAL;
	if (in->cmd != KRUN_IOCTL_EXIT_CODE || node != &r->s->inodes[FUSE_ROOT_INDEX] ||
	    !r->s->cfg.exit_code)
		return -ENOTTY;
	ret = req_handle(r, in->fh, &h);
	if (ret)
		return ret;
	handle_put(r->s, h);
	out = reply_space(r, sizeof(*out));
	if (!out)
		return -ERANGE;
	r->s->cfg.exit_code(r->s->cfg.opaque, (int)in->arg);
	return 0;
}

/* ---- directories ---- */

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
			ret = dir_add(h, &cap, d->d_ino, d->d_type, d->d_name);
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

static int op_readdir(struct fuse_req *r, struct fs_inode *node)
{
	return readdir_common(r, node, false);
}

static int op_readdirplus(struct fuse_req *r, struct fs_inode *node)
{
	return readdir_common(r, node, true);
}

/* ---- dispatch ---- */

enum {
	OP_NO_NODE = 1 << 0,  /* no node id to check (handle-only or session) */
	OP_MODIFIES = 1 << 1, /* refused on a read-only share */
	OP_NO_REPLY = 1 << 2,
	OP_BEFORE_INIT = 1 << 3,
};

struct fuse_op {
	op_fn fn;
	unsigned int flags;
};

static const struct fuse_op fuse_ops[] = {
	[FUSE_INIT] = { op_init, OP_NO_NODE | OP_BEFORE_INIT },
	[FUSE_DESTROY] = { op_destroy, OP_NO_NODE },
	[FUSE_LOOKUP] = { op_lookup, 0 },
	[FUSE_FORGET] = { op_forget, OP_NO_NODE | OP_NO_REPLY },
	[FUSE_BATCH_FORGET] = { op_batch_forget, OP_NO_NODE | OP_NO_REPLY },
	[FUSE_GETATTR] = { op_getattr, 0 },
	[FUSE_SETATTR] = { op_setattr, OP_MODIFIES },
	[FUSE_READLINK] = { op_readlink, 0 },
	[FUSE_SYMLINK] = { op_symlink, OP_MODIFIES },
	[FUSE_MKNOD] = { op_mknod, OP_MODIFIES },
	[FUSE_MKDIR] = { op_mkdir, OP_MODIFIES },
	[FUSE_UNLINK] = { op_unlink, OP_MODIFIES },
	[FUSE_RMDIR] = { op_rmdir, OP_MODIFIES },
	[FUSE_RENAME] = { op_rename, OP_MODIFIES },
	[FUSE_RENAME2] = { op_rename2, OP_MODIFIES },
	[FUSE_LINK] = { op_link, OP_MODIFIES },
	[FUSE_OPEN] = { op_open, 0 },
	[FUSE_CREATE] = { op_create, OP_MODIFIES },
	[FUSE_READ] = { op_read, OP_NO_NODE },
	[FUSE_WRITE] = { op_write, OP_NO_NODE | OP_MODIFIES },
	[FUSE_FLUSH] = { op_flush, OP_NO_NODE },
	[FUSE_FSYNC] = { op_fsync, OP_NO_NODE },
	[FUSE_RELEASE] = { op_release, OP_NO_NODE },
	[FUSE_OPENDIR] = { op_opendir, 0 },
	[FUSE_READDIR] = { op_readdir, 0 },
	[FUSE_READDIRPLUS] = { op_readdirplus, 0 },
	[FUSE_RELEASEDIR] = { op_release, OP_NO_NODE },
	[FUSE_FSYNCDIR] = { op_fsync, OP_NO_NODE },
	[FUSE_STATFS] = { op_statfs, 0 },
	[FUSE_ACCESS] = { op_access, 0 },
	[FUSE_GETXATTR] = { op_getxattr, 0 },
	[FUSE_LISTXATTR] = { op_listxattr, 0 },
	[FUSE_SETXATTR] = { op_setxattr, OP_MODIFIES },
	[FUSE_REMOVEXATTR] = { op_removexattr, OP_MODIFIES },
	[FUSE_FALLOCATE] = { op_fallocate, OP_NO_NODE | OP_MODIFIES },
	[FUSE_LSEEK] = { op_lseek, OP_NO_NODE },
	[FUSE_COPY_FILE_RANGE] = { op_copy_file_range, OP_NO_NODE | OP_MODIFIES },
	[FUSE_IOCTL] = { op_ioctl, 0 },
	[FUSE_GETLK] = { op_getlk, 0 },
	[FUSE_SETLK] = { op_setlk, 0 },
	[FUSE_SETLKW] = { op_setlkw, 0 },
	[FUSE_INTERRUPT] = { NULL, OP_NO_NODE | OP_NO_REPLY },
};

static int dispatch(struct fuse_req *r)
{
	struct fuse_server *s = r->s;
	uint32_t opcode = r->hdr->opcode;
	const struct fuse_op *op;
	struct fs_inode *node = NULL;
	bool initialized;
	int ret;

	if (opcode >= sizeof(fuse_ops) / sizeof(fuse_ops[0]) ||
	    (!fuse_ops[opcode].fn && !fuse_ops[opcode].flags))
		return -ENOSYS;
	op = &fuse_ops[opcode];
	if (!op->fn)
		return 0;
	pthread_mutex_lock(&s->lock);
	initialized = s->initialized;
	pthread_mutex_unlock(&s->lock);
	if (!initialized && !(op->flags & OP_BEFORE_INIT))
		return -EIO;
	if (s->cfg.read_only && (op->flags & OP_MODIFIES))
		return -EROFS;
	if (!(op->flags & OP_NO_NODE)) {
		node = inode_get(s, r->hdr->nodeid);
		if (!node)
			return -EBADF;
	}
	ret = op->fn(r, node);
	inode_put(s, node);
	return ret;
}

bool fuse_server_request_may_wait(const struct iovec *in, unsigned int nr_in)
{
	struct fuse_in_header hdr;

	if (iov_total(in, nr_in) < sizeof(hdr))
		return false;
	iov_gather(&hdr, sizeof(hdr), in, nr_in);
	return hdr.opcode == FUSE_SETLKW;
}

void fuse_server_wake_waiting(struct fuse_server *s)
{
	pthread_mutex_lock(&s->plock_lock);
	pthread_cond_broadcast(&s->plocks_changed);
	pthread_mutex_unlock(&s->plock_lock);
}

/* How much of a request is copied out of the guest's buffers before it is
 * served: all of it, but for WRITE's data (op_write). */
static size_t request_copy_len(const struct fuse_in_header *hdr)
{
	const size_t write_header = sizeof(*hdr) + sizeof(struct fuse_write_in);

	return hdr->opcode == FUSE_WRITE && hdr->len > write_header ? write_header : hdr->len;
}

ssize_t fuse_server_handle(struct fuse_server *s, const struct iovec *in, unsigned int nr_in,
			   const struct iovec *out, unsigned int nr_out)
{
	return fuse_server_handle_waiting(s, in, nr_in, out, nr_out, NULL);
}

ssize_t fuse_server_handle_waiting(struct fuse_server *s, const struct iovec *in,
				   unsigned int nr_in, const struct iovec *out, unsigned int nr_out,
				   const atomic_bool *cancel)
{
	size_t in_total = iov_total(in, nr_in), out_total = iov_total(out, nr_out);
	struct fuse_in_header hdr;
	struct fuse_out_header *oh;
	struct fuse_req r = {
		.s = s, .hdr = &hdr, .cancel = cancel,
		.in = in, .nr_in = nr_in, .out = out, .nr_out = nr_out,
	};
	uint8_t *req_buf = NULL, *reply_buf;
	size_t reply_cap, copied;
	uint32_t len;
	int ret;

	if (in_total < sizeof(hdr))
		return -EINVAL;
	iov_gather(&hdr, sizeof(hdr), in, nr_in);
	copied = request_copy_len(&hdr);
	if (hdr.opcode != FUSE_FORGET && hdr.opcode != FUSE_BATCH_FORGET &&
	    hdr.opcode != FUSE_INTERRUPT && out_total < sizeof(*oh))
		return -EINVAL;
	/* READ's data goes to the guest's buffers directly: only its header
	 * comes through here. */
	reply_cap = out_total < MAX_WRITE + 4096 ? out_total : MAX_WRITE + 4096;
	if (hdr.opcode == FUSE_READ)
		reply_cap = sizeof(*oh);
	reply_buf = malloc(reply_cap > sizeof(*oh) ? reply_cap : sizeof(*oh));
	if (!reply_buf)
		return -ENOMEM;

	if (hdr.len != in_total || hdr.len < sizeof(hdr) || hdr.len > MAX_REQUEST) {
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: request length %u, buffers %zu", hdr.len,
				in_total);
		ret = -EINVAL;
	} else if (!(req_buf = malloc(copied + 1))) {
		ret = -ENOMEM;
	} else {
		iov_gather(req_buf, copied, in, nr_in);
		/* A NUL past the end, so that no string scan can run off it. */
		req_buf[copied] = '\0';
		r.arg = req_buf + sizeof(hdr);
		r.arg_len = copied - sizeof(hdr);
		r.reply = reply_buf + sizeof(*oh);
		r.reply_cap = reply_cap > sizeof(*oh) ? reply_cap - sizeof(*oh) : 0;
		ret = dispatch(&r);
	}
	free(req_buf);

	if (hdr.opcode < sizeof(fuse_ops) / sizeof(fuse_ops[0]) &&
	    (fuse_ops[hdr.opcode].flags & OP_NO_REPLY)) {
		free(reply_buf);
		return 0;
	}
	if (ret)
		r.reply_len = 0;
	oh = (struct fuse_out_header *)reply_buf;
	oh->len = sizeof(*oh) + r.reply_len;
	oh->error = ret;
	oh->unique = hdr.unique;
	len = oh->len;
	iov_scatter(out, nr_out, reply_buf, r.reply_data_in_place ? sizeof(*oh) : len);
	free(reply_buf);
	return len;
}

/* Every inode the guest holds is an open fd here, and the guest caches many
 * more than the usual soft limit of 1024: allow what the hard limit allows,
 * as virtiofsd does. */
static void raise_nofile_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int fuse_server_create(const struct fuse_server_config *cfg, struct fuse_server **out)
{
	struct fuse_server *s;
	struct stat st;
	unsigned int max_inodes = cfg->max_inodes ? cfg->max_inodes : DEFAULT_MAX_INODES;
	unsigned int max_handles = cfg->max_handles ? cfg->max_handles : DEFAULT_MAX_HANDLES;
	int fd, ret;

	for (unsigned int i = 0; i < cfg->nr_virtual_files; i++) {
		const char *name = cfg->virtual_files[i].name;

		if (!*name || strchr(name, '/') || is_dot_or_dotdot(name))
			return -EINVAL;
	}
	if (max_inodes > (1u << 30) || max_handles > (1u << 30) || cfg->nr_virtual_files > 1024)
		return -EINVAL;
	raise_nofile_limit();
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->nr_inodes = FUSE_ROOT_INDEX + 1 + cfg->nr_virtual_files + max_inodes;
	s->nr_handles = max_handles + 1;
	for (s->hash_mask = 1; s->hash_mask < s->nr_inodes; s->hash_mask <<= 1)
		;
	s->inode_hash = calloc(s->hash_mask--, sizeof(*s->inode_hash));
	s->inodes = calloc(s->nr_inodes, sizeof(*s->inodes));
	s->handles = calloc(s->nr_handles, sizeof(*s->handles));
	s->proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = open(cfg->root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!s->inode_hash || !s->inodes || !s->handles) {
		ret = -ENOMEM;
		goto fail;
	}
	if (s->proc_self_fd < 0 || fd < 0 || stat_fd(fd, &st)) {
		ret = -errno;
		goto fail;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->plock_lock, NULL);
	pthread_condattr_t cond_attr;
	pthread_condattr_init(&cond_attr);
	pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->plocks_changed, &cond_attr);
	pthread_condattr_destroy(&cond_attr);
	/* each lock owner holds an fd, as each open file does */
	s->max_plocks = max_handles;
	/* Free lists in ascending order; the root and virtual files take the
	 * first slots for good. */
	for (uint32_t i = s->nr_inodes - 1; i > 0; i--) {
		s->inodes[i].fd = -1;
		s->inodes[i].next = s->free_inode;
		s->free_inode = i;
	}
	for (uint32_t i = s->nr_handles - 1; i > 0; i--) {
		s->handles[i].fd = -1;
		pthread_mutex_init(&s->handles[i].dir_lock, NULL);
		s->handles[i].next_free = s->free_handle;
		s->free_handle = i;
	}
	s->free_inode = FUSE_ROOT_INDEX + 1 + cfg->nr_virtual_files;
	s->inodes[FUSE_ROOT_INDEX] = (struct fs_inode){
		.fd = fd, .in_use = true, .dev = st.st_dev, .ino = st.st_ino, .nlookup = 1,
	};
	inode_hash_add(s, &s->inodes[FUSE_ROOT_INDEX]);
	for (unsigned int i = 0; i < cfg->nr_virtual_files; i++)
		s->inodes[FUSE_ROOT_INDEX + 1 + i] = (struct fs_inode){
			.fd = -1, .in_use = true, .vfile = &cfg->virtual_files[i],
		};
	*out = s;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (s->proc_self_fd >= 0)
		close(s->proc_self_fd);
	free(s->inode_hash);
	free(s->inodes);
	free(s->handles);
	free(s);
	return ret;
}

void fuse_server_destroy(struct fuse_server *s)
{
	if (!s)
		return;
	for (uint32_t i = 1; i < s->nr_handles; i++) {
		s->handles[i].released = true;
		s->handles[i].pins = 0;
		if (s->handles[i].in_use)
			handle_unref_locked(s, &s->handles[i]);
		pthread_mutex_destroy(&s->handles[i].dir_lock);
	}
	for (uint32_t i = 0; i < s->nr_inodes; i++) {
		plocks_free(s, &s->inodes[i]);
		if (s->inodes[i].fd >= 0)
			close(s->inodes[i].fd);
	}
	close(s->proc_self_fd);
	pthread_cond_destroy(&s->plocks_changed);
	pthread_mutex_destroy(&s->plock_lock);
	pthread_mutex_destroy(&s->lock);
	free(s->inode_hash);
	free(s->inodes);
	free(s->handles);
	free(s);
}
