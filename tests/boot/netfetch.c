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

#include "cksum_fetch.h"

static int fail(const char *what)
{
	return prog_fail("netfetch", what);
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

static int fetch(struct in_addr gw, int port, const char *path)
{
	struct cksum sum = { 0 };

	if (http_fetch("netfetch", gw, port, path, &sum))
		return 1;
	printf("netfetch: fetched %llu bytes, cksum %u\n", (unsigned long long)sum.len,
	       cksum_end(&sum));
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	struct ifreq ifr = { 0 };
	struct in_addr gw = { 0 };
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
