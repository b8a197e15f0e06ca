/* Frames through a tap interface of the host, each with its virtio-net
 * header (IFF_VNET_HDR), so that what the guest leaves to the host
 * (checksums, segmentation) and what the host's stack hands the guest
 * whole passes both ways untouched. The tap hands over only the offloads
 * the guest's driver took (TUNSETOFFLOAD at activation): none before. */
#include "devices/net/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "base/log.h"

struct tap {
	struct net_backend b; /* first: the ops cast it back */
	unsigned int index;
	char name[IFNAMSIZ];
};

static struct tap *tap_of(struct net_backend *b)
{
	return (struct tap *)b;
}

static int tap_send(struct net_backend *b, struct iovec *iov, unsigned int n, size_t len)
{
	(void)len;
	if (writev(b->fd, iov, n) >= 0)
		return 0;
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	/* The interface is down (EIO), say: this frame is lost, not the link. */
	return -errno;
}

static ssize_t tap_recv(struct net_backend *b, void *buf, size_t cap)
{
	ssize_t n = readv(b->fd, &(struct iovec){ buf, cap }, 1);

	if (n >= 0)
		return n > NET_VNET_HDR_LEN + NET_MAX_FRAME ? -EMSGSIZE : n;
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	if (errno == EBADFD) {
		LOG_WRN("net eth%u: the tap %s is gone", tap_of(b)->index, tap_of(b)->name);
		return -EPIPE;
	}
	return -errno;
}

static int tap_set_offloads(struct net_backend *b, uint64_t features)
{
	unsigned long offloads = 0;

	if (features & (1ull << VIRTIO_NET_F_GUEST_CSUM))
		offloads |= TUN_F_CSUM;
	/* Segments only come with checksums left to the guest. */
	if (offloads & TUN_F_CSUM) {
		if (features & (1ull << VIRTIO_NET_F_GUEST_TSO4))
			offloads |= TUN_F_TSO4;
		if (features & (1ull << VIRTIO_NET_F_GUEST_TSO6))
			offloads |= TUN_F_TSO6;
		if (features & (1ull << VIRTIO_NET_F_GUEST_UFO))
			offloads |= TUN_F_UFO;
	}
	if (ioctl(b->fd, TUNSETOFFLOAD, offloads) < 0) {
		int err = errno;
		LOG_RATELIMITED(LOG_WARN, "net eth%u: the tap %s refused offloads 0x%lx: %s",
				tap_of(b)->index, tap_of(b)->name, offloads, strerror(err));
		return -err;
	}
	return 0;
}

static void tap_destroy(struct net_backend *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(tap_of(b));
}

static const struct net_backend_ops tap_ops = {
	.send = tap_send,
	.recv = tap_recv,
	.set_offloads = tap_set_offloads,
	.destroy = tap_destroy,
};

static int tap_failed(struct tap *t, const char *what)
{
	int err = errno;

	LOG_ERR("net eth%u: %s%s: %s%s", t->index, what, t->name, strerror(err),
		err == EPERM ? " (making a tap takes CAP_NET_ADMIN)" : "");
	tap_destroy(&t->b);
	return -err;
}

int net_tap_open(const struct vm_net *cfg, unsigned int index, struct net_backend **out)
{
	struct tap *t = calloc(1, sizeof(*t));
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr_len = NET_VNET_HDR_LEN;

	if (!t) {
		LOG_ERR("net eth%u: cannot allocate its tap: %s", index, strerror(ENOMEM));
		return -ENOMEM;
	}
	t->b = (struct net_backend){ .ops = &tap_ops, .fd = -1, .vnet_hdr = true, .kind = "tap" };
	t->index = index;
	/* the API layer checked that the name fits */
	memcpy(t->name, cfg->path, strlen(cfg->path) + 1);
	memcpy(ifr.ifr_name, t->name, sizeof(ifr.ifr_name));
	t->b.fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->b.fd < 0)
		return tap_failed(t, "cannot open /dev/net/tun for the tap ");
	if (ioctl(t->b.fd, TUNSETIFF, &ifr) < 0)
		return tap_failed(t, "cannot attach to the tap ");
	if (ioctl(t->b.fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return tap_failed(t, "cannot size the virtio-net headers of the tap ");
	if (ioctl(t->b.fd, TUNSETOFFLOAD, 0ul) < 0)
		return tap_failed(t, "cannot turn off the offloads of the tap ");
	*out = &t->b;
	return 0;
}
