/* Frames over a stream socket (passt, socket_vmnet), each after its length
 * as 4 big-endian bytes. A stream cannot resynchronise: a length past
 * NET_MAX_FRAME ends the link, as does a peer that closes. A frame the
 * socket takes in part is kept whole, so the peer never sees half of one. */
#include "devices/net/backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/iov.h"
#include "base/log.h"

#define PREFIX_LEN 4

struct unixstream {
	struct net_backend b; /* first: the ops cast it back */
	unsigned int index;
	bool owns_fd;	/* connected by us to a path */
	bool broken;	/* framing lost or peer gone: never read again */
	/* receiving: the prefix, then the frame into the device's buffer */
	uint8_t prefix[PREFIX_LEN];
	uint32_t got;	/* bytes of prefix and frame read so far */
	uint32_t frame_len;
	/* sending: the rest of a frame the socket took in part */
	uint8_t *unsent;
	size_t unsent_off, unsent_len;
};

static struct unixstream *unixstream_of(struct net_backend *b)
{
	return (struct unixstream *)b;
}

static int write_error(int err)
{
	return err == EAGAIN || err == EINTR ? -EAGAIN : -EPIPE;
}

static int unixstream_flush(struct net_backend *b)
{
	struct unixstream *s = unixstream_of(b);

	while (s->unsent_off < s->unsent_len) {
		ssize_t n = write(b->fd, s->unsent + s->unsent_off, s->unsent_len - s->unsent_off);
		if (n < 0)
			return write_error(errno);
		s->unsent_off += n;
	}
	s->unsent_off = s->unsent_len = 0;
	return 0;
}

static int unixstream_send(struct net_backend *b, struct iovec *iov, unsigned int n, size_t len)
{
	struct unixstream *s = unixstream_of(b);
	uint32_t prefix = htonl((uint32_t)len);
	ssize_t sent;

	if (s->unsent_len > 0)
		return -EAGAIN;
	iov[-1] = (struct iovec){ &prefix, PREFIX_LEN };
	sent = writev(b->fd, iov - 1, n + 1);
	if (sent < 0)
		return write_error(errno);
	if ((size_t)sent == PREFIX_LEN + len)
		return 0;
	/* Keep the rest: the next frame's prefix must not land inside it. */
	s->unsent_len = PREFIX_LEN + len - sent;
	s->unsent_off = 0;
	size_t skip = sent;
	for (unsigned int i = 0; i <= n; i++) {
		struct iovec *v = &iov[(int)i - 1];
		size_t from = skip < v->iov_len ? skip : v->iov_len;
		skip -= from;
		memcpy(s->unsent + s->unsent_off, (uint8_t *)v->iov_base + from, v->iov_len - from);
		s->unsent_off += v->iov_len - from;
	}
	s->unsent_off = 0;
	return 0;
}

/* What a read of the socket said when it gave no bytes. */
static ssize_t read_ended(struct unixstream *s, ssize_t n)
{
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (s->got > 0)
		LOG_WRN("net eth%u: the peer's stream ended inside a frame (%u of %u bytes)",
			s->index, s->got, s->got < PREFIX_LEN ? PREFIX_LEN : PREFIX_LEN + s->frame_len);
	else
		LOG_WRN("net eth%u: the peer closed the stream%s%s", s->index, n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
	s->broken = true;
	return -EPIPE;
}

static ssize_t unixstream_recv(struct net_backend *b, void *buf, size_t cap)
{
	struct unixstream *s = unixstream_of(b);
	ssize_t n;

	if (s->broken)
		return -EPIPE;
	while (s->got < PREFIX_LEN) {
		n = readv(b->fd, &(struct iovec){ s->prefix + s->got, PREFIX_LEN - s->got }, 1);
		if (n <= 0)
			return read_ended(s, n);
		s->got += n;
		if (s->got < PREFIX_LEN)
			continue;
		uint32_t len;
		memcpy(&len, s->prefix, sizeof(len));
		s->frame_len = ntohl(len);
		if (s->frame_len > NET_MAX_FRAME || s->frame_len > cap) {
			LOG_ERR("net eth%u: the peer sent a frame length of %u bytes (at most %d): "
				"the stream cannot be followed, the link is down", s->index,
				s->frame_len, NET_MAX_FRAME);
			s->broken = true;
			return -EPROTO;
		}
	}
	while (s->got < PREFIX_LEN + s->frame_len) {
		uint32_t done = s->got - PREFIX_LEN;
		n = readv(b->fd, &(struct iovec){ (uint8_t *)buf + done, s->frame_len - done }, 1);
		if (n <= 0)
			return read_ended(s, n);
		s->got += n;
	}
	s->got = 0;
	return s->frame_len;
}

static void unixstream_destroy(struct net_backend *b)
{
	struct unixstream *s = unixstream_of(b);

	if (s->owns_fd)
		close(b->fd);
	free(s->unsent);
	free(s);
}

static const struct net_backend_ops unixstream_ops = {
	.send = unixstream_send,
	.flush = unixstream_flush,
	.recv = unixstream_recv,
	.destroy = unixstream_destroy,
};

static int connect_path(const char *path, unsigned int index)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path)) {
		int err = fd < 0 ? errno : ENAMETOOLONG;
		LOG_ERR("net eth%u: cannot connect to %s: %s", index, path, strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;
		LOG_ERR("net eth%u: cannot connect to %s: %s", index, path, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

int net_unixstream_open(const struct vm_net *cfg, unsigned int index, struct net_backend **out)
{
	struct unixstream *s = calloc(1, sizeof(*s));
	int ret;

	if (!s || !(s->unsent = malloc(PREFIX_LEN + NET_MAX_FRAME))) {
		free(s);
		LOG_ERR("net eth%u: cannot allocate its stream: %s", index, strerror(ENOMEM));
		return -ENOMEM;
	}
	s->b = (struct net_backend){ .ops = &unixstream_ops, .fd = cfg->fd, .kind = "unixstream" };
	s->index = index;
	if (cfg->path) {
		if ((s->b.fd = connect_path(cfg->path, index)) < 0) {
			ret = s->b.fd;
			unixstream_destroy(&s->b);
			return ret;
		}
		s->owns_fd = true;
	}
	if ((ret = net_set_nonblocking(s->b.fd, index)) < 0) {
		unixstream_destroy(&s->b);
		return ret;
	}
	*out = &s->b;
	return 0;
}

int net_set_nonblocking(int fd, unsigned int index)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		int err = errno;
		LOG_ERR("net eth%u: cannot make its socket non-blocking: %s", index, strerror(err));
		return -err;
	}
	return 0;
}
