/* The guest's network setup by the init: lo always up, and each interface
 * that KRUN_DHCP names brought up and configured from a DHCP lease: its
 * address and prefix, the default route through the lease's router, its
 * MTU, and resolv.conf from the lease's DNS servers and domain. Every step
 * that fails is said on stderr and boot goes on. */
#ifndef KRUN_INIT_NET_H
#define KRUN_INIT_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define NET_RESOLV_CONF "/etc/resolv.conf"
/* The most interfaces KRUN_DHCP may name. */
#define NET_DHCP_IFACES_MAX 8

struct net_options {
	const char *resolv_conf;      /* where the DNS settings go: NET_RESOLV_CONF */
	unsigned int dhcp_timeout_ms; /* each interface's bound: DHCP_TIMEOUT_MS */
};

/* Split a KRUN_DHCP value into interface names: "1" is eth0, otherwise a
 * comma-separated list of names. 0, or -1 when a name is empty, too long
 * for an interface or has a character no name can have, or there are more
 * than max (names then undefined). */
int net_dhcp_ifaces_parse(const char *value, char names[][IFNAMSIZ], size_t max,
			  size_t *count);

/* Configure ifname from DHCP; its lease's DNS settings go to resolv.conf
 * when it has DNS servers and *resolv_conf_written is false, which it then
 * becomes. 0, -ETIMEDOUT when no server answered in time, or -errno of the
 * step that failed (said on stderr, as is a timeout). */
int net_dhcp_configure(const char *ifname, const struct net_options *opts,
		       bool *resolv_conf_written);

/* lo up, then the interfaces dhcp_setting (KRUN_DHCP, NULL: none) names,
 * one after the other; resolv.conf comes from the first lease with DNS
 * servers, the default route from the first with a router. */
void net_setup(const char *dhcp_setting, const struct net_options *opts);

#endif
