/* The DHCP exchange of a client without an address, over a packet socket
 * on one interface: DISCOVER with rapid commit, taking an ACK at once, else
 * the usual OFFER, REQUEST and ACK. Bounded: the whole exchange ends at a
 * deadline, the messages resent meanwhile at growing intervals. No lease is
 * renewed (the init is no daemon), as in libkrun. */
#ifndef KRUN_INIT_DHCP_H
#define KRUN_INIT_DHCP_H

#include "dhcp_packet.h"

/* The default bound of one interface's exchange; the first resend after
 * DHCP_RESEND_FIRST_MS, each next one twice as late, at most
 * DHCP_RESEND_MAX_MS apart. */
#define DHCP_TIMEOUT_MS 2500
#define DHCP_RESEND_FIRST_MS 100
#define DHCP_RESEND_MAX_MS 1000

/* Ask for a lease on the interface ifindex, whose hardware address is mac,
 * for timeout_ms at most. 0 with the ACK in lease, -ETIMEDOUT when no
 * server gave one in time, or -errno when the socket failed. */
int dhcp_acquire(int ifindex, const uint8_t mac[DHCP_MAC_LEN], unsigned int timeout_ms,
		 struct dhcp_reply *lease);

#endif
