/* The guest's network with TSI (docs/tsi-design.md b.4): no network
 * device, the guest kernel handing its inet sockets to the VMM. So that
 * programs that look for a network find one, as in a libkrun guest,
 * dummy0 (CONFIG_DUMMY) is brought up with 10.0.2.15/24 and a default
 * route through 10.0.2.2 (nothing answers there; TSI decides by table,
 * never by route, and a datagram that escapes it, a ping's, is swallowed
 * by dummy0). The host's name servers (KRUN_TSI_DNS, from the VMM) become
 * /etc/resolv.conf only when the root has none: a file, a symlink, even a
 * dangling one, that the user's root has is never replaced (libkrun's
 * init writes none at all; crun's roots always bring theirs), and a root
 * without /etc gets none. Every other step that fails is said on stderr
 * and boot goes on. */
#ifndef KRUN_INIT_TSI_NET_H
#define KRUN_INIT_TSI_NET_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

#define TSI_NET_HIJACK "/sys/module/tsi/parameters/hijack"
#define TSI_NET_IFACE "dummy0"
#define TSI_NET_ADDR "10.0.2.15"
#define TSI_NET_PREFIX 24
#define TSI_NET_GATEWAY "10.0.2.2"
#define TSI_NET_DNS_MAX 3

struct tsi_net_options {
	const char *hijack;	 /* the kernel's switch: TSI_NET_HIJACK */
	const char *iface;	 /* TSI_NET_IFACE */
	const char *resolv_conf; /* NET_RESOLV_CONF */
};

/* Whether the switch's file (path) says TSI takes the guest's inet
 * sockets ("inet" among its comma-separated words). */
bool tsi_net_inet(const char *path);

/* Split a KRUN_TSI_DNS value into at most max addresses (IPv4, or IPv6
 * without a scope): how many, or -1 when one is malformed or there are
 * more. */
int tsi_net_dns_parse(const char *value, char addrs[][INET6_ADDRSTRLEN], size_t max);

/* resolv.conf at path with the n name servers, unless something is there
 * already: 0 (written or left), or -errno. */
int tsi_net_write_resolv_conf(const char *path, char addrs[][INET6_ADDRSTRLEN], size_t n);

/* With TSI for inet: the interface and, from dns_setting (KRUN_TSI_DNS,
 * NULL: none), resolv.conf. */
void tsi_net_setup(const char *dns_setting, const struct tsi_net_options *opts);

#endif
