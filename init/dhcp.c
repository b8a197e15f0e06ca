#include "dhcp.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The exchange's state: what is sent, and when next. */
struct exchange {
	int fd;
	int ifindex;
	const uint8_t *mac;
	uint32_t xid;
	uint8_t packet[DHCP_PACKET_MAX];
	size_t packet_len;
	bool requesting;	 /* a REQUEST for offer is out, else a DISCOVER */
	struct dhcp_reply offer; /* valid while requesting */
	unsigned int resend_ms;	 /* the wait after the next send */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Unpredictable enough that a stale reply of another boot does not match;
 * early in boot the entropy pool may not be ready, then the clock serves. */
static uint32_t new_xid(const uint8_t mac[DHCP_MAC_LEN])
{
	uint32_t xid;
	if (getrandom(&xid, sizeof(xid), GRND_NONBLOCK) == sizeof(xid))
		return xid;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec << 20 ^
	       (uint32_t)(mac[2] << 24 | mac[3] << 16 | mac[4] << 8 | mac[5]);
}

static void start_discover(struct exchange *x)
{
	x->requesting = false;
	x->packet_len = dhcp_build_discover(x->packet, sizeof(x->packet), x->xid, x->mac);
	x->resend_ms = DHCP_RESEND_FIRST_MS;
}

static void start_request(struct exchange *x, const struct dhcp_reply *offer)
{
	x->requesting = true;
	x->offer = *offer;
	x->packet_len = dhcp_build_request(x->packet, sizeof(x->packet), x->xid, x->mac,
					   offer->addr, offer->server_id);
	x->resend_ms = DHCP_RESEND_FIRST_MS;
}

static int send_packet(struct exchange *x)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = x->ifindex,
		.sll_halen = ETH_ALEN,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	if (sendto(x->fd, x->packet, x->packet_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
	    errno != ENETDOWN && errno != ENOBUFS) /* a link not ready yet: resent later */
		return -errno;
	return 0;
}

/* What a reply does to the exchange: 1 when it is the lease, else 0 (the
 * exchange goes on, maybe in another state). */
static int handle_reply(struct exchange *x, const struct dhcp_reply *reply)
{
	if (!x->requesting) {
		if (reply->type == DHCP_ACK && reply->rapid_commit)
			return 1;
		if (reply->type == DHCP_OFFER)
			start_request(x, reply);
		return 0;
	}
	/* another server's answer to our broadcast REQUEST is not ours */
	if (reply->server_id.s_addr != INADDR_ANY &&
	    reply->server_id.s_addr != x->offer.server_id.s_addr)
		return 0;
	if (reply->type == DHCP_ACK)
		return 1;
	if (reply->type == DHCP_NAK)
		start_discover(x);
	return 0;
}

/* Wait until wait_until for replies: 1 with the lease, 0 when the wait is
 * over or the state changed (the new message is to go out now), -errno. */
static int receive_until(struct exchange *x, long long wait_until, struct dhcp_reply *lease)
{
	bool was_requesting = x->requesting;
	uint8_t pkt[DHCP_PACKET_MAX];

	for (long long now = now_ms(); now < wait_until; now = now_ms()) {
		struct pollfd pfd = { .fd = x->fd, .events = POLLIN };
		int ready = poll(&pfd, 1, (int)(wait_until - now));
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready <= 0)
			continue;
		struct sockaddr_ll from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(x->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &from_len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (dhcp_parse_reply(pkt, n, x->xid, x->mac, lease))
			continue;
		int got = handle_reply(x, lease);
		if (got || x->requesting != was_requesting)
			return got;
	}
	return 0;
}

int dhcp_acquire(int ifindex, const uint8_t mac[DHCP_MAC_LEN], unsigned int timeout_ms,
		 struct dhcp_reply *lease)
{
	struct exchange x = { .ifindex = ifindex, .mac = mac, .xid = new_xid(mac) };
	x.fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (x.fd < 0)
		return -errno;
	struct sockaddr_ll local = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
	};
	int ret = 0;
	if (bind(x.fd, (struct sockaddr *)&local, sizeof(local)))
		ret = -errno;

	long long deadline = now_ms() + timeout_ms;
	start_discover(&x);
	while (ret == 0 && now_ms() < deadline) {
		ret = send_packet(&x);
		if (ret)
			break;
		long long wait_until = now_ms() + x.resend_ms;
		if (wait_until > deadline)
			wait_until = deadline;
		x.resend_ms = x.resend_ms * 2 > DHCP_RESEND_MAX_MS ? DHCP_RESEND_MAX_MS
								   : x.resend_ms * 2;
		ret = receive_until(&x, wait_until, lease);
	}
	close(x.fd);
	if (ret > 0)
		return 0;
	return ret ? ret : -ETIMEDOUT;
}
