/* The guest's side of the TSI listen boot test (tsi-listen.sh; static, run
 * by the init, TSI on as the VMM set it): a server on TSI_TEST_GUEST_PORT,
 * published by the port map as TSI_TEST_HOST_PORT, and a listener on
 * TSI_TEST_UNMAPPED_PORT that the host must not see. Checks a
 * non-blocking accept4 with nothing pending (EAGAIN), that the guest
 * reaches its own server on 127.0.0.1, poll's POLLIN for a host client,
 * the accepted socket's names, data both ways with sums, close and listen
 * again, a second listen() on a published listener, and TSI_TEST_CLIENTS
 * host clients held at once. The host's side (tsi_host.c client) waits for
 * a file this program makes in its root (the VMM's shared directory)
 * before each phase. Prints what it saw; exits 0 when all went as it
 * should. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
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
	printf("tsilisten: FAIL %s: %s\n", what, strerror(errno));
	failures++;
}

/* Tells the host's side that the next phase may start. */
static void phase(int n)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/tsi-listen-%d", n);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return bad("make the phase file");
	close(fd);
	printf("tsilisten: phase %d\n", n);
}

static int listen_on(uint16_t port, int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0) {
		bad("listen");
		exit(1);
	}
	return fd;
}

/* A line of at most size - 1 bytes, without its newline. */
static bool read_line(int fd, char *line, size_t size)
{
	size_t n = 0;

	while (n < size - 1 && read(fd, &line[n], 1) == 1) {
		if (line[n] == '\n') {
			line[n] = 0;
			return true;
		}
		n++;
	}
	return false;
}

static const char *name(const struct sockaddr_in *a)
{
	static char text[2][32];
	static int i;

	i ^= 1;
	snprintf(text[i], sizeof(text[i]), "%s:%u", inet_ntoa(a->sin_addr), ntohs(a->sin_port));
	return text[i];
}

/* The guest's own client on 127.0.0.1 reaches the published server in
 * the guest; a non-blocking accept4 before that finds nothing. */
static void local_client(int lfd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TSI_TEST_GUEST_PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, peer;
	socklen_t len = sizeof(peer);
	int fd, afd;
	char c = 0;

	/* the listener's O_NONBLOCK makes accept4 non-blocking (SOCK_NONBLOCK
	 * is the new socket's) */
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	printf("tsilisten: accept4 with nothing pending: %s\n", afd < 0 ? strerror(errno) : "a socket");
	if (afd >= 0 || errno != EAGAIN)
		failures++;
	fcntl(lfd, F_SETFL, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (afd = accept(lfd, (struct sockaddr *)&peer, &len)) < 0)
		return bad("connect to the guest's own server on 127.0.0.1");
	if (write(fd, "x", 1) != 1 || read(afd, &c, 1) != 1 || c != 'x')
		return bad("talk to the guest's own server");
	printf("tsilisten: the guest reached its own server from %s\n", name(&peer));
	close(afd), close(fd);
}

/* The first host client: poll sees it, accept gives its names; it sends
 * "SEND N" and N bytes, hears "got N SUM", then TSI_TEST_ECHO bytes. */
static void host_client(int lfd)
{
	static uint8_t buf[65536];
	struct sockaddr_in me, peer;
	socklen_t len = sizeof(peer);
	struct pollfd p = { lfd, POLLIN, 0 };
	uint64_t sum = VSOCK_TEST_SUM_INIT, state = TSI_TEST_SEED_GUEST;
	unsigned long want;
	size_t total = 0;
	char line[64];
	int r, afd, n;

	r = poll(&p, 1, 240000);
	printf("tsilisten: poll on the listener: %d, revents %#x\n", r, p.revents);
	if (r != 1 || !(p.revents & POLLIN))
		failures++;
	afd = accept(lfd, (struct sockaddr *)&peer, &len);
	len = sizeof(me);
	if (afd < 0 || getsockname(afd, (struct sockaddr *)&me, &len) < 0)
		return bad("accept the host client");
	printf("tsilisten: accepted a host client from %s, its socket %s\n", name(&peer), name(&me));
	if (!read_line(afd, line, sizeof(line)) || sscanf(line, "SEND %lu", &want) != 1)
		return bad("read the host client's request");
	while (total < want && (n = (int)read(afd, buf, sizeof(buf))) > 0) {
		sum = vsock_test_sum(sum, buf, (size_t)n);
		total += (size_t)n;
	}
	printf("tsilisten: received %zu bytes, sum %016" PRIx64 "\n", total, sum);
	n = snprintf(line, sizeof(line), "got %zu %016" PRIx64 "\n", total, sum);
	if (!vsock_test_write_all(afd, line, (size_t)n))
		return bad("answer the host client");
	sum = VSOCK_TEST_SUM_INIT;
	for (size_t done = 0; done < TSI_TEST_ECHO; done += sizeof(buf)) {
		vsock_test_fill(&state, buf, sizeof(buf));
		sum = vsock_test_sum(sum, buf, sizeof(buf));
		if (!vsock_test_write_all(afd, buf, sizeof(buf)))
			return bad("send to the host client");
	}
	printf("tsilisten: sent %u bytes, sum %016" PRIx64 "\n", TSI_TEST_ECHO, sum);
	close(afd);
}

/* One host client's line answered: "hello I" -> "hi I". */
static bool answer(int afd)
{
	char line[32], reply[40];
	unsigned i;
	int n;

	if (!read_line(afd, line, sizeof(line)) || sscanf(line, "hello %u", &i) != 1)
		return false;
	n = snprintf(reply, sizeof(reply), "hi %u\n", i);
	return vsock_test_write_all(afd, reply, (size_t)n);
}

/* TSI_TEST_CLIENTS host clients, all accepted before any is answered. */
static void many_clients(int lfd)
{
	int fds[TSI_TEST_CLIENTS], answered = 0;

	for (int i = 0; i < TSI_TEST_CLIENTS; i++) {
		if ((fds[i] = accept(lfd, NULL, NULL)) < 0)
			return bad("accept one of many host clients");
	}
	printf("tsilisten: %d host clients accepted\n", TSI_TEST_CLIENTS);
	for (int i = 0; i < TSI_TEST_CLIENTS; i++) {
		answered += answer(fds[i]);
		close(fds[i]);
	}
	printf("tsilisten: answered %d of %d host clients\n", answered, TSI_TEST_CLIENTS);
	if (answered != TSI_TEST_CLIENTS)
		failures++;
}

int main(void)
{
	char mode[32] = "";
	int fd = open("/sys/module/tsi/parameters/hijack", O_RDONLY), lfd, ufd, afd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0 || read(fd, mode, sizeof(mode) - 1) < 0)
		bad("read tsi.hijack");
	printf("tsilisten: tsi.hijack is %s", mode);
	close(fd);

	lfd = listen_on(TSI_TEST_GUEST_PORT, 64);
	local_client(lfd);
	ufd = listen_on(TSI_TEST_UNMAPPED_PORT, 4);
	phase(1);
	host_client(lfd);

	/* Closed, the listener's host port stops listening; a new listener
	 * on the same port is published again. */
	close(lfd);
	lfd = listen_on(TSI_TEST_GUEST_PORT, 64);
	phase(2);
	if ((afd = accept(lfd, NULL, NULL)) < 0 || !answer(afd))
		bad("answer a host client after listening again");
	else
		printf("tsilisten: reachable again after close and listen\n");
	close(afd);

	/* A second listen() changes the backlog only (the VMM counts one
	 * LISTEN per listener). */
	if (listen(lfd, 128) < 0)
		bad("listen again on a listening socket");
	phase(3);
	many_clients(lfd);
	close(lfd), close(ufd);
	printf("tsilisten: %d failures\n", failures);
	return failures ? 1 : 0;
}
