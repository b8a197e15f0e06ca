// SPDX-License-Identifier: Apache-2.0
/*
 * netguest: a guest program that brings eth0 up by itself with a static
 * address (no DHCP, no init's help), or finds it configured by the init's
 * DHCP client, and pings the host's test peer (net_client.c), which answers
 * ARP and ICMP echo. Prints eth0's MAC, what DHCP set (address, MTU,
 * /etc/resolv.conf) and one line per reply; exits 0 when every echo was
 * answered and DHCP set what the peer gave, 1 otherwise. With --flood,
 * then sends full-size UDP datagrams to the peer's port 9 as fast as the
 * interface takes them for SECONDS, without waiting, and prints how many
 * went and how many the interface refused (a peer that stops reading must
 * slow the guest down, not the VMM).
 *
 *   netguest [--dhcp] [COUNT] [--flood SECONDS]   (default 3 echo requests)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "inet_checksum.h"

#define GUEST_ADDR "10.0.2.15"
#define PEER_ADDR "10.0.2.2"

static int fail(const char *what)
{
	printf("netguest: %s: %s\n", what, strerror(errno));
	return 1;
}

static int set_addr(int s, unsigned long request, const char *addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	strcpy(ifr.ifr_name, "eth0");
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	return ioctl(s, request, &ifr);
}

/* What the init's DHCP client applied: the peer's lease. */
static int check_dhcp(void)
{
	struct ifreq ifr = { 0 };
	char addr[INET_ADDRSTRLEN] = "", resolv[256] = "";
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	FILE *f;

	strcpy(ifr.ifr_name, "eth0");
	if (s < 0 || ioctl(s, SIOCGIFADDR, &ifr) < 0)
		return fail("eth0 has no address");
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, addr, sizeof(addr));
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		return fail("cannot read eth0's MTU");
	printf("netguest: dhcp gave eth0 %s, mtu %d\n", addr, ifr.ifr_mtu);
	if ((f = fopen("/etc/resolv.conf", "r"))) {
		size_t n = fread(resolv, 1, sizeof(resolv) - 1, f);
		resolv[n] = '\0';
		fclose(f);
	}
	printf("netguest: resolv.conf has %s\n",
	       strstr(resolv, "nameserver 10.0.2.3") ? "nameserver 10.0.2.3" : "no nameserver");
	close(s);
	return strcmp(addr, GUEST_ADDR) || ifr.ifr_mtu != 1400 ||
	       !strstr(resolv, "nameserver 10.0.2.3");
}

static int print_mac(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, "eth0");
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		return fail("no eth0");
	const uint8_t *m = (const uint8_t *)ifr.ifr_hwaddr.sa_data;
	printf("netguest: eth0 mac %02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4],
	       m[5]);
	close(s);
	return 0;
}

static int bring_up_eth0(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, "eth0");
	if (s < 0)
		return fail("no socket");
	if (set_addr(s, SIOCSIFADDR, GUEST_ADDR) < 0 ||
	    set_addr(s, SIOCSIFNETMASK, "255.255.255.0") < 0)
		return fail("cannot address eth0");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return fail("cannot read eth0's flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return fail("cannot bring eth0 up");
	close(s);
	return 0;
}

/* One echo request with seq, and its reply within 5 s: 0, or 1. */
static int ping(int s, const struct sockaddr_in *peer, uint16_t seq)
{
	uint8_t packet[64] = { 0 }, reply[1500];
	struct icmphdr *icmp = (struct icmphdr *)packet;

	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(0x4b52);
	icmp->un.echo.sequence = htons(seq);
	for (size_t i = sizeof(*icmp); i < sizeof(packet); i++)
		packet[i] = (uint8_t)(seq + i);
	icmp->checksum = htons(inet_checksum(packet, sizeof(packet)));
	if (sendto(s, packet, sizeof(packet), 0, (const struct sockaddr *)peer, sizeof(*peer)) < 0)
		return fail("cannot send an echo request");
	for (;;) {
		if (poll(&(struct pollfd){ .fd = s, .events = POLLIN }, 1, 5000) <= 0) {
			printf("netguest: no reply to echo %u\n", seq);
			return 1;
		}
		ssize_t n = recv(s, reply, sizeof(reply), 0);
		if (n < 0)
			return fail("cannot receive");
		const struct iphdr *ip = (const struct iphdr *)reply;
		if ((size_t)n < ip->ihl * 4u + sizeof(*icmp))
			continue;
		const struct icmphdr *r = (const struct icmphdr *)(reply + ip->ihl * 4);
		if (r->type != ICMP_ECHOREPLY || r->un.echo.id != icmp->un.echo.id ||
		    r->un.echo.sequence != icmp->un.echo.sequence)
			continue;
		if ((size_t)n - ip->ihl * 4 != sizeof(packet) ||
		    memcmp(r + 1, icmp + 1, sizeof(packet) - sizeof(*icmp)) != 0) {
			printf("netguest: echo %u came back changed\n", seq);
			return 1;
		}
		printf("netguest: reply %u from %s\n", seq, PEER_ADDR);
		return 0;
	}
}

/* Datagrams of the largest unfragmented size to the peer's discard port
 * for seconds, never blocking: 0, or 1 if none could be sent at all. */
static int flood(const struct sockaddr_in *peer, int seconds)
{
	struct sockaddr_in to = *peer;
	static char payload[1472];
	unsigned long sent = 0, refused = 0;
	struct timespec start, now;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (s < 0)
		return fail("no UDP socket");
	to.sin_port = htons(9);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 256; i++) {
			if (sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&to,
				   sizeof(to)) == (ssize_t)sizeof(payload))
				sent++;
			else if (errno == EAGAIN || errno == ENOBUFS)
				refused++;
			else
				return fail("cannot send a datagram");
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < seconds);
	printf("netguest: flooded %lu datagrams, %lu refused\n", sent, refused);
	close(s);
	return sent == 0;
}

int main(int argc, char **argv)
{
	int flood_seconds = 0;
	if (argc > 2 && !strcmp(argv[argc - 2], "--flood")) {
		flood_seconds = atoi(argv[argc - 1]);
		argc -= 2;
	}
	int dhcp = argc > 1 && !strcmp(argv[1], "--dhcp");
	int count = argc > 1 + dhcp ? atoi(argv[1 + dhcp]) : 3, failed = 0;
	struct sockaddr_in peer = { .sin_family = AF_INET };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (print_mac() || (dhcp ? check_dhcp() : bring_up_eth0())) {
		printf("netguest: FAILED\n");
		return 1;
	}
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (s < 0)
		return fail("no raw socket");
	inet_pton(AF_INET, PEER_ADDR, &peer.sin_addr);
	for (int seq = 1; seq <= count; seq++)
		failed |= ping(s, &peer, (uint16_t)seq);
	printf("netguest: %s\n", failed ? "FAILED" : "all echoes answered");
	if (flood_seconds)
		failed |= flood(&peer, flood_seconds);
	return failed;
}
