/* The host's side of the TSI boot tests (tsi-connect.sh, tsi-listen.sh,
 * tsi-udp.sh).
 *
 *   tsi-host server          on 127.0.0.1: TSI_TEST_SERVER_PORT answers
 *                            "GET N" with N bytes (vsock_data.h's stream)
 *                            and "ECHO" by summing what comes until end of
 *                            file, then saying "got N SUM";
 *                            TSI_TEST_LOCAL_PORT only logs a connection
 *                            (the guest's own listener has that port: none
 *                            must reach the host); TSI_TEST_SINK_PORT
 *                            listens with a long backlog and never
 *                            accepts (the hostile guest's many streams).
 *                            Runs until killed.
 *   tsi-host vm ROOT PROGRAM [H:G[/udp]...]
 *                            a libkrun.h client as crun calls it, with no
 *                            network: the vsock device with
 *                            KRUN_TSI_HIJACK_INET, PROGRAM run in ROOT,
 *                            the port map if given; ends with the
 *                            workload's status
 *   tsi-host client ROOT     the host clients of tsilisten.c's servers,
 *                            each phase once the guest made its file in
 *                            ROOT (see there)
 *   tsi-host udp-echo        tsiudp.c's echo on the host's 127.0.0.1
 *   tsi-host udp-client ROOT the client of tsiudp.c's published socket
 *
 * The server logs a line per event on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libkrun.h>

#include "tsi_test.h"
#include "vsock_data.h"

/* A listener on the host's loopback: 127.0.0.1, or ::1 (v6 only) for AF_INET6. */
static int listen_tcp(int family, uint16_t port, int backlog)
{
	struct sockaddr_storage a = { 0 };
	socklen_t len = sizeof(struct sockaddr_in);
	int one = 1, fd = socket(family, SOCK_STREAM, 0);

	if (family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
		*a6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(port),
					     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		len = sizeof(*a6);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		*(struct sockaddr_in *)&a = (struct sockaddr_in){
			.sin_family = AF_INET, .sin_port = htons(port),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, backlog) < 0) {
		printf("server: cannot listen on %s port %u: %s\n",
		       family == AF_INET6 ? "::1" : "127.0.0.1", port, strerror(errno));
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
	/* the server on 127.0.0.1 and on ::1, then the local port's */
	struct pollfd p[3] = { { listen_tcp(AF_INET, TSI_TEST_SERVER_PORT, 16), POLLIN, 0 },
			       { listen_tcp(AF_INET6, TSI_TEST_SERVER_PORT, 16), POLLIN, 0 },
			       { listen_tcp(AF_INET, TSI_TEST_LOCAL_PORT, 16), POLLIN, 0 } };

	listen_tcp(AF_INET, TSI_TEST_SINK_PORT, 4096);

	printf("server: listening\n");
	for (;;) {
		if (poll(p, 3, -1) < 0)
			continue;
		for (int i = 0; i < 3; i++) {
			struct sockaddr_in6 peer; /* the port is where sockaddr_in has it */
			socklen_t len = sizeof(peer);
			int fd;

			if (!(p[i].revents & POLLIN) ||
			    (fd = accept(p[i].fd, (struct sockaddr *)&peer, &len)) < 0)
				continue;
			printf("server: connection on %d from port %u\n",
			       i == 2 ? TSI_TEST_LOCAL_PORT : TSI_TEST_SERVER_PORT,
			       ntohs(peer.sin6_port));
			if (i < 2 && fork() == 0) {
				serve_one(fd);
				_exit(0);
			}
			close(fd);
		}
	}
}

/* The VM as crun makes it: no network device, TSI through the vsock
 * device (krun_disable_implicit_vsock, then krun_add_vsock), the port map
 * if one is given. */
static int vm(const char *root, const char *program, char **map)
{
	int ctx = krun_create_ctx();

	if (ctx < 0 || krun_set_log_level(KRUN_LOG_LEVEL_INFO) < 0 ||
	    (map[0] && krun_set_port_map((uint32_t)ctx, (const char *const *)map) < 0) ||
	    krun_set_vm_config((uint32_t)ctx, 1, 256) < 0 || krun_set_root((uint32_t)ctx, root) < 0 ||
	    krun_set_exec((uint32_t)ctx, program, (const char *const[]){ NULL }, NULL) < 0 ||
	    krun_disable_implicit_vsock((uint32_t)ctx) < 0 ||
	    krun_add_vsock((uint32_t)ctx, KRUN_TSI_HIJACK_INET) < 0) {
		fprintf(stderr, "tsi-host: cannot configure the VM\n");
		return 99;
	}
	return krun_start_enter((uint32_t)ctx);
}

/* The host clients of tsi-listen (tsi-host client ROOT). */
static int client_failures;

static void client_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("client: FAIL ");
	vprintf(fmt, ap);
	printf(": %s\n", strerror(errno));
	va_end(ap);
	client_failures++;
}

/* Waits up to 300 s for the guest's file ROOT/NAME. */
static bool await_file(const char *root, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	for (int i = 0; i < 3000; i++) {
		if (stat(path, &st) == 0)
			return true;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	printf("client: the guest never made %s\n", name);
	return false;
}

/* tsilisten.c's phase N (its file tsi-listen-N). */
static bool await_phase(const char *root, int n)
{
	char name[32];

	snprintf(name, sizeof(name), "tsi-listen-%d", n);
	return await_file(root, name);
}

/* Whether the host's /proc/net/tcp or tcp6 has a listener on port. */
static bool host_listens(unsigned port)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char line[512], local[128], st[8];
	bool found = false;

	for (size_t t = 0; t < 2 && !found; t++) {
		FILE *f = fopen(tables[t], "r");
		while (f && !found && fgets(line, sizeof(line), f)) {
			char *colon;
			if (sscanf(line, "%*s %127s %*s %7s", local, st) != 2 ||
			    !(colon = strrchr(local, ':')))
				continue;
			found = strtoul(colon + 1, NULL, 16) == port && !strcmp(st, "0A");
		}
		if (f)
			fclose(f);
	}
	return found;
}

static int connect_host(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static bool client_line(int fd, char *line, size_t size)
{
	size_t n = 0;

	while (n < size - 1 && read(fd, &line[n], 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	return n > 0;
}

/* Phase 1: nothing of the unmapped listener on the host; the published
 * one gets TSI_TEST_ECHO bytes each way. */
static void first_client(void)
{
	static uint8_t buf[65536];
	uint64_t state = TSI_TEST_SEED_HOST, sum = VSOCK_TEST_SUM_INIT;
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	size_t total = 0;
	char line[64];
	ssize_t n;
	int fd = connect_host(TSI_TEST_UNMAPPED_PORT);

	printf("client: unmapped port %u: %s, %s in /proc/net/tcp\n", TSI_TEST_UNMAPPED_PORT,
	       fd < 0 ? strerror(errno) : "connected",
	       host_listens(TSI_TEST_UNMAPPED_PORT) ? "a listener" : "no listener");
	printf("client: published port %u: %s in /proc/net/tcp\n", TSI_TEST_HOST_PORT,
	       host_listens(TSI_TEST_HOST_PORT) ? "a listener" : "no listener");
	if (fd >= 0)
		close(fd);
	fd = connect_host(TSI_TEST_HOST_PORT);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		return client_fail("connect to the published port");
	printf("client: connected from port %u\n", ntohs(me.sin_port));
	n = snprintf(line, sizeof(line), "SEND %u\n", TSI_TEST_ECHO);
	if (!vsock_test_write_all(fd, line, (size_t)n))
		return client_fail("send the request");
	for (size_t done = 0; done < TSI_TEST_ECHO; done += sizeof(buf)) {
		vsock_test_fill(&state, buf, sizeof(buf));
		sum = vsock_test_sum(sum, buf, sizeof(buf));
		if (!vsock_test_write_all(fd, buf, sizeof(buf)))
			return client_fail("send to the guest");
	}
	printf("client: sent %u bytes, sum %016" PRIx64 "\n", TSI_TEST_ECHO, sum);
	if (!client_line(fd, line, sizeof(line)))
		return client_fail("read the guest's answer");
	printf("client: the guest said %s\n", line);
	sum = VSOCK_TEST_SUM_INIT;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sum = vsock_test_sum(sum, buf, (size_t)n);
		total += (size_t)n;
	}
	printf("client: received %zu bytes, sum %016" PRIx64 "\n", total, sum);
	close(fd);
}

/* Phases 2 and 3: count clients at once, each says "hello I" once all
 * are connected, then each answer is read. */
static void hello_clients(int count)
{
	int fds[TSI_TEST_CLIENTS], answered = 0;
	char line[32];

	for (int i = 0; i < count; i++) {
		if ((fds[i] = connect_host(TSI_TEST_HOST_PORT)) < 0) {
			client_fail("connect client %d", i);
			count = i;
		}
	}
	for (int i = 0; i < count; i++) {
		int n = snprintf(line, sizeof(line), "hello %d\n", i);
		vsock_test_write_all(fds[i], line, (size_t)n);
	}
	for (int i = 0; i < count; i++) {
		unsigned got;
		if (client_line(fds[i], line, sizeof(line)) && sscanf(line, "hi %u", &got) == 1 &&
		    got == (unsigned)i)
			answered++;
		close(fds[i]);
	}
	printf("client: %d of %d clients answered\n", answered, count);
}

static int client(const char *root)
{
	if (!await_phase(root, 1))
		return 1;
	first_client();
	if (!await_phase(root, 2))
		return 1;
	hello_clients(1);
	if (!await_phase(root, 3))
		return 1;
	hello_clients(TSI_TEST_CLIENTS);
	return client_failures ? 1 : 0;
}

/* tsi-udp's host side: the echo (tsi-host udp-echo: every datagram on
 * 127.0.0.1:TSI_TEST_UDP_ECHO_PORT back to its sender, until killed) and
 * the published port's client (tsi-host udp-client ROOT). */
static int udp_echo(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TSI_TEST_UDP_ECHO_PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, from;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[65536];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("udp-echo: cannot bind: %s\n", strerror(errno));
		return 1;
	}
	printf("udp-echo: listening\n");
	for (;;) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			continue;
		printf("udp-echo: %zd bytes from port %u\n", n, ntohs(from.sin_port));
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static int udp_client(const char *root)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TSI_TEST_UDP_HOST_PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, from;
	socklen_t len = sizeof(from);
	struct pollfd p = { socket(AF_INET, SOCK_DGRAM, 0), POLLIN, 0 };
	char buf[64];
	ssize_t n;

	if (!await_file(root, "tsi-udp-1"))
		return 1;
	if (sendto(p.fd, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5 ||
	    poll(&p, 1, 30000) != 1 ||
	    (n = recvfrom(p.fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &len)) < 0) {
		printf("udp-client: no answer from the published port: %s\n", strerror(errno));
		return 1;
	}
	buf[n] = 0;
	printf("udp-client: \"%s\" from %s:%u\n", buf, inet_ntoa(from.sin_addr), ntohs(from.sin_port));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "vm"))
		return vm(argv[2], argv[3], argv + 4);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	if (argc == 3 && !strcmp(argv[1], "client"))
		return client(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "udp-echo"))
		return udp_echo();
	if (argc == 3 && !strcmp(argv[1], "udp-client"))
		return udp_client(argv[2]);
	fprintf(stderr, "usage: tsi-host server | vm ROOT PROGRAM [H:G...] | client ROOT | "
			"udp-echo | udp-client ROOT\n");
	return 2;
}
