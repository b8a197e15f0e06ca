/* The guest's side of the vsock boot test (static, run by the init): an
 * echo and a 16 MiB transfer each way, checksummed at both ends, over a
 * connection to the host (CID 2) at the mapped port; then a listener on
 * the listening port, which the host reaches through the VMM's unix
 * socket; then a connection to an unmapped port, refused at once. Prints
 * what it saw; exits 0 when all went as it should. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "vsock_data.h"

static int failures;

static void bad(const char *what)
{
	printf("vsockguest: FAIL %s: %s\n", what, strerror(errno));
	failures++;
}

static int connect_host(unsigned int port)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				    .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static bool read_all(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = read(fd, (uint8_t *)buf + done, len - done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static void echo(void)
{
	char line[6];
	int fd = connect_host(VSOCK_TEST_CONNECT_PORT);

	if (fd < 0)
		return bad("connect to the mapped port");
	if (!vsock_test_write_all(fd, "hello\n", 6) || !read_all(fd, line, 6) || memcmp(line, "hello\n", 6))
		return bad("echo");
	printf("vsockguest: echo answered\n");
	close(fd);
}

/* 16 MiB to the host, its sum printed; then the host's 16 MiB, summed. */
static void bulk(void)
{
	static uint8_t buf[65536];
	uint64_t state = 1, sum = VSOCK_TEST_SUM_INIT;
	int fd = connect_host(VSOCK_TEST_CONNECT_PORT);

	if (fd < 0)
		return bad("connect for the transfer");
	for (size_t done = 0; done < VSOCK_TEST_BULK; done += sizeof(buf)) {
		vsock_test_fill(&state, buf, sizeof(buf));
		sum = vsock_test_sum(sum, buf, sizeof(buf));
		if (!vsock_test_write_all(fd, buf, sizeof(buf)))
			return bad("send the transfer");
	}
	shutdown(fd, SHUT_WR);
	printf("vsockguest: sent %u bytes, sum %016llx\n", VSOCK_TEST_BULK,
	       (unsigned long long)sum);
	size_t got = 0;
	sum = VSOCK_TEST_SUM_INIT;
	for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0; got += (size_t)n)
		sum = vsock_test_sum(sum, buf, (size_t)n);
	printf("vsockguest: received %zu bytes, sum %016llx\n", got, (unsigned long long)sum);
	close(fd);
}

/* One host connection through the VMM's listening socket: ping, pong. */
static void serve(void)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				    .svm_port = VSOCK_TEST_LISTEN_PORT };
	char word[4];
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0), conn;

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0)
		return bad("listen");
	printf("vsockguest: listening on %u\n", VSOCK_TEST_LISTEN_PORT);
	fflush(stdout);
	if ((conn = accept(fd, NULL, NULL)) < 0)
		return bad("accept");
	if (!read_all(conn, word, 4) || memcmp(word, "ping", 4) || !vsock_test_write_all(conn, "pong", 4))
		return bad("ping-pong");
	printf("vsockguest: the host's connection said ping\n");
	close(conn);
	close(fd);
}

static void unmapped(void)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = connect_host(VSOCK_TEST_UNMAPPED_PORT);
	int err = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (fd >= 0) {
		printf("vsockguest: FAIL the unmapped port accepted\n");
		failures++;
		return;
	}
	printf("vsockguest: unmapped port: %s after %.2f s\n",
	       err == ECONNRESET ? "ECONNRESET" : err == ECONNREFUSED ? "ECONNREFUSED" : strerror(err),
	       s);
	if ((err != ECONNRESET && err != ECONNREFUSED) || s > 2.0)
		failures++;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	echo();
	bulk();
	serve();
	unmapped();
	printf("vsockguest: %s\n", failures ? "failed" : "done");
	return failures ? 1 : 0;
}
