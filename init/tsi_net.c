#include "tsi_net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest_abi.h"
#include "net.h"
#include "rtnl.h"

bool tsi_net_inet(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	for (char *save = NULL, *w = strtok_r(buf, ", \n", &save); w;
	     w = strtok_r(NULL, ", \n", &save)) {
		if (strcmp(w, "inet") == 0)
			return true;
	}
	return false;
}

int tsi_net_dns_parse(const char *value, char addrs[][INET6_ADDRSTRLEN], size_t max)
{
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = 0;

	for (const char *p = value;; p++) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= INET6_ADDRSTRLEN || n == max)
			return -1;
		memcpy(addrs[n], p, len);
		addrs[n][len] = '\0';
		if (inet_pton(AF_INET, addrs[n], bin) != 1 && inet_pton(AF_INET6, addrs[n], bin) != 1)
			return -1;
		n++;
		p += len;
		if (*p == '\0')
			return (int)n;
	}
}

int tsi_net_write_resolv_conf(const char *path, char addrs[][INET6_ADDRSTRLEN], size_t n)
{
	/* O_EXCL and O_NOFOLLOW: whatever the root has there stays */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f;

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	if (!(f = fdopen(fd, "w"))) {
		int err = -errno;
		close(fd);
		return err;
	}
	fprintf(f, "# the host's name servers (TSI), written by %s\n", KRUN_INIT_NAME);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "nameserver %s\n", addrs[i]);
	bool failed = ferror(f);
	if (fclose(f) || failed)
		return -EIO;
	return 0;
}

static void say(const char *what, const char *detail, int err)
{
	fprintf(stderr, "%s: TSI: %s %s: %s\n", KRUN_INIT_NAME, what, detail, strerror(-err));
}

/* The interface up, its address, the default route. */
static void presence(const char *iface)
{
	struct in_addr addr, gateway;
	int ifindex = (int)if_nametoindex(iface);
	int fd, err;

	if (ifindex == 0) {
		say("no interface", iface, -errno);
		return;
	}
	if ((fd = rtnl_open()) < 0) {
		say("route netlink for", iface, fd);
		return;
	}
	inet_pton(AF_INET, TSI_NET_ADDR, &addr);
	inet_pton(AF_INET, TSI_NET_GATEWAY, &gateway);
	if ((err = rtnl_link_up(fd, ifindex, 0)))
		say("bring up", iface, err);
	else if ((err = rtnl_addr_add(fd, ifindex, addr, TSI_NET_PREFIX)) && err != -EEXIST)
		say("add " TSI_NET_ADDR " to", iface, err);
	else if ((err = rtnl_default_route_add(fd, ifindex, gateway)) && err != -EEXIST)
		say("add the default route via " TSI_NET_GATEWAY " on", iface, err);
	close(fd);
}

void tsi_net_setup(const char *dns_setting, const struct tsi_net_options *opts)
{
	const char *path = opts->resolv_conf ? opts->resolv_conf : NET_RESOLV_CONF;
	char addrs[TSI_NET_DNS_MAX][INET6_ADDRSTRLEN];
	int n, err;

	if (!tsi_net_inet(opts->hijack ? opts->hijack : TSI_NET_HIJACK))
		return;
	presence(opts->iface ? opts->iface : TSI_NET_IFACE);
	if (!dns_setting)
		return;
	if ((n = tsi_net_dns_parse(dns_setting, addrs, TSI_NET_DNS_MAX)) < 0) {
		fprintf(stderr, "%s: %s=\"%s\": expected up to %d IP addresses, comma-separated\n",
			KRUN_INIT_NAME, KRUN_ENV_TSI_DNS, dns_setting, TSI_NET_DNS_MAX);
		return;
	}
	/* a root without /etc (a test's, a single binary's) wants none */
	if ((err = tsi_net_write_resolv_conf(path, addrs, (size_t)n)) && err != -ENOENT)
		say("write", path, err);
}
