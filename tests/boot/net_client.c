/* A libkrun.h client whose guest has one network interface over a datagram
 * socket, and, in a child process, the peer on the host's side of it: a
 * tiny stand-in for gvproxy in vfkit mode that answers ARP for 10.0.2.2 and
 * ICMP echo requests, and nothing else.
 *
 *   net-client ROOT SOCKET PROGRAM [ARG...]
 *
 * The peer binds SOCKET and waits for the VMM's "VFKT" greeting from the
 * socket the VMM binds beside it, then answers to that address. It logs to
 * stderr one line per thing it saw ("peer: ..."). The guest's eth0 gets
 * the MAC 02:4b:52:55:4e:01. The process ends with the workload's status. */
#include <arpa/inet.h>
#include <errno.h>
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

#define ETH_HLEN 14
static const uint8_t guest_mac[6] = { 0x02, 0x4b, 0x52, 0x55, 0x4e, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x4b, 0x52, 0x55, 0x4e, 0x02 };
static const uint8_t peer_ip[4] = { 10, 0, 2, 2 };

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "net-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
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
	put16(ip + 10, checksum(ip, ihl));
	ip[ihl] = 0; /* echo reply */
	put16(ip + ihl + 2, 0);
	put16(ip + ihl + 2, checksum(ip + ihl, ip_len - ihl));
	return true;
}

/* The peer: greeted, then answering until a minute passes idle. */
static int peer(int fd)
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
	while (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 60000) > 0) {
		if ((n = recv(fd, f, sizeof(f), 0)) < ETH_HLEN)
			break;
		uint16_t type = f[12] << 8 | f[13];
		if (!(type == 0x0806 && answer_arp(f, n)) && !(type == 0x0800 && answer_echo(f, n)))
			continue;
		memcpy(f, f + 6, 6);
		memcpy(f + 6, peer_mac, 6);
		if (send(fd, f, n, 0) < 0) {
			fprintf(stderr, "peer: cannot answer: %s\n", strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (argc < 4 || strlen(argv[2]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: net-client ROOT SOCKET PROGRAM [ARG...]\n");
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
		return peer(fd);
	close(fd);

	int ctx = krun_create_ctx();
	check(ctx, "krun_create_ctx");
	check(krun_set_log_level(getenv("NET_CLIENT_DEBUG") ? KRUN_LOG_LEVEL_DEBUG
							    : KRUN_LOG_LEVEL_INFO), "krun_set_log_level");
	check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
	check(krun_set_root(ctx, argv[1]), "krun_set_root");
	check(krun_set_exec(ctx, argv[3], (const char *const *)argv + 4,
			    (const char *const[]){ "PATH=/", NULL }), "krun_set_exec");
	check(krun_add_net_unixgram(ctx, argv[2], -1, (uint8_t *)guest_mac, COMPAT_NET_FEATURES,
				    NET_FLAG_VFKIT), "krun_add_net_unixgram");
	check(krun_start_enter(ctx), "krun_start_enter");
	return 99;
}
