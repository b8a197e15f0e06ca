/* netbench: the guest's side of bench/net.sh, the same static program in
 * our VMM (the krun tool's workload) and in QEMU microvm (its initramfs's
 * /init, so PID 1 there: it makes its own console and powers off at the
 * end). It addresses eth0 itself, statically, as PROFILE says, then runs,
 * against bench/netbench_host.c on the host's side (netbench.h), one
 * transfer of MIB MiB each way, ROUNDS one-byte round trips on one
 * connection and CONNECTS connections each closed by the host at once. It
 * times the last two itself (the host times the transfers) and prints one
 * line each.
 *
 *   netbench PROFILE MIB ROUNDS CONNECTS
 *
 * PROFILE: user (eth0 10.0.2.15/24, the host's loopback at 10.0.2.2, as
 * libslirp and our stack give it), passt (10.0.0.1/24, the host's address
 * in the bench's namespace as passt gives it, the gateway 10.0.0.2 being
 * passt's way to the host's loopback; MTU 65520, what passt's DHCP gives),
 * tap (10.0.3.2/24, the tap's host side 10.0.3.1); MTU 1500 but for passt. All words without dots: the kernel drops command line
 * words with a dot, taking them for module parameters. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest_main.h"
#include "netbench.h"

static const struct {
	const char *name, *addr, *server;
	int mtu;
} profiles[] = {
	{ "user", "10.0.2.15", "10.0.2.2", 1500 },
	{ "passt", "10.0.0.1", "10.0.0.2", 65520 },
	{ "tap", "10.0.3.2", "10.0.3.1", 1500 },
};

const char bench_name[] = "netbench";
static struct sockaddr_in server = { .sin_family = AF_INET };

/* NAME up, with ADDR/24 and MTU when an address is given. */
static int bring_up(int s, const char *name, const char *addr, int mtu)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	sin->sin_family = AF_INET;
	if (addr) {
		inet_pton(AF_INET, addr, &sin->sin_addr);
		if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
			return bench_fail("cannot address eth0");
		inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
		if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
			return bench_fail("cannot set eth0's netmask");
		ifr.ifr_mtu = mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			return bench_fail("cannot set eth0's MTU");
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return bench_fail("cannot read an interface's flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return bench_fail("cannot bring an interface up");
	return 0;
}

static int write_all(int s, const void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = write(s, (const char *)p + done, n - done);
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* A connection to the host's server, its header sent: the socket, or -1. */
static int open_op(char op, uint64_t count)
{
	uint8_t header[NETBENCH_HEADER] = { (uint8_t)op };
	uint64_t be = htobe64(count);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	memcpy(header + 1, &be, sizeof(be));
	if (s < 0 || connect(s, (struct sockaddr *)&server, sizeof(server)) < 0 ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    write_all(s, header, sizeof(header)) < 0) {
		bench_fail("cannot open a connection to the host's server");
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/* One byte from s, as the end of an operation: 0, or -1. */
static int await_byte(int s)
{
	char c;
	return read(s, &c, 1) == 1 ? 0 : -1;
}

static int to_host(uint64_t bytes)
{
	static char buf[65536];
	int s = open_op('W', bytes);

	if (s < 0)
		return 1;
	for (uint64_t left = bytes; left > 0;) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		if (write_all(s, buf, n) < 0)
			return bench_fail("cannot send to the host");
		left -= n;
	}
	if (await_byte(s) < 0)
		return bench_fail("no answer from the host after sending");
	close(s);
	return 0;
}

static int from_host(uint64_t bytes)
{
	static char buf[65536];
	int s = open_op('R', bytes);

	if (s < 0)
		return 1;
	for (uint64_t left = bytes; left > 0;) {
		ssize_t n = read(s, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n <= 0)
			return bench_fail("the host's data stopped short");
		left -= (uint64_t)n;
	}
	if (write_all(s, "", 1) < 0)
		return bench_fail("cannot answer the host");
	close(s);
	return 0;
}

static int round_trips(unsigned int rounds)
{
	int s = open_op('P', rounds);
	char c = 'x';

	if (s < 0)
		return 1;
	double start = bench_now();
	for (unsigned int i = 0; i < rounds; i++)
		if (write_all(s, &c, 1) < 0 || read(s, &c, 1) != 1)
			return bench_fail("a round trip broke");
	printf("netbench: request/response %u x 1 byte on one connection: %.0f us each\n", rounds,
	       (bench_now() - start) * 1e6 / rounds);
	close(s);
	return 0;
}

static int connects(unsigned int count)
{
	int s = open_op('C', count);

	if (s < 0 || await_byte(s) < 0)
		return bench_fail("the host did not take the connect test");
	close(s);
	double start = bench_now();
	for (unsigned int i = 0; i < count; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char byte;
		if (c < 0 || connect(c, (struct sockaddr *)&server, sizeof(server)) < 0 ||
		    read(c, &byte, 1) != 0)
			return bench_fail("a connection failed");
		close(c);
	}
	printf("netbench: connect, host's close seen, close: %u connections: %.0f us each\n",
	       count, (bench_now() - start) * 1e6 / count);
	return 0;
}

int bench_run(int argc, char **argv)
{
	const char *addr = NULL, *server_addr = NULL;
	int mtu = 0;

	if (argc != 5) {
		printf("usage: netbench user|passt|tap MIB ROUNDS CONNECTS\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(argv[1], profiles[i].name) == 0) {
			addr = profiles[i].addr;
			server_addr = profiles[i].server;
			mtu = profiles[i].mtu;
			inet_pton(AF_INET, profiles[i].server, &server.sin_addr);
			server.sin_port = htons(NETBENCH_PORT);
		}
	}
	uint64_t bytes = strtoull(argv[2], NULL, 10) << 20;
	unsigned int rounds = (unsigned int)strtoul(argv[3], NULL, 10);
	unsigned int count = (unsigned int)strtoul(argv[4], NULL, 10);
	if (!addr || bytes == 0 || bytes > NETBENCH_MAX_BYTES || rounds == 0 || count == 0) {
		printf("netbench: want user|passt|tap, then MiB (up to 16384), rounds and "
		       "connections, all above 0\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "eth0" };
	if (s < 0)
		return bench_fail("no socket");
	if (bring_up(s, "lo", NULL, 0) || bring_up(s, "eth0", addr, mtu))
		return 1;
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		return bench_fail("cannot read eth0's MTU");
	close(s);
	printf("netbench: eth0 %s/24 (static), MTU %d, the host's server at %s:%u\n", addr,
	       ifr.ifr_mtu, server_addr, NETBENCH_PORT);
	if (to_host(bytes) || from_host(bytes) || round_trips(rounds) || connects(count))
		return 1;
	printf("netbench: done\n");
	return 0;
}
