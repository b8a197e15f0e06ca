/* The guest's side of the TSI boot test (static, run by the init): with
 * TSI on (/sys/module/tsi/parameters/hijack), with ordinary TCP
 * sockets fetches TSI_TEST_FETCH bytes from the host's server on
 * 127.0.0.1 (summed here and there), checks the socket's names, a
 * non-blocking connect to a closed host port, a half-close the host sees
 * and answers, an AF_INET6 socket to a v4-mapped address, a fetch from
 * the host's ::1, and that what belongs to the guest stays there: a
 * listener of its own on 127.0.0.1, an ICMP ping socket and UDP. Prints
 * what it saw; exits 0 when all went as it should. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tsi_test.h"
#include "vsock_data.h"

static int failures;

static void bad(const char *what)
{
	printf("tsiguest: FAIL %s: %s\n", what, strerror(errno));
	failures++;
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

static int connect_v4(uint16_t port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void identity(int family)
{
	int fd = socket(family, SOCK_STREAM, 0), dom = -1, proto = -1;
	socklen_t len = sizeof(int);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return bad("SO_DOMAIN/SO_PROTOCOL");
	printf("tsiguest: family %d socket: SO_DOMAIN %d SO_PROTOCOL %d\n", family, dom, proto);
	if (dom != family || proto != IPPROTO_TCP)
		failures++, printf("tsiguest: FAIL identity of a family %d socket\n", family);
	close(fd);
}

/* The fetch, and the names of its socket: the peer the host's server, the
 * local address the host socket's (the port the server saw). */
static void fetch(void)
{
	static uint8_t buf[65536];
	uint64_t sum = VSOCK_TEST_SUM_INIT;
	struct sockaddr_in me, peer;
	socklen_t len = sizeof(me);
	char req[32];
	size_t total = 0;
	ssize_t n;
	int fd = connect_v4(TSI_TEST_SERVER_PORT);

	if (fd < 0)
		return bad("connect to the host's 127.0.0.1");
	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0 ||
	    (len = sizeof(peer), getpeername(fd, (struct sockaddr *)&peer, &len)) < 0)
		return bad("getsockname/getpeername");
	printf("tsiguest: fetch socket is %s:%u", inet_ntoa(me.sin_addr), ntohs(me.sin_port));
	printf(", its peer %s:%u\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
	n = snprintf(req, sizeof(req), "GET %u\n", TSI_TEST_FETCH);
	if (!vsock_test_write_all(fd, req, (size_t)n))
		return bad("send GET");
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sum = vsock_test_sum(sum, buf, (size_t)n);
		total += (size_t)n;
	}
	if (n < 0)
		bad("read the fetch");
	printf("tsiguest: fetched %zu bytes, sum %016" PRIx64 "\n", total, sum);
	close(fd);
}

/* Returns the socket, open, for local_listener. */
static int refused(void)
{
	struct sockaddr_in a = loopback(TSI_TEST_CLOSED_PORT);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0, r;
	socklen_t len = sizeof(err);
	struct pollfd p = { fd, POLLOUT, 0 };

	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	printf("tsiguest: non-blocking connect to a closed port: %s\n", r < 0 ? strerror(errno) : "0");
	if (r == 0 || errno != EINPROGRESS) {
		bad("non-blocking connect is in progress");
		return fd;
	}
	r = poll(&p, 1, 30000);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("tsiguest: poll %d revents %#x, SO_ERROR %s\n", r, p.revents, strerror(err));
	if (r == 1 && (p.revents & POLLOUT) && err == ECONNREFUSED)
		printf("tsiguest: closed port refused\n");
	else
		failures++;
	return fd;
}

/* TSI_TEST_ECHO bytes, then SHUT_WR: the host reads its end of file and
 * still answers on the other half. */
static void half_close(void)
{
	static uint8_t buf[65536];
	uint64_t state = TSI_TEST_SEED_GUEST, sum = VSOCK_TEST_SUM_INIT;
	char answer[64] = "";
	ssize_t n, got = 0;
	int fd = connect_v4(TSI_TEST_SERVER_PORT);

	if (fd < 0 || !vsock_test_write_all(fd, "ECHO\n", 5))
		return bad("connect for the half-close");
	for (size_t done = 0; done < TSI_TEST_ECHO; done += sizeof(buf)) {
		vsock_test_fill(&state, buf, sizeof(buf));
		sum = vsock_test_sum(sum, buf, sizeof(buf));
		if (!vsock_test_write_all(fd, buf, sizeof(buf)))
			return bad("send for the half-close");
	}
	if (shutdown(fd, SHUT_WR) < 0)
		return bad("shutdown(SHUT_WR)");
	while ((n = read(fd, answer + got, sizeof(answer) - 1 - (size_t)got)) > 0)
		got += n;
	answer[got] = 0;
	printf("tsiguest: sent %u bytes, sum %016" PRIx64 ", then SHUT_WR; the host said %s",
	       TSI_TEST_ECHO, sum, answer);
	close(fd);
}

/* An AF_INET6 socket to the host's server at addr: its peer as the guest
 * sees it (::ffff:127.0.0.1 shown v4-mapped), then bytes fetched and
 * summed. */
static void inet6_fetch(const char *addr, size_t bytes)
{
	static uint8_t buf[65536];
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(TSI_TEST_SERVER_PORT) }, peer;
	socklen_t len = sizeof(peer);
	char text[INET6_ADDRSTRLEN] = "", req[32];
	uint64_t sum = VSOCK_TEST_SUM_INIT;
	size_t total = 0;
	ssize_t n;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	inet_pton(AF_INET6, addr, &a.sin6_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
		printf("tsiguest: FAIL AF_INET6 connect to %s: %s\n", addr, strerror(errno));
		failures++;
		if (fd >= 0)
			close(fd);
		return;
	}
	inet_ntop(AF_INET6, &peer.sin6_addr, text, sizeof(text));
	printf("tsiguest: AF_INET6 peer [%s]:%u\n", text, ntohs(peer.sin6_port));
	n = snprintf(req, sizeof(req), "GET %zu\n", bytes);
	vsock_test_write_all(fd, req, (size_t)n);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sum = vsock_test_sum(sum, buf, (size_t)n);
		total += (size_t)n;
	}
	printf("tsiguest: from [%s] fetched %zu bytes, sum %016" PRIx64 "\n", text, total, sum);
	close(fd);
}

/* A listener of the guest's on 127.0.0.1 is reached in the guest, also
 * by the non-blocking socket whose host connect failed: as TCP's, its next
 * connect reports ECONNABORTED (SO_ERROR took the error), the one after
 * starts afresh, here in the guest. */
static void local_listener(int failed)
{
	struct sockaddr_in a = loopback(TSI_TEST_LOCAL_PORT);
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), fd, afd, r1, e1, r2, e2, err = -1;
	socklen_t len = sizeof(err);
	struct pollfd p = { failed, POLLOUT, 0 };
	char c = 0;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0)
		return bad("listen on the guest's 127.0.0.1");
	if ((fd = connect_v4(TSI_TEST_LOCAL_PORT)) < 0 || (afd = accept(lfd, NULL, NULL)) < 0)
		return bad("connect to the guest's own listener");
	if (write(fd, "x", 1) != 1 || read(afd, &c, 1) != 1 || c != 'x')
		return bad("talk to the guest's own listener");
	printf("tsiguest: the guest's own listener answered\n");
	close(afd), close(fd);
	r1 = connect(failed, (struct sockaddr *)&a, sizeof(a)), e1 = errno;
	r2 = connect(failed, (struct sockaddr *)&a, sizeof(a)), e2 = errno;
	poll(&p, 1, 10000);
	getsockopt(failed, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("tsiguest: the failed socket again: %s, then %s, SO_ERROR %d\n",
	       r1 < 0 ? strerror(e1) : "0", r2 < 0 ? strerror(e2) : "0", err);
	if (r1 == 0 || e1 != ECONNABORTED || (r2 < 0 && e2 != EINPROGRESS) || err != 0 ||
	    (afd = accept(lfd, NULL, NULL)) < 0)
		failures++;
	else
		printf("tsiguest: the failed socket reached the guest's listener\n"), close(afd);
	close(failed), close(lfd);
}

/* Datagram sockets are not TSI's yet: a ping and a UDP datagram to the
 * guest's own loopback are answered by the guest's stack. */
static void untouched(void)
{
	struct sockaddr_in a = loopback(0), b;
	struct icmphdr echo = { .type = ICMP_ECHO, .un.echo.sequence = htons(1) };
	socklen_t len = sizeof(b);
	char buf[64];
	int proto = -1, fd;

	write_file("/proc/sys/net/ipv4/ping_group_range", "0 0");
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len);
	if (fd < 0 || proto != IPPROTO_ICMP ||
	    sendto(fd, &echo, sizeof(echo), 0, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    recv(fd, buf, sizeof(buf), 0) < (ssize_t)sizeof(echo) || buf[0] != ICMP_ECHOREPLY)
		return bad("ping 127.0.0.1 with a ping socket");
	printf("tsiguest: the ping socket was answered by the guest\n");
	close(fd);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	len = sizeof(b);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&b, &len) < 0 ||
	    sendto(fd, "u", 1, 0, (struct sockaddr *)&b, len) != 1 ||
	    recv(fd, buf, sizeof(buf), 0) != 1 || buf[0] != 'u')
		return bad("UDP to itself on 127.0.0.1");
	printf("tsiguest: UDP stayed in the guest\n");
	close(fd);
}

/* The VMM puts tsi.hijack=inet on the kernel's command line; without it
 * (another VMM), the guest turns TSI on itself, if may_turn_on. */
static void hijack(bool may_turn_on)
{
	char mode[32] = "";
	int fd = open("/sys/module/tsi/parameters/hijack", O_RDONLY);

	if (fd < 0 || read(fd, mode, sizeof(mode) - 1) < 0)
		return bad("read tsi.hijack");
	close(fd);
	printf("tsiguest: tsi.hijack is %s", mode);
	if (strcmp(mode, "inet\n") &&
	    (!may_turn_on || !write_file("/sys/module/tsi/parameters/hijack", "inet")))
		bad("turn TSI on");
}

int main(int argc, char **argv)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* "implicit": a VM with no network interface, whose implicit vsock
	 * device carries TSI as libkrun's does: the switch as the VMM set
	 * it, and the fetch. */
	if (argc == 2 && strcmp(argv[1], "implicit") == 0) {
		hijack(false);
		fetch();
		printf("tsiguest: %d failures\n", failures);
		return failures ? 1 : 0;
	}
	hijack(true);
	identity(AF_INET);
	identity(AF_INET6);
	fetch();
	fd = refused();
	half_close();
	inet6_fetch("::ffff:127.0.0.1", 0);
	inet6_fetch("::1", TSI_TEST_ECHO);
	local_listener(fd);
	untouched();
	printf("tsiguest: %d failures\n", failures);
	return failures ? 1 : 0;
}
