/* The host's side of the TSI boot test (tsi-connect.sh).
 *
 *   tsi-host server     on 127.0.0.1: TSI_TEST_SERVER_PORT answers "GET N"
 *                       with N bytes (vsock_data.h's stream) and "ECHO"
 *                       by summing what comes until end of file, then
 *                       saying "got N SUM"; TSI_TEST_LOCAL_PORT only
 *                       logs a connection (the guest's own listener has
 *                       that port: none must reach the host)
 *   tsi-host vmm PATH   plays the VMM's TSI endpoint until the real one
 *                       lands (branch tsi-vmm): listens at PATH, the unix
 *                       socket krun maps TSI_PORT_V1 to; per connection
 *                       reads the CONNECT request, connects on the host,
 *                       writes the reply and relays bytes both ways,
 *                       half-closes included
 *
 * Both log a line per event on stdout and run until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tsi_test.h"
#include "vsock_data.h"

/* Wire protocol version 1 (docs/tsi-design.md b.2, the kernel patch's
 * include/uapi/linux/tsi.h): the few fields this stand-in needs. To go
 * when the VMM's endpoint (src/devices/vsock/tsi_wire.h) replaces it. */
struct wire_addr {
	uint16_t family;
	uint16_t port_be;
	uint32_t flowinfo_be;
	uint8_t addr[16];
	uint32_t scope_id;
	uint32_t zero;
};
struct wire_request {
	uint16_t op, flags;
	uint32_t arg;
	struct wire_addr addr;
};
struct wire_reply {
	uint32_t error, arg;
	struct wire_addr local, peer;
};
_Static_assert(sizeof(struct wire_addr) == 32, "tsi_addr is 32 bytes");
_Static_assert(sizeof(struct wire_request) == 40, "tsi_request is 40 bytes");
_Static_assert(sizeof(struct wire_reply) == 72, "tsi_reply is 72 bytes");

static bool read_full(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (uint8_t *)buf + done, len - done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static int listen_tcp(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		printf("server: cannot listen on %u: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

/* One client of the server: a line, then GET or ECHO. */
static void serve_one(int fd)
{
	static uint8_t buf[65536];
	uint64_t state = TSI_TEST_SEED_HOST, sum = VSOCK_TEST_SUM_INIT;
	char line[64];
	size_t n = 0, total = 0;
	unsigned long want;

	while (n < sizeof(line) - 1 && read(fd, &line[n], 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	if (sscanf(line, "GET %lu", &want) == 1) {
		for (size_t done = 0; done < want; done += sizeof(buf)) {
			size_t len = want - done < sizeof(buf) ? want - done : sizeof(buf);
			vsock_test_fill(&state, buf, len);
			sum = vsock_test_sum(sum, buf, len);
			if (!vsock_test_write_all(fd, buf, len))
				break;
			total += len;
		}
		printf("server: sent %zu bytes, sum %016" PRIx64 "\n", total, sum);
	} else if (!strcmp(line, "ECHO")) {
		ssize_t got;
		while ((got = read(fd, buf, sizeof(buf))) > 0) {
			sum = vsock_test_sum(sum, buf, (size_t)got);
			total += (size_t)got;
		}
		printf("server: end of file after %zu bytes, sum %016" PRIx64 "\n", total, sum);
		n = (size_t)snprintf(line, sizeof(line), "got %zu %016" PRIx64 "\n", total, sum);
		vsock_test_write_all(fd, line, n);
	} else {
		printf("server: unknown request \"%s\"\n", line);
	}
}

static int server(void)
{
	struct pollfd p[2] = { { listen_tcp(TSI_TEST_SERVER_PORT), POLLIN, 0 },
			       { listen_tcp(TSI_TEST_LOCAL_PORT), POLLIN, 0 } };

	printf("server: listening\n");
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++) {
			struct sockaddr_in peer;
			socklen_t len = sizeof(peer);
			int fd;

			if (!(p[i].revents & POLLIN) ||
			    (fd = accept(p[i].fd, (struct sockaddr *)&peer, &len)) < 0)
				continue;
			printf("server: connection on %d from port %u\n",
			       i ? TSI_TEST_LOCAL_PORT : TSI_TEST_SERVER_PORT, ntohs(peer.sin_port));
			if (i == 0 && fork() == 0) {
				serve_one(fd);
				_exit(0);
			}
			close(fd);
		}
	}
}

static void to_wire(struct wire_addr *w, const struct sockaddr_storage *ss)
{
	memset(w, 0, sizeof(*w));
	w->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		w->port_be = sin->sin_port;
		memcpy(w->addr, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		w->port_be = sin6->sin6_port;
		memcpy(w->addr, &sin6->sin6_addr, 16);
	}
}

/* Both ways until both have ended; a side's end of file half-closes the
 * other. */
static void relay(int a, int b)
{
	static uint8_t buf[65536];
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	const int fds[2] = { a, b }; /* p[i].fd becomes -1 at i's end */
	int open = 2;

	while (open > 0 && poll(p, 2, -1) >= 0) {
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(fds[!i], SHUT_WR);
				p[i].fd = -1;
				open--;
			} else if (!vsock_test_write_all(fds[!i], buf, (size_t)n)) {
				return;
			}
		}
	}
}

static void vmm_one(int fd)
{
	struct wire_request req;
	struct wire_reply rep = { 0 };
	struct sockaddr_storage dst = { 0 }, name;
	socklen_t len = sizeof(name);
	char text[INET6_ADDRSTRLEN] = "?";
	int s;

	if (!read_full(fd, &req, sizeof(req)) || req.op != 1) {
		printf("vmm: bad request\n");
		return;
	}
	if (req.addr.family == AF_INET) {
		struct sockaddr_in *sin = (void *)&dst;
		*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = req.addr.port_be };
		memcpy(&sin->sin_addr, req.addr.addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&dst;
		*sin6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = req.addr.port_be };
		memcpy(&sin6->sin6_addr, req.addr.addr, 16);
	}
	inet_ntop(req.addr.family, req.addr.addr, text, sizeof(text));
	s = socket(dst.ss_family, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		rep.error = (uint32_t)errno;
		printf("vmm: CONNECT %s:%u: %s\n", text, ntohs(req.addr.port_be), strerror(errno));
		vsock_test_write_all(fd, &rep, sizeof(rep));
		return;
	}
	getsockname(s, (struct sockaddr *)&name, &len);
	to_wire(&rep.local, &name);
	len = sizeof(name);
	getpeername(s, (struct sockaddr *)&name, &len);
	to_wire(&rep.peer, &name);
	printf("vmm: CONNECT %s:%u: connected from port %u\n", text, ntohs(req.addr.port_be),
	       ntohs(rep.local.port_be));
	fflush(stdout);
	if (vsock_test_write_all(fd, &rep, sizeof(rep)))
		relay(fd, s);
}

static int vmm(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0) {
		printf("vmm: cannot listen at %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("vmm: listening\n");
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if (fork() == 0) {
			vmm_one(fd);
			_exit(0);
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	if (argc == 3 && !strcmp(argv[1], "vmm"))
		return vmm(argv[2]);
	fprintf(stderr, "usage: tsi-host server | tsi-host vmm PATH\n");
	return 2;
}
