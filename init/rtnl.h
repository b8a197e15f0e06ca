/* Route netlink, the few requests the init's network setup makes: bring a
 * link up, set its MTU, add an IPv4 address and a default route. Each
 * request waits for the kernel's acknowledgement, bounded in time. */
#ifndef KRUN_INIT_RTNL_H
#define KRUN_INIT_RTNL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* A request under construction: the header, its fixed part, then attributes. */
struct rtnl_request {
	union {
		struct nlmsghdr hdr;
		char buf[512];
	};
};

/* Start a request of type with flags (NLM_F_REQUEST | NLM_F_ACK added) and
 * its fixed part, body_len bytes. */
void rtnl_request_init(struct rtnl_request *req, uint16_t type, uint16_t flags,
		       const void *body, size_t body_len);
/* Append an attribute; NULL when the request has no room left. The
 * attribute returned may be grown by the caller (a nest) while it stays
 * last: rtnl_request_close_nest() sets its length. */
struct rtattr *rtnl_request_attr(struct rtnl_request *req, uint16_t type, const void *data,
				 size_t len);
void rtnl_request_close_nest(struct rtnl_request *req, struct rtattr *nest);

/* A route netlink socket, or -errno. */
int rtnl_open(void);
/* Send req and wait for its acknowledgement: 0, or -errno (the kernel's,
 * or ETIMEDOUT). */
int rtnl_transact(int fd, struct rtnl_request *req);

/* ifindex up, with mtu when it is not 0. 0 or -errno. */
int rtnl_link_up(int fd, int ifindex, unsigned int mtu);
int rtnl_addr_add(int fd, int ifindex, struct in_addr addr, unsigned int prefix_len);
/* The default route through gateway on ifindex, taken as on-link, as a
 * lease whose router lies outside its subnet needs. */
int rtnl_default_route_add(int fd, int ifindex, struct in_addr gateway);

#endif
