#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dhcp.h"
#include "guest_abi.h"
#include "rtnl.h"

int net_dhcp_ifaces_parse(const char *value, char names[][IFNAMSIZ], size_t max,
			  size_t *count)
{
	if (strcmp(value, "1") == 0)
		value = KRUN_DHCP_DEFAULT_IFACE;
	*count = 0;
	for (const char *p = value;; p++) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= IFNAMSIZ || *count == max)
			return -1;
		/* the kernel's rule for names (dev_valid_name) */
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '/' || p[i] == ':' || p[i] <= ' ' || p[i] == 0x7f)
				return -1;
		}
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return -1;
		memcpy(names[*count], p, len);
		names[(*count)++][len] = '\0';
		p += len;
		if (*p == '\0')
			return 0;
	}
}

static int hardware_address(const char *ifname, uint8_t mac[DHCP_MAC_LEN])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int ret = ioctl(fd, SIOCGIFHWADDR, &ifr) ? -errno : 0;
	close(fd);
	if (ret == 0 && ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		ret = -EAFNOSUPPORT;
	if (ret == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, DHCP_MAC_LEN);
	return ret;
}

static int write_resolv_conf(const char *path, const char *ifname,
			     const struct dhcp_reply *lease)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "# from DHCP on %s, written by %s\n", ifname, KRUN_INIT_NAME);
	for (unsigned int i = 0; i < lease->dns_count; i++) {
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &lease->dns[i], addr, sizeof(addr));
		fprintf(f, "nameserver %s\n", addr);
	}
	if (lease->domain[0])
		fprintf(f, "search %s\n", lease->domain);
	bool failed = ferror(f);
	if (fclose(f) || failed)
		return -EIO;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int step_failed(const char *ifname, int err,
							     const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s: ", KRUN_INIT_NAME, ifname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(-err));
	return err;
}

/* Apply the lease's MTU, address and route, each through fd. */
static int apply_lease(int fd, const char *ifname, int ifindex, const struct dhcp_reply *lease)
{
	char addr[INET_ADDRSTRLEN];
	int err;

	inet_ntop(AF_INET, &lease->addr, addr, sizeof(addr));
	if (lease->mtu && (err = rtnl_link_up(fd, ifindex, lease->mtu)))
		return step_failed(ifname, err, "set MTU %u", lease->mtu);
	if ((err = rtnl_addr_add(fd, ifindex, lease->addr, lease->prefix_len)))
		return step_failed(ifname, err, "add address %s/%u", addr, lease->prefix_len);
	/* an earlier interface's default route stays */
	if (lease->has_router && (err = rtnl_default_route_add(fd, ifindex, lease->router)) &&
	    err != -EEXIST) {
		inet_ntop(AF_INET, &lease->router, addr, sizeof(addr));
		return step_failed(ifname, err, "add default route via %s", addr);
	}
	return 0;
}

int net_dhcp_configure(const char *ifname, const struct net_options *opts,
		       bool *resolv_conf_written)
{
	unsigned int timeout_ms = opts->dhcp_timeout_ms ? opts->dhcp_timeout_ms : DHCP_TIMEOUT_MS;
	uint8_t mac[DHCP_MAC_LEN];
	struct dhcp_reply lease;
	int ifindex = if_nametoindex(ifname);
	int err;

	if (ifindex == 0)
		return step_failed(ifname, -errno, "no such interface");
	if ((err = hardware_address(ifname, mac)))
		return step_failed(ifname, err, "hardware address");
	int fd = rtnl_open();
	if (fd < 0)
		return step_failed(ifname, fd, "route netlink");
	if ((err = rtnl_link_up(fd, ifindex, 0))) {
		step_failed(ifname, err, "bring up");
	} else if ((err = dhcp_acquire(ifindex, mac, timeout_ms, &lease))) {
		if (err == -ETIMEDOUT)
			fprintf(stderr, "%s: %s: no DHCP lease within %u ms; going on without one\n",
				KRUN_INIT_NAME, ifname, timeout_ms);
		else
			step_failed(ifname, err, "DHCP");
	} else {
		err = apply_lease(fd, ifname, ifindex, &lease);
	}
	close(fd);

	const char *path = opts->resolv_conf ? opts->resolv_conf : NET_RESOLV_CONF;
	if (err || *resolv_conf_written || lease.dns_count == 0)
		return err;
	if ((err = write_resolv_conf(path, ifname, &lease)))
		return step_failed(ifname, err, "write %s", path);
	*resolv_conf_written = true;
	return 0;
}

void net_setup(const char *dhcp_setting, const struct net_options *opts)
{
	char names[NET_DHCP_IFACES_MAX][IFNAMSIZ];
	size_t count = 0;
	int fd = rtnl_open(), err;

	if (fd < 0 || (err = rtnl_link_up(fd, if_nametoindex("lo"), 0)))
		step_failed("lo", fd < 0 ? fd : err, "bring up");
	if (fd >= 0)
		close(fd);
	if (!dhcp_setting)
		return;
	if (net_dhcp_ifaces_parse(dhcp_setting, names, NET_DHCP_IFACES_MAX, &count)) {
		fprintf(stderr, "%s: %s=\"%s\": expected 1 or up to %d interface names, "
			"comma-separated\n", KRUN_INIT_NAME, KRUN_ENV_DHCP, dhcp_setting,
			NET_DHCP_IFACES_MAX);
		return;
	}
	bool resolv_conf_written = false;
	for (size_t i = 0; i < count; i++)
		net_dhcp_configure(names[i], opts, &resolv_conf_written);
}
