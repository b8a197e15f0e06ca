/* The FUSE server behind virtio-fs: requests in, replies out, over plain
 * buffers. No KVM and no virtio in this interface, so it is unit-tested and
 * fuzzed alone; the virtio-fs device is a thin adapter over it.
 *
 * It serves one host directory (the share's root) and confines the guest to
 * it: every path is resolved beneath the root (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS on O_PATH handles), a mount of a pseudo filesystem
 * (procfs, sysfs, ...) inside it is an empty directory (confine.c has the
 * rule), node ids and file handles are
 * table indexes checked on every use, device nodes cannot be opened, and
 * set-user/group-ID bits and file capabilities are dropped when a file is
 * changed by an unprivileged writer. Everything in a request is untrusted. */
#ifndef KRUN_FS_FUSE_SERVER_H
#define KRUN_FS_FUSE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct fuse_server;

/* A read-only file that exists only in memory, shown in the root directory
 * (our guest init, /init.krun). Its data is not copied. */
struct fuse_virtual_file {
	const char *name; /* one path component */
	const void *data;
	size_t len;
	uint32_t mode; /* permission bits, e.g. 0555 */
};

struct fuse_server_config {
	const char *root_dir;
	bool read_only; /* every change refused with EROFS */
	unsigned int max_inodes;  /* node ids the guest may hold; 0: a default */
	unsigned int max_handles; /* open files and directories; 0: a default */
	/* fds the share may hold, nodes, handles and lock owners together (see
	 * fuse_server_fd_budget); 0: the process's whole budget */
	unsigned int max_fds;
	const struct fuse_virtual_file *virtual_files;
	unsigned int nr_virtual_files;
	/* The guest init reports the workload's exit status with an ioctl on
	 * the root directory (libkrun's 0x7602), from pid 1 only; NULL: the
	 * ioctl is refused. */
	void (*exit_code)(void *opaque, int code);
	void *opaque;
};

/* Every node, open file and lock owner the guest holds is an fd of the
 * VMM: what each of nr_shares shares may hold. It raises RLIMIT_NOFILE's
 * soft limit to the hard one, keeps the fds open now and a headroom for the
 * VMM itself, and splits the rest evenly. 0 when nothing is left, and then a
 * max_fds of 0 finds too little as well. */
unsigned int fuse_server_fd_budget(unsigned int nr_shares);

/* 0, or -errno with one log line saying what failed (the root cannot be
 * opened, out of memory; ENOTSUP: the root is on a filesystem shares do not
 * serve; EMFILE: the fd budget is too small for a share). */
int fuse_server_create(const struct fuse_server_config *cfg, struct fuse_server **out);
/* The same with the root already open (O_PATH, or O_RDONLY where the caller
 * checked it may list it): fd is the server's from now on, closed when
 * this fails; cfg->root_dir only names the root in log lines. A root opened
 * once is the root served: no path is resolved again. */
int fuse_server_create_at(const struct fuse_server_config *cfg, int fd, struct fuse_server **out);

/* Serve one request. in: the request as the driver wrote it (fuse_in_header
 * then the arguments, over any number of buffers); out: where the reply goes
 * (fuse_out_header then the reply). Returns the reply's length (0 for
 * requests that have none, such as FORGET), or -EINVAL when the request is
 * too malformed to answer at all (shorter than a header, or no room for a
 * reply header), or -ENOMEM. A header whose len disagrees with the buffers
 * is answered with EINVAL. Safe to call from several threads at once. */
ssize_t fuse_server_handle(struct fuse_server *s, const struct iovec *in, unsigned int nr_in,
			   const struct iovec *out, unsigned int nr_out);

/* POSIX locks (GETLK, SETLK, SETLKW) are the server's, so the host's
 * processes and the guest see each other's. A SETLKW that finds the lock
 * taken waits for it, which only a caller that can spare the thread should
 * let happen: fuse_server_handle answers it ENOLCK instead of waiting. */

/* Whether serving this request may wait for long (a SETLKW). */
bool fuse_server_request_may_wait(const struct iovec *in, unsigned int nr_in);

/* fuse_server_handle for a request that may wait, a SETLKW: it waits for its
 * lock until it gets it or *cancel turns true (it is then answered EINTR):
 * run it on a thread of its own. Any other request (the guest rewrote it
 * after fuse_server_request_may_wait looked) is answered EINVAL, so that the
 * thread needs only a small stack. */
ssize_t fuse_server_handle_waiting(struct fuse_server *s, const struct iovec *in,
				   unsigned int nr_in, const struct iovec *out, unsigned int nr_out,
				   const atomic_bool *cancel);

/* After setting a cancel flag: wake the requests waiting, so they see it. */
void fuse_server_wake_waiting(struct fuse_server *s);

void fuse_server_destroy(struct fuse_server *s);

#endif
