/* The host's side of the TSI boot test (tsi-connect.sh).
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
 *   tsi-host vm ROOT PROGRAM a libkrun.h client as crun calls it, with no
 *                            network: the vsock device with
 *                            KRUN_TSI_HIJACK_INET, PROGRAM run in ROOT;
 *                            ends with the workload's status
 *
 * The server logs a line per event on stdout. */
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
#include <unistd.h>

#include <libkrun.h>

#include "tsi_test.h"
#include "vsock_data.h"

static int listen_tcp(uint16_t port, int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0) {
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
	struct pollfd p[2] = { { listen_tcp(TSI_TEST_SERVER_PORT, 16), POLLIN, 0 },
			       { listen_tcp(TSI_TEST_LOCAL_PORT, 16), POLLIN, 0 } };

	listen_tcp(TSI_TEST_SINK_PORT, 4096);

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

/* The VM as crun makes it: no network device, TSI through the vsock
 * device (krun_disable_implicit_vsock, then krun_add_vsock). */
static int vm(const char *root, const char *program)
{
	int ctx = krun_create_ctx();

	if (ctx < 0 || krun_set_log_level(KRUN_LOG_LEVEL_INFO) < 0 ||
	    krun_set_vm_config((uint32_t)ctx, 1, 256) < 0 || krun_set_root((uint32_t)ctx, root) < 0 ||
	    krun_set_exec((uint32_t)ctx, program, (const char *const[]){ NULL }, NULL) < 0 ||
	    krun_disable_implicit_vsock((uint32_t)ctx) < 0 ||
	    krun_add_vsock((uint32_t)ctx, KRUN_TSI_HIJACK_INET) < 0) {
		fprintf(stderr, "tsi-host: cannot configure the VM\n");
		return 99;
	}
	return krun_start_enter((uint32_t)ctx);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "vm"))
		return vm(argv[2], argv[3]);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "server"))
		return server();
	fprintf(stderr, "usage: tsi-host server | tsi-host vm ROOT PROGRAM\n");
	return 2;
}
