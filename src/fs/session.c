/* The session: INIT's negotiation, DESTROY, and the exit-status ioctl of
 * libkrun's guest init. */
#include <errno.h>
#include <stddef.h>

#include "base/log.h"
#include "fs/ops.h"

int op_init(struct fuse_req *r, struct fs_inode *node)
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
int op_destroy(struct fuse_req *r, struct fs_inode *node)
{
	struct fuse_server *s = r->s;

	(void)node;
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 1; i < s->handle_high; i++) {
		if (s->handles[i].in_use && !s->handles[i].released) {
			s->handles[i].released = true;
			handle_unref_locked(s, &s->handles[i]);
		}
	}
	for (uint32_t i = FUSE_ROOT_INDEX; i < s->inode_high; i++) {
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

int op_ioctl(struct fuse_req *r, struct fs_inode *node)
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
	/* Only the guest's init sets the exit status. The guest kernel gives the
	 * caller's pid as seen from the pid namespace the share was mounted in:
	 * the guest's first one, for the root the kernel mounts and the shares
	 * our init mounts. Pid 1 there is the init and nothing else (a process
	 * of a nested pid namespace, a container's init included, has another
	 * pid in it). A guest root that wants to pass for the init can ptrace
	 * it anyway, so guest root is all this lets through. */
	if (r->hdr->pid != 1) {
		LOG_RATELIMITED(LOG_WARN, "virtio-fs: exit status from pid %u refused", r->hdr->pid);
		return -EPERM;
	}
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
