/* The host's name servers for a TSI guest (docs/tsi-design.md b.4): read
 * from the host's resolv.conf when the VM is built (before any sandbox),
 * handed to the guest's init, which writes them into a root that has no
 * resolv.conf of its own. A loopback server (systemd-resolved's
 * 127.0.0.53) works too: the guest has no socket there, so TSI takes the
 * query to the host's loopback. No name is ever resolved by the VMM. */
#include "devices/vsock/tsi.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One "nameserver ADDR" line, the line's len bytes at p: the address, when
 * an IPv4 or unscoped IPv6 one, copied to addr. */
static bool nameserver(const char *p, size_t len, char addr[TSI_DNS_ADDR_MAX])
{
	static const char key[] = "nameserver";
	size_t i = sizeof(key) - 1, start, end;
	unsigned char buf[sizeof(struct in6_addr)];

	if (len <= i || memcmp(p, key, i) != 0 || !isblank((unsigned char)p[i]))
		return false;
	while (i < len && isblank((unsigned char)p[i]))
		i++;
	start = i;
	while (i < len && !isspace((unsigned char)p[i]))
		i++;
	end = i;
	if (end == start || end - start >= TSI_DNS_ADDR_MAX)
		return false;
	memcpy(addr, p + start, end - start);
	addr[end - start] = '\0';
	return inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1;
}

unsigned int tsi_dns_parse(const char *text, size_t len, char *out, size_t size)
{
	unsigned int n = 0;
	size_t used = 0;

	if (size)
		out[0] = '\0';
	for (size_t at = 0; at < len && n < TSI_DNS_MAX;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t line = nl ? (size_t)(nl - (text + at)) : len - at;
		char addr[TSI_DNS_ADDR_MAX];
		if (nameserver(text + at, line, addr)) {
			int w = snprintf(out + used, size - used, "%s%s", n ? "," : "", addr);
			if (w < 0 || (size_t)w >= size - used) {
				out[used] = '\0';
				break;
			}
			used += (size_t)w;
			n++;
		}
		at += line + 1;
	}
	return n;
}

unsigned int tsi_dns_host(const char *path, char *out, size_t size)
{
	char text[TSI_RESOLV_CONF_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 ? read(fd, text, sizeof(text)) : -1;

	if (fd >= 0)
		close(fd);
	if (size)
		out[0] = '\0';
	return len > 0 ? tsi_dns_parse(text, (size_t)len, out, size) : 0;
}
