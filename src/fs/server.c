/* The server's front: a request's header checked and its arguments
 * copied, the operation found by opcode and checked against the session
 * and the share's mode, the reply written back; creating and destroying a
 * server. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "fs/ops.h"

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
	/* A node on a refused filesystem answers for itself (confine.c). */
	ret = node && inode_sealed(node) ? sealed_op(r, node, op->fn) : op->fn(r, node);
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
 * served: all of it, but for WRITE's data (op_write) and for whatever follows
 * a SETLKW's arguments (it may wait for long, holding its copy). */
static size_t request_copy_len(const struct fuse_in_header *hdr)
{
	const size_t write_header = sizeof(*hdr) + sizeof(struct fuse_write_in);
	const size_t setlkw = sizeof(*hdr) + sizeof(struct fuse_lk_in);

	if (hdr->opcode == FUSE_WRITE && hdr->len > write_header)
		return write_header;
	if (hdr->opcode == FUSE_SETLKW && hdr->len > setlkw)
		return setlkw;
	return hdr->len;
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
	/* READ's data goes to the guest's buffers directly, and SETLKW has
	 * none: only their header comes through here. */
	reply_cap = out_total < MAX_WRITE + 4096 ? out_total : MAX_WRITE + 4096;
	if (hdr.opcode == FUSE_READ || hdr.opcode == FUSE_SETLKW)
		reply_cap = sizeof(*oh);
	reply_buf = malloc(reply_cap > sizeof(*oh) ? reply_cap : sizeof(*oh));
	if (!reply_buf)
		return -ENOMEM;

	if (hdr.len != in_total || hdr.len < sizeof(hdr) || hdr.len > MAX_REQUEST) {
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: request length %u, buffers %zu", hdr.len,
				in_total);
		ret = -EINVAL;
	} else if (cancel && hdr.opcode != FUSE_SETLKW) {
		/* The guest rewrote the request after the device saw a SETLKW:
		 * a waiting request's thread serves nothing else. */
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: opcode %u where a SETLKW was", hdr.opcode);
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

/* The fds open in this process now, or 0 when /proc does not say. */
static unsigned int count_open_fds(void)
{
	unsigned int n = 0;
	DIR *dir = opendir("/proc/self/fd");

	if (!dir)
		return 0;
	while (readdir(dir))
		n++;
	closedir(dir);
	/* ".", ".." and the listing's own fd */
	return n > 3 ? n - 3 : 0;
}

unsigned int fuse_server_fd_budget(unsigned int nr_shares)
{
	struct rlimit rl;
	uint64_t limit, reserved = FD_HEADROOM + count_open_fds();

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	/* The guest caches far more inodes than the usual soft limit of 1024:
	 * allow what the hard limit allows, as virtiofsd does. */
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = { rl.rlim_max, rl.rlim_max };

		if (!setrlimit(RLIMIT_NOFILE, &raised))
			rl = raised;
	}
	limit = rl.rlim_cur == RLIM_INFINITY ? UINT_MAX : rl.rlim_cur;
	if (limit <= reserved)
		return 0;
	limit = (limit - reserved) / (nr_shares ? nr_shares : 1);
	return limit < UINT_MAX ? (unsigned int)limit : UINT_MAX;
}

/* A table of zeros whose pages cost nothing until a slot is written:
 * mapped, not calloc'd, since calloc may hand out memory used before and
 * clear it. NULL when it cannot. */
static void *table_alloc(size_t nr, size_t size)
{
	void *p = mmap(NULL, nr * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void table_free(void *table, size_t nr, size_t size)
{
	if (table)
		munmap(table, nr * size);
}

static void free_tables(struct fuse_server *s)
{
	table_free(s->inode_hash, s->hash_mask + 1, sizeof(*s->inode_hash));
	table_free(s->inodes, s->nr_inodes, sizeof(*s->inodes));
	table_free(s->handles, s->nr_handles, sizeof(*s->handles));
}

/* cfg's limits and virtual files: 0, or -errno with a log line. */
static int check_config(const struct fuse_server_config *cfg, unsigned int max_fds,
			unsigned int max_inodes, unsigned int max_handles)
{
	for (unsigned int i = 0; i < cfg->nr_virtual_files; i++) {
		const char *name = cfg->virtual_files[i].name;

		if (!*name || strchr(name, '/') || is_dot_or_dotdot(name)) {
			LOG_ERR("virtio-fs: the served file name \"%s\" is not one path component",
				name);
			return -EINVAL;
		}
	}
	if (max_inodes > (1u << 30) || max_handles > (1u << 30) || cfg->nr_virtual_files > 1024) {
		LOG_ERR("virtio-fs: the share of %s asks for more nodes, handles or served files "
			"than a share may have", cfg->root_dir);
		return -EINVAL;
	}
	if (max_fds < MIN_SHARE_FDS) {
		LOG_ERR("virtio-fs: %u fds left for the share of %s, it needs %u (RLIMIT_NOFILE)",
			max_fds, cfg->root_dir, MIN_SHARE_FDS);
		return -EMFILE;
	}
	return 0;
}

int fuse_server_create(const struct fuse_server_config *cfg, struct fuse_server **out)
{
	int fd = open(cfg->root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;
		LOG_ERR("cannot share %s with the guest: %s", cfg->root_dir, strerror(err));
		return -err;
	}
	return fuse_server_create_at(cfg, fd, out);
}

int fuse_server_create_at(const struct fuse_server_config *cfg, int fd, struct fuse_server **out)
{
	struct fuse_server *s;
	struct stat st;
	unsigned int max_fds = cfg->max_fds ? cfg->max_fds : fuse_server_fd_budget(1);
	unsigned int max_inodes = cfg->max_inodes ? cfg->max_inodes : DEFAULT_MAX_INODES;
	unsigned int max_handles = cfg->max_handles ? cfg->max_handles : DEFAULT_MAX_HANDLES;
	int ret = check_config(cfg, max_fds, max_inodes, max_handles);
	const char *what = NULL; /* what failed, for the log */

	if (ret < 0) {
		close(fd);
		return ret;
	}
	/* no more slots than fds to fill them */
	max_inodes = max_inodes < max_fds ? max_inodes : max_fds;
	max_handles = max_handles < max_fds ? max_handles : max_fds;
	s = calloc(1, sizeof(*s));
	if (!s) {
		LOG_ERR("cannot share %s with the guest: no memory for the server: %s",
			cfg->root_dir, strerror(ENOMEM));
		close(fd);
		return -ENOMEM;
	}
	s->cfg = *cfg;
	s->max_fds = max_fds;
	atomic_init(&s->nr_fds, 2); /* the root's and proc_self_fd */
	s->nr_inodes = FUSE_ROOT_INDEX + 1 + cfg->nr_virtual_files + max_inodes;
	s->nr_handles = max_handles + 1;
	for (s->hash_mask = 1; s->hash_mask < s->nr_inodes; s->hash_mask <<= 1)
		;
	s->inode_hash = table_alloc(s->hash_mask--, sizeof(*s->inode_hash));
	s->inodes = table_alloc(s->nr_inodes, sizeof(*s->inodes));
	s->handles = table_alloc(s->nr_handles, sizeof(*s->handles));
	s->proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!s->inode_hash || !s->inodes || !s->handles) {
		ret = -ENOMEM;
		what = "no memory for its node and handle tables";
		goto fail;
	}
	if (s->proc_self_fd < 0) {
		ret = -errno;
		what = "cannot open /proc/self/fd";
		goto fail;
	}
	if (stat_fd(fd, &st)) {
		ret = -errno;
		what = "cannot stat its root";
		goto fail;
	}
	ret = confine_root(fd, cfg->root_dir); /* says why itself */
	if (ret)
		goto fail;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->plock_lock, NULL);
	pthread_condattr_t cond_attr;
	pthread_condattr_init(&cond_attr);
	pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->plocks_changed, &cond_attr);
	pthread_condattr_destroy(&cond_attr);
	/* each lock owner holds an fd, as each open file does */
	s->max_plocks = max_handles;
	/* The tables stay as mapped, zeros (nodes.c hands out slots from the
	 * high marks); the root and virtual files take the first slots for
	 * good. */
	s->inode_high = FUSE_ROOT_INDEX + 1 + cfg->nr_virtual_files;
	s->handle_high = 1;
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
	if (what)
		LOG_ERR("cannot share %s with the guest: %s: %s", cfg->root_dir, what,
			strerror(-ret));
	close(fd);
	if (s->proc_self_fd >= 0)
		close(s->proc_self_fd);
	free_tables(s);
	free(s);
	return ret;
}

void fuse_server_destroy(struct fuse_server *s)
{
	if (!s)
		return;
	for (uint32_t i = 1; i < s->handle_high; i++) {
		s->handles[i].released = true;
		s->handles[i].pins = 0;
		if (s->handles[i].in_use)
			handle_unref_locked(s, &s->handles[i]);
		pthread_mutex_destroy(&s->handles[i].dir_lock);
	}
	/* From 1 to the high mark: the fd fields of slot 0 and of slots never
	 * used are zeros, not fds. */
	for (uint32_t i = 1; i < s->inode_high; i++) {
		plocks_free(s, &s->inodes[i]);
		if (s->inodes[i].fd >= 0)
			close(s->inodes[i].fd);
	}
	close(s->proc_self_fd);
	pthread_cond_destroy(&s->plocks_changed);
	pthread_mutex_destroy(&s->plock_lock);
	pthread_mutex_destroy(&s->lock);
	free_tables(s);
	free(s);
}
