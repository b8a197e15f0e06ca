/* A request's arguments and its reply: reading what the guest sent
 * without running off it, and writing no more than the guest's buffers
 * hold. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fs/internal.h"

/* Bytes [offset, offset + len) of iov, clipped to its end, as iovecs of
 * their own in slice: how many, or -EINVAL when there are more than
 * SLICE_MAX. Memory the guest's buffers name, for preadv and pwritev. */
const void *req_arg(struct fuse_req *r, size_t size)
{
	const void *p = r->arg;

	if (r->arg_len < size)
		return NULL;
	r->arg += size;
	r->arg_len -= size;
	return p;
}

bool is_dot_or_dotdot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/* A name the guest gives for an entry of a directory: NUL-terminated within
 * the request, one path component, not "." or "..". */
int req_name(struct fuse_req *r, const char **name)
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
void *reply_space(struct fuse_req *r, size_t size)
{
	void *p;

	if (r->reply_cap - r->reply_len < size)
		return NULL;
	p = r->reply + r->reply_len;
	memset(p, 0, size);
	r->reply_len += size;
	return p;
}

int reply_copy(struct fuse_req *r, const void *data, size_t size)
{
	void *p = reply_space(r, size);

	if (!p)
		return -ERANGE;
	memcpy(p, data, size);
	return 0;
}

bool req_is_root_writer(const struct fuse_req *r)
{
	return r->hdr->uid == 0;
}

/* A handle of the request's node, pinned; fh 0 is as valid as any. */
int req_handle(struct fuse_req *r, uint64_t fh, struct fs_handle **out)
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
