/* A libkrun.h client whose guest has one network interface over a datagram
 * socket, and, in a child process, the peer on the host's side of it: a
 * tiny stand-in for gvproxy in vfkit mode that answers ARP for 10.0.2.2,
 * ICMP echo requests, and DHCP (10.0.2.15/24, router 10.0.2.2, DNS
 * 10.0.2.3, MTU 1400, with rapid commit when asked), and nothing else.
 *
 *   net-client [--dhcp|--hostile] ROOT SOCKET PROGRAM [ARG...]
 *   net-client --passt "PASST_ARGS" ROOT PROGRAM [ARG...]
 *   net-client --tap IFNAME FEATURES ROOT PROGRAM [ARG...]
 *
 * --dhcp: the interface asks the guest's init for DHCP
 * (NET_FLAG_DHCP_CLIENT).
 * --hostile: the peer first sends what no peer should (a datagram longer
 * than any frame, a runt, garbage frames to the guest's MAC), answers as
 * usual after that, and stops reading for good at the first datagram to
 * UDP port 9 (the guest's flood, netguest --flood).
 * --passt: no peer of ours; the interface is a stream socket to Debian's
 * passt instead, started as crun does (passt -f --fd N) with PASST_ARGS
 * (words: "-t 8080") added, and DHCP asked.
 * --tap: no peer of ours either; the interface is the host's tap IFNAME,
 * with the NET_FEATURE_* bits FEATURES (a number) offered to the guest.
 *
 * The peer binds SOCKET and waits for the VMM's "VFKT" greeting from the
 * socket the VMM binds beside it, then answers to that address. It logs to
 * stderr one line per thing it saw ("peer: ..."). The guest's eth0 gets
 * the MAC 02:4b:52:55:4e:01. The process ends with the workload's status. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libkrun.h>

#include "inet_checksum.h"

#define ETH_HLEN 14
static const uint8_t guest_mac[6] = { 0x02, 0x4b, 0x52, 0x55, 0x4e, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x4b, 0x52, 0x55, 0x4e, 0x02 };
static const uint8_t peer_ip[4] = { 10, 0, 2, 2 };
static const uint8_t guest_ip[4] = { 10, 0, 2, 15 };

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "net-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* An ARP request for peer_ip becomes its reply, in place: true if it was one. */
static bool answer_arp(uint8_t *f, size_t len)
{
	uint8_t *arp = f + ETH_HLEN;

	if (len < ETH_HLEN + 28 || arp[7] != 1 /* request */ || memcmp(arp + 24, peer_ip, 4))
		return false;
	fprintf(stderr, "peer: ARP request for 10.0.2.2 from %02x:%02x:%02x:%02x:%02x:%02x\n",
		arp[8], arp[9], arp[10], arp[11], arp[12], arp[13]);
	arp[7] = 2; /* reply */
	memcpy(arp + 18, arp + 8, 10); /* target: the asker's MAC and address */
	memcpy(arp + 8, peer_mac, 6);
	memcpy(arp + 14, peer_ip, 4);
	return true;
}

/* An ICMP echo request to peer_ip becomes its reply, in place. */
static bool answer_echo(uint8_t *f, size_t len)
{
	uint8_t *ip = f + ETH_HLEN;
	size_t ihl = (ip[0] & 0xf) * 4;

	if (len < ETH_HLEN + 20 || ip[9] != 1 /* ICMP */ || memcmp(ip + 16, peer_ip, 4) ||
	    len < ETH_HLEN + ihl + 8 || ip[ihl] != 8 /* echo request */)
		return false;
	size_t ip_len = (size_t)ip[2] << 8 | ip[3];
	if (ip_len > len - ETH_HLEN || ip_len < ihl + 8)
		return false;
	fprintf(stderr, "peer: echo request %u\n", ip[ihl + 6] << 8 | ip[ihl + 7]);
	uint8_t addr[4];
	memcpy(addr, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, addr, 4);
	put16(ip + 10, 0);
	put16(ip + 10, inet_checksum(ip, ihl));
	ip[ihl] = 0; /* echo reply */
	put16(ip + ihl + 2, 0);
	put16(ip + ihl + 2, inet_checksum(ip + ihl, ip_len - ihl));
	return true;
}

/* A context with root and the workload program args, not started. */
static int start_ctx(const char *root, const char *program, char **args)
{
	int ctx = krun_create_ctx();

	check(ctx, "krun_create_ctx");
	check(krun_set_log_level(getenv("NET_CLIENT_DEBUG") ? KRUN_LOG_LEVEL_DEBUG
							    : KRUN_LOG_LEVEL_INFO), "krun_set_log_level");
	check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
	check(krun_set_root(ctx, root), "krun_set_root");
	check(krun_set_exec(ctx, program, (const char *const *)args,
			    (const char *const[]){ "PATH=/", NULL }), "krun_set_exec");
	return ctx;
}

/* A DHCP DISCOVER or REQUEST becomes an ACK (or, for a DISCOVER without
 * rapid commit, an OFFER), in place: its new length, or 0. */
static size_t answer_dhcp(uint8_t *f, size_t len, size_t room)
{
	uint8_t *ip = f + ETH_HLEN, *udp = ip + 20, *bootp = udp + 8, *opt = bootp + 240;
	static const uint8_t cookie[4] = { 99, 130, 83, 99 };
	uint8_t type = 0;
	bool rapid = false;

	if (len < ETH_HLEN + 20 + 8 + 240 || ip[9] != 17 /* UDP */ || (ip[0] & 0xf) != 5 ||
	    udp[2] != 0 || udp[3] != 67 || bootp[0] != 1 || memcmp(bootp + 236, cookie, 4))
		return 0;
	for (uint8_t *o = opt; o + 1 < f + len && *o != 255;) {
		if (*o == 0) {
			o++;
			continue;
		}
		if (o + 2 + o[1] > f + len)
			break;
		if (o[0] == 53 && o[1] == 1)
			type = o[2];
		if (o[0] == 80)
			rapid = true;
		o += 2 + o[1];
	}
	if (type != 1 && type != 3)
		return 0;
	uint8_t reply = type == 3 || rapid ? 5 /* ACK */ : 2 /* OFFER */;
	fprintf(stderr, "peer: DHCP %s%s, answered with %s\n", type == 1 ? "DISCOVER" : "REQUEST",
		rapid ? " with rapid commit" : "", reply == 5 ? "ACK" : "OFFER");
	/* BOOTP: a reply with the address; the header and cookie kept */
	bootp[0] = 2;
	memset(bootp + 12, 0, 4); /* ciaddr */
	memcpy(bootp + 16, guest_ip, 4);
	memcpy(bootp + 20, peer_ip, 4);
	const uint8_t options[] = {
		53, 1, reply, 54, 4, 10, 0, 2, 2, 51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0,
		3, 4, 10, 0, 2, 2, 6, 4, 10, 0, 2, 3, 26, 2, 0x05, 0x78,
	};
	size_t n = sizeof(options);
	if (ETH_HLEN + 20 + 8 + 240 + n + 3 > room)
		return 0;
	memcpy(opt, options, n);
	if (rapid && reply == 5) {
		opt[n++] = 80;
		opt[n++] = 0;
	}
	opt[n++] = 255;
	size_t udp_len = 8 + 240 + n;
	/* UDP 67 to 68, no checksum (IPv4 allows none); IP to the broadcast */
	put16(udp, 67);
	put16(udp + 2, 68);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	put16(ip + 2, (uint16_t)(20 + udp_len));
	ip[8] = 64;
	memcpy(ip + 12, peer_ip, 4);
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, 0);
	put16(ip + 10, inet_checksum(ip, 20));
	memset(f, 0xff, 6); /* to the broadcast address; the caller swaps it in */
	return ETH_HLEN + 20 + udp_len;
}

/* What a hostile peer sends first: each must be dropped or ignored. */
static void misbehave(int fd, uint8_t *f, size_t room)
{
	static uint8_t too_long[70000]; /* longer than any frame */
	uint32_t seed = 12345;
	int size = 2 * sizeof(too_long);

	memset(too_long, 0x5a, sizeof(too_long));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (send(fd, too_long, sizeof(too_long), 0) < 0)
		fprintf(stderr, "peer: cannot send the long datagram: %s\n", strerror(errno));
	send(fd, too_long, 5, 0); /* shorter than an Ethernet header */
	for (int i = 0; i < 200 && room >= 1515; i++) {
		size_t len = 14 + (seed = seed * 1103515245 + 12345) % 1501;
		for (size_t j = 14; j < len; j++)
			f[j] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
		memcpy(f, guest_mac, 6);
		memcpy(f + 6, peer_mac, 6);
		send(fd, f, len, 0);
	}
	fprintf(stderr, "peer: sent a 70000-byte datagram, a runt and 200 garbage frames\n");
}

/* A frame of the guest's flood: UDP to port 9. */
static bool is_flood(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_HLEN;

	return len >= ETH_HLEN + 20 + 8 && f[12] == 0x08 && f[13] == 0 && ip[9] == 17 &&
	       ip[(ip[0] & 0xf) * 4 + 2] == 0 && ip[(ip[0] & 0xf) * 4 + 3] == 9;
}

/* The peer: greeted, then answering until a minute passes idle. */
static int peer(int fd, bool hostile)
{
	struct sockaddr_un vmm;
	socklen_t vmm_len = sizeof(vmm);
	uint8_t f[65536];
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 60000) <= 0 ||
	    (n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&vmm, &vmm_len)) < 0) {
		fprintf(stderr, "peer: no greeting\n");
		return 1;
	}
	fprintf(stderr, "peer: greeted with \"%.*s\" from %s\n", (int)n, f, vmm.sun_path);
	if (connect(fd, (struct sockaddr *)&vmm, vmm_len) < 0) {
		fprintf(stderr, "peer: cannot connect to the VMM: %s\n", strerror(errno));
		return 1;
	}
	if (hostile)
		misbehave(fd, f, sizeof(f));
	while (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 60000) > 0) {
		if ((n = recv(fd, f, sizeof(f), 0)) < ETH_HLEN)
			break;
		if (hostile && is_flood(f, n)) {
			fprintf(stderr, "peer: the guest's flood began: reading no more\n");
			pause(); /* until the client ends (PR_SET_PDEATHSIG) */
		}
		uint16_t type = f[12] << 8 | f[13];
		size_t dhcp_len = type == 0x0800 ? answer_dhcp(f, n, sizeof(f)) : 0;
		if (dhcp_len) {
			n = dhcp_len;
		} else if ((type == 0x0806 && answer_arp(f, n)) ||
			   (type == 0x0800 && answer_echo(f, n))) {
			memcpy(f, f + 6, 6);
		} else {
			continue;
		}
		memcpy(f + 6, peer_mac, 6);
		if (send(fd, f, n, 0) < 0) {
			fprintf(stderr, "peer: cannot answer: %s\n", strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* passt on one end of a stream socket pair, as crun starts it: the other. */
static int start_passt(char *args)
{
	char *argv[32] = { "passt", "-f", "-q", "--fd" }, fd_arg[12];
	int sv[2], argc = 5;

	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0,
	      "socketpair");
	snprintf(fd_arg, sizeof(fd_arg), "%d", sv[1]);
	argv[4] = fd_arg;
	for (char *w = strtok(args, " "); w && argc < 31; w = strtok(NULL, " "))
		argv[argc++] = w;
	pid_t pid = fork();
	check(pid < 0 ? -errno : 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		fcntl(sv[1], F_SETFD, 0); /* passt's, across exec */
		execvp("passt", argv);
		fprintf(stderr, "net-client: cannot run passt: %s\n", strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (argc > 3 && !strcmp(argv[1], "--passt")) {
		int fd = start_passt(argv[2]);
		int ctx = start_ctx(argv[3], argv[4], argv + 5);
		check(krun_add_net_unixstream(ctx, NULL, fd, (uint8_t *)guest_mac,
					      COMPAT_NET_FEATURES, NET_FLAG_DHCP_CLIENT),
		      "krun_add_net_unixstream");
		check(krun_start_enter(ctx), "krun_start_enter");
		return 99;
	}
	if (argc > 5 && !strcmp(argv[1], "--tap")) {
		int ctx = start_ctx(argv[4], argv[5], argv + 6);
		check(krun_add_net_tap(ctx, argv[2], (uint8_t *)guest_mac,
				       (uint32_t)strtoul(argv[3], NULL, 0), 0), "krun_add_net_tap");
		check(krun_start_enter(ctx), "krun_start_enter");
		return 99;
	}
	bool dhcp = argc > 1 && !strcmp(argv[1], "--dhcp");
	bool hostile = argc > 1 && !strcmp(argv[1], "--hostile");

	argv += dhcp || hostile;
	argc -= dhcp || hostile;
	if (argc < 4 || strlen(argv[2]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: net-client [--dhcp|--hostile] ROOT SOCKET PROGRAM [ARG...]\n");
		return 2;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(addr.sun_path, argv[2]);
	unlink(argv[2]);
	check(fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0,
	      "binding the peer's socket");
	pid_t pid = fork();
	check(pid < 0 ? -errno : 0, "fork");
	if (pid == 0)
		return peer(fd, hostile);
	close(fd);

	int ctx = start_ctx(argv[1], argv[3], argv + 4);
	check(krun_add_net_unixgram(ctx, argv[2], -1, (uint8_t *)guest_mac, COMPAT_NET_FEATURES,
				    NET_FLAG_VFKIT | (dhcp ? NET_FLAG_DHCP_CLIENT : 0)),
	      "krun_add_net_unixgram");
	check(krun_start_enter(ctx), "krun_start_enter");
	return 99;
}
