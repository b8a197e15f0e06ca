// SPDX-License-Identifier: Apache-2.0
/*
 * netfetch: a guest program for a network the init configured by DHCP
 * (passt's): it prints eth0's address, listens on SERVE_PORT, fetches PATH
 * over HTTP from the default gateway's FETCH_PORT (passt takes the gateway
 * to the host's loopback), prints the body's size and POSIX cksum, then
 * answers one connection on SERVE_PORT (from the host, through passt's port
 * forward) with "hello from the guest". Exits 0 when all went through.
 *
 *   netfetch FETCH_PORT PATH SERVE_PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("netfetch: %s: %s\n", what, strerror(errno));
	return 1;
}

/* The default route's gateway, from /proc/net/route (host byte order there). */
static int gateway(struct in_addr *gw)
{
	char line[256], iface[32];
	unsigned int dest, via;
	FILE *f = fopen("/proc/net/route", "r");

	if (!f)
		return fail("no /proc/net/route");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %x %x", iface, &dest, &via) == 3 && dest == 0 && via) {
			gw->s_addr = via;
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	printf("netfetch: no default route\n");
	return 1;
}

/* POSIX cksum's CRC over the bytes, then their count. */
struct cksum {
	uint32_t crc;
	uint64_t len;
};

static uint32_t crc_step(uint32_t crc, uint8_t byte)
{
	crc ^= (uint32_t)byte << 24;
	for (int i = 0; i < 8; i++)
		crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
	return crc;
}

static void cksum_add(struct cksum *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c->crc = crc_step(c->crc, p[i]);
	c->len += n;
}

static uint32_t cksum_end(const struct cksum *c)
{
	uint32_t crc = c->crc;

	for (uint64_t n = c->len; n; n >>= 8)
		crc = crc_step(crc, n & 0xff);
	return ~crc;
}

static int fetch(struct in_addr gw, int port, const char *path)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = gw };
	char request[512], buf[65536];
	struct cksum sum = { 0 };
	size_t head = 0;
	bool in_body = false;
	ssize_t n;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail("cannot connect to the host's server");
	snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: host\r\n\r\n", path);
	if (write(s, request, strlen(request)) != (ssize_t)strlen(request))
		return fail("cannot send the request");
	while ((n = read(s, buf + head, sizeof(buf) - head)) > 0) {
		if (in_body) {
			cksum_add(&sum, (uint8_t *)buf, n);
			continue;
		}
		head += n;
		char *end = memmem(buf, head, "\r\n\r\n", 4);
		if (!end) {
			if (head == sizeof(buf))
				return fail("no end to the reply's header");
			continue;
		}
		if (strncmp(buf, "HTTP/1.0 200", 12) && strncmp(buf, "HTTP/1.1 200", 12)) {
			printf("netfetch: the server said %.20s\n", buf);
			return 1;
		}
		in_body = true;
		cksum_add(&sum, (uint8_t *)end + 4, buf + head - (end + 4));
		head = 0;
	}
	if (n < 0)
		return fail("cannot read the reply");
	printf("netfetch: fetched %llu bytes, cksum %u\n", (unsigned long long)sum.len,
	       cksum_end(&sum));
	close(s);
	return in_body ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct ifreq ifr = { 0 };
	struct in_addr gw;
	int one = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 4) {
		printf("usage: netfetch FETCH_PORT PATH SERVE_PORT\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(ifr.ifr_name, "eth0");
	if (s < 0 || ioctl(s, SIOCGIFADDR, &ifr) < 0)
		return fail("eth0 has no address");
	printf("netfetch: eth0 %s\n", inet_ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr));
	close(s);

	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr.sin_port = htons(atoi(argv[3]));
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l, 1) < 0)
		return fail("cannot listen");
	if (gateway(&gw) || fetch(gw, atoi(argv[1]), argv[2]))
		return 1;
	printf("netfetch: listening on %s\n", argv[3]);
	if (poll(&(struct pollfd){ .fd = l, .events = POLLIN }, 1, 60000) <= 0) {
		printf("netfetch: no connection from the host\n");
		return 1;
	}
	int c = accept(l, NULL, NULL);
	const char hello[] = "hello from the guest\n";
	if (c < 0 || write(c, hello, sizeof(hello) - 1) != sizeof(hello) - 1)
		return fail("cannot answer the host");
	close(c);
	printf("netfetch: answered the host\n");
	return 0;
}
