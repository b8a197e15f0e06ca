#include "rtnl.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The kernel answers at once; this bounds a kernel that does not. */
#define RTNL_ACK_TIMEOUT_MS 1000

void rtnl_request_init(struct rtnl_request *req, uint16_t type, uint16_t flags,
		       const void *body, size_t body_len)
{
	static uint32_t seq;

	memset(req, 0, sizeof(*req));
	req->hdr.nlmsg_len = NLMSG_LENGTH(body_len);
	req->hdr.nlmsg_type = type;
	req->hdr.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	req->hdr.nlmsg_seq = ++seq;
	memcpy(NLMSG_DATA(&req->hdr), body, body_len);
}

struct rtattr *rtnl_request_attr(struct rtnl_request *req, uint16_t type, const void *data,
				 size_t len)
{
	size_t offset = NLMSG_ALIGN(req->hdr.nlmsg_len);
	if (offset + RTA_SPACE(len) > sizeof(req->buf))
		return NULL;
	struct rtattr *rta = (struct rtattr *)(req->buf + offset);
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	req->hdr.nlmsg_len = offset + RTA_SPACE(len);
	return rta;
}

void rtnl_request_close_nest(struct rtnl_request *req, struct rtattr *nest)
{
	nest->rta_len = req->buf + req->hdr.nlmsg_len - (char *)nest;
}

int rtnl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&local, sizeof(local))) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int rtnl_transact(int fd, struct rtnl_request *req)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, req->buf, req->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;

	/* Read until the acknowledgement of this request; anything else
	 * (a late answer to an earlier one) is passed over. */
	for (;;) {
		union {
			struct nlmsghdr hdr;
			char buf[4096];
		} answer;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ready = poll(&pfd, 1, RTNL_ACK_TIMEOUT_MS);
		if (ready == 0)
			return -ETIMEDOUT;
		if (ready < 0 && errno != EINTR)
			return -errno;
		ssize_t n = recv(fd, answer.buf, sizeof(answer.buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		/* Each message whole inside what was read (NLMSG_OK's int
		 * arithmetic, written out without mixing signs). */
		size_t total = (size_t)n;
		for (size_t off = 0; off < total && total - off >= sizeof(struct nlmsghdr);) {
			struct nlmsghdr *h = (struct nlmsghdr *)(answer.buf + off);
			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > total - off)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_seq != req->hdr.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return -EPROTO;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

int rtnl_link_up(int fd, int ifindex, unsigned int mtu)
{
	struct ifinfomsg link = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = IFF_UP,
		.ifi_change = IFF_UP,
	};
	struct rtnl_request req;
	rtnl_request_init(&req, RTM_NEWLINK, 0, &link, sizeof(link));
	if (mtu)
		rtnl_request_attr(&req, IFLA_MTU, &mtu, sizeof(mtu));
	return rtnl_transact(fd, &req);
}

int rtnl_addr_add(int fd, int ifindex, struct in_addr addr, unsigned int prefix_len)
{
	struct ifaddrmsg ifa = {
		.ifa_family = AF_INET,
		.ifa_prefixlen = prefix_len,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = ifindex,
	};
	struct in_addr broadcast = addr;
	if (prefix_len < 31)
		broadcast.s_addr |= htonl(0xffffffffu >> prefix_len);
	struct rtnl_request req;
	rtnl_request_init(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa));
	rtnl_request_attr(&req, IFA_LOCAL, &addr, sizeof(addr));
	rtnl_request_attr(&req, IFA_ADDRESS, &addr, sizeof(addr));
	if (prefix_len < 31)
		rtnl_request_attr(&req, IFA_BROADCAST, &broadcast, sizeof(broadcast));
	return rtnl_transact(fd, &req);
}

int rtnl_default_route_add(int fd, int ifindex, struct in_addr gateway)
{
	struct rtmsg rtm = {
		.rtm_family = AF_INET,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_DHCP,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
		.rtm_flags = RTNH_F_ONLINK,
	};
	uint32_t oif = ifindex;
	struct rtnl_request req;
	rtnl_request_init(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	rtnl_request_attr(&req, RTA_GATEWAY, &gateway, sizeof(gateway));
	rtnl_request_attr(&req, RTA_OIF, &oif, sizeof(oif));
	return rtnl_transact(fd, &req);
}
