/* krun_set_port_map: libkrun's "HOST_PORT:GUEST_PORT" entries, and
 * podman's "[IP:]HOST_PORT:GUEST_PORT[/udp]", checked and recorded as the
 * published ports (struct vm_port_fwd) of the user-mode interface, or of
 * TSI when no such interface is added (vm_config_tsi_publishes). */
#include "api/api.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"

/* A port in decimal, 1 to 65535, from s to end. */
static bool parse_port(const char *s, const char *end, uint16_t *port)
{
	unsigned long v = 0;

	if (s == end || end - s > 5)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static int parse_entry(const char *entry, struct vm_port_fwd *fwd)
{
	const char *end = entry + strlen(entry), *slash = strchr(entry, '/');
	const char *last = NULL, *first = strchr(entry, ':');
	char addr[INET_ADDRSTRLEN];

	*fwd = (struct vm_port_fwd){ .host_addr = htonl(INADDR_LOOPBACK) };
	if (slash) {
		if (strcmp(slash, "/udp") == 0)
			fwd->udp = true;
		else if (strcmp(slash, "/tcp") != 0)
			goto bad;
		end = slash;
	}
	for (const char *p = entry; p < end; p++)
		if (*p == ':')
			last = p;
	if (!first || first >= end)
		goto bad;
	if (first != last) {
		size_t len = (size_t)(first - entry);
		if (len == 0 || len >= sizeof(addr))
			goto bad;
		memcpy(addr, entry, len);
		addr[len] = '\0';
		if (inet_pton(AF_INET, addr, &fwd->host_addr) != 1)
			goto bad;
		entry = first + 1;
	}
	if (!parse_port(entry, last, &fwd->host_port) || !parse_port(last + 1, end, &fwd->guest_port))
		goto bad;
	return 0;
bad:
	return api_invalid("krun_set_port_map", "\"%s\" is not [IPv4:]HOST_PORT:GUEST_PORT[/udp] "
			   "with ports 1 to 65535", entry);
}

/* Two entries the host could not both bind. */
static bool clash(const struct vm_port_fwd *a, const struct vm_port_fwd *b)
{
	return a->udp == b->udp && a->host_port == b->host_port &&
	       (a->host_addr == b->host_addr || a->host_addr == INADDR_ANY ||
		b->host_addr == INADDR_ANY);
}

int32_t krun_set_port_map(uint32_t ctx_id, const char *const port_map[])
{
	struct vm_port_fwd fwds[VM_MAX_PORT_FWDS];
	unsigned int n = 0;
	struct vm_config *cfg;
	int ret;

	for (; port_map && port_map[n]; n++) {
		if (n == VM_MAX_PORT_FWDS)
			return API_EINVAL("at most %d published ports", VM_MAX_PORT_FWDS);
		if ((ret = parse_entry(port_map[n], &fwds[n])) < 0)
			return ret;
		for (unsigned int i = 0; i < n; i++)
			if (clash(&fwds[i], &fwds[n]))
				return API_EINVAL("\"%s\" publishes a host port an earlier entry "
						  "does", port_map[n]);
	}
	cfg = ctx_lock(ctx_id, __func__);
	if (!cfg)
		return -ENOENT;
	memcpy(cfg->port_fwds, fwds, n * sizeof(fwds[0]));
	cfg->nr_port_fwds = n;
	ctx_unlock();
	return 0;
}

void port_map_warn_unused(const struct vm_config *cfg)
{
	if (!cfg->nr_port_fwds || vm_config_tsi_publishes(cfg))
		return;
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (cfg->nets[i].backend == VM_NET_USER)
			return;
	LOG_WRN("krun_set_port_map: %u published port%s but neither a user-mode interface "
		"(krun_add_net_user) nor TSI to publish them: the host's ports stay closed",
		cfg->nr_port_fwds, cfg->nr_port_fwds == 1 ? "" : "s");
}
