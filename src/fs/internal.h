/* The FUSE server's own view of itself, shared by the files of src/fs/:
 * its tables (nodes and handles), a request being served, and the helpers
 * each section offers the others. Nothing outside src/fs/ includes this.
 *
 * Locking: fuse_server.lock guards the node and handle tables and the
 * session state; plock_lock guards every inode's POSIX locks and is taken
 * inside lock, never the other way round; a handle's dir_lock guards its
 * fd's position in its directory. A request holds its node pinned (pins),
 * which keeps the node's fd open without holding lock. */
#ifndef KRUN_FS_INTERNAL_H
#define KRUN_FS_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/fuse.h>

#include "base/iov.h"
#include "fs/fuse_server.h"
#include "guest_abi.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define FUSE_ROOT_INDEX 1
/* The tables' sizes, at most: the share's fd budget (max_fds) may make them
 * smaller. Lock owners are as many as handles at most (max_plocks). */
#define DEFAULT_MAX_INODES (1u << 16)
#define DEFAULT_MAX_HANDLES (1u << 14)
/* Kept out of RLIMIT_NOFILE for the VMM besides the fds open when the budget
 * is worked out: its KVM, vCPU, event and console fds opened later, and the
 * fds requests hold for a moment (a lookup's, before it becomes a node). */
#define FD_HEADROOM 256
/* A share with fewer fds than this is refused: it could not even boot. */
#define MIN_SHARE_FDS 64
#define MAX_WRITE (1u << 20)
/* Largest request: a write of MAX_WRITE plus its header, or two names. */
#define MAX_REQUEST (MAX_WRITE + 2 * PATH_MAX + 4096)
#define ATTR_TIMEOUT_S 5
#define XATTR_MAX 65536
/* The server's own xattrs on the host: the guest neither sees nor sets
 * them (xattr.c); its security.* and trusted.* are stored beneath. */
#define XATTR_KRUN_PREFIX "user.krun."
#define XATTR_MAPPED_CAPABILITY XATTR_KRUN_PREFIX "security.capability"

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
	int fd; /* O_PATH, or -1 for a virtual file or a sealed node */
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

struct fs_handle {
	int fd; /* -1 for a virtual file */
	uint32_t generation;
	bool in_use;
	bool released; /* RELEASE seen; freed when the last pin goes */
	uint32_t pins;
	uint32_t next_free;
	uint64_t nodeid;
	const struct fuse_virtual_file *vfile;
	pthread_mutex_t dir_lock; /* the fd's position, which READDIR seeks */
};

struct fuse_server {
	struct fuse_server_config cfg;
	int proc_self_fd;
	pthread_mutex_t lock; /* the tables and the session state */
	bool initialized;
	/* Slot 0 is never used, so index 0 ends every list. A table's slots
	 * from its high mark on were never handed out: free without being on
	 * the free list, and never written, so that the pages of a table sized
	 * for the whole fd budget cost nothing until the guest uses them. */
	struct fs_inode *inodes;
	uint32_t nr_inodes;
	uint32_t free_inode;
	uint32_t inode_high;
	uint32_t *inode_hash; /* (dev, ino) -> first slot of the chain */
	uint32_t hash_mask;
	struct fs_handle *handles;
	uint32_t nr_handles;
	uint32_t free_handle;
	uint32_t handle_high;
	/* The fds the share holds (nodes, handles, lock owners) and its budget:
	 * past it the guest gets ENFILE, EMFILE or ENOLCK, and the VMM keeps
	 * the fds it needs itself. Atomic: taken under lock or plock_lock. */
	atomic_uint nr_fds;
	unsigned int max_fds;

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

/* At most this many iovecs in a slice of the guest's buffers: the kernel's
 * UIO_MAXIOV, what preadv and pwritev take. */
#define SLICE_MAX 1024

/* nodes.c */
void inode_hash_add(struct fuse_server *s, struct fs_inode *in);
struct fs_inode *inode_get(struct fuse_server *s, uint64_t nodeid);
void inode_unref_locked(struct fuse_server *s, struct fs_inode *in);
void inode_put(struct fuse_server *s, struct fs_inode *in);
uint64_t inode_id(const struct fuse_server *s, const struct fs_inode *in);
void forget_one(struct fuse_server *s, uint64_t nodeid, uint64_t count);
int inode_insert(struct fuse_server *s, int fd, const struct stat *st, uint64_t *nodeid);
struct fs_handle *handle_get(struct fuse_server *s, uint64_t fh);
void handle_unref_locked(struct fuse_server *s, struct fs_handle *h);
void handle_put(struct fuse_server *s, struct fs_handle *h);
int handle_new(struct fuse_server *s, int fd, uint64_t nodeid,
	       const struct fuse_virtual_file *vfile, uint64_t *fh);
int handle_release(struct fuse_server *s, uint64_t fh);
bool fd_budget_take(struct fuse_server *s);
void fd_budget_return(struct fuse_server *s);

/* request.c */
const void *req_arg(struct fuse_req *r, size_t size);
bool is_dot_or_dotdot(const char *name);
int req_name(struct fuse_req *r, const char **name);
void *reply_space(struct fuse_req *r, size_t size);
int reply_copy(struct fuse_req *r, const void *data, size_t size);
bool req_is_root_writer(const struct fuse_req *r);
int req_handle(struct fuse_req *r, uint64_t fh, struct fs_handle **out);

/* confine.c */
int open_beneath(int dirfd, const char *name, uint64_t flags, uint64_t mode);
int inode_open(struct fuse_server *s, struct fs_inode *in, int flags);
int confine_root(int fd, const char *path);
int confine_node(const struct fuse_server *s, int *fd, const struct stat *st);
void sealed_attr(ino_t ino, struct fuse_attr *a);

/* A directory on a filesystem shares do not serve (confine.c): a node that
 * keeps no fd, shown to the guest as an empty directory. */
static inline bool inode_sealed(const struct fs_inode *in)
{
	return in->fd < 0 && !in->vfile;
}

/* attr.c */
/* The inode as the guest sees it: a device node's stand-in as the node. */
int stat_fd(int fd, struct stat *st);
void attr_from_stat(struct fuse_attr *a, const struct stat *st);
uint64_t vfile_ino(const struct fuse_server *s, const struct fuse_virtual_file *vf);
void vfile_attr(const struct fuse_server *s, const struct fuse_virtual_file *vf,
		struct fuse_attr *a);
int inode_attr(struct fuse_server *s, struct fs_inode *in, struct fuse_attr *a);
const struct fuse_virtual_file *vfile_named(const struct fuse_server *s,
					    const struct fs_inode *parent, const char *name);
struct fs_inode *vfile_inode(struct fuse_server *s, const struct fuse_virtual_file *vf);
int reply_attr(struct fuse_req *r, struct fs_inode *node);

/* perm.c */
int chmod_fd(struct fuse_server *s, int fd, mode_t mode);
void kill_priv(struct fuse_server *s, int fd);
void set_created_mode(struct fuse_req *r, int fd, const struct stat *parent, mode_t mode);
mode_t chmod_mode(const struct fuse_req *r, int fd, mode_t mode);

/* entry_ops.c */
int lookup_entry(struct fuse_server *s, struct fs_inode *parent, const char *name,
		 struct fuse_entry_out *e);
int reply_entry(struct fuse_req *r, struct fs_inode *parent, const char *name);
int reply_created(struct fuse_req *r, struct fs_inode *parent, const char *name,
		  mode_t mode, bool set_mode);
int req_new_name(struct fuse_req *r, struct fs_inode *parent, const char **name);

/* devnode.c: device nodes the guest makes, as stand-ins on the host */
void devnode_stat(int fd, struct stat *st);
uint32_t devnode_dirent_type(int dirfd, const char *name, uint32_t type);
int devnode_create(int dirfd, const char *name, mode_t mode, uint32_t rdev);
bool devnode_chmod(int fd, mode_t perms, int *ret);
void devnode_chowned(int fd);

/* locks.c */
void plocks_free(struct fuse_server *s, struct fs_inode *in);
void plock_release_owner(struct fuse_server *s, const struct fs_handle *h,
			 uint64_t owner);

#endif
