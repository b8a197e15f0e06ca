// SPDX-License-Identifier: Apache-2.0
/*
 * tsihostile: a guest that speaks TSI's wire itself (raw AF_VSOCK streams
 * to the VMM's TSI port, as a hostile guest kernel would) and tries to wear
 * the VMM's TSI endpoint down; run by tests/boot/tsi-hostile.sh with TSI on
 * (the krun tool with no network option) and tsi_host.c's server on the
 * host's 127.0.0.1. Groups:
 *   malformed  requests the VMM must reset: an unknown op, padding that is
 *              not zero, a UNIX path longer than sun_path; none is answered
 *   split      a CONNECT request a byte per packet: answered, and its
 *              stream carries a fetch
 *   deadline   a request that stops half way: reset by the VMM's deadline
 *              (10 s), not before 5 s
 *   guess      ACCEPT with an id the VMM never gave: no stream results
 *   streams    STREAMS streams at once, each a CONNECT to the host's sink
 *              (a listener that never accepts): the VMM answers as many as
 *              its connection bound allows and refuses the rest; the host
 *              counts the VMM's fds while they are held and after
 *   never-read a fetch of 256 MiB the guest does not read for a while: the
 *              host reads the VMM's memory meanwhile, and a second fetch
 *              through an ordinary (TSI) socket still gets all its bytes
 * Output is TAP-like (tap.h); exit status 0 only when every check passed.
 *
 * Talks to the script through names in the root (the script polls for
 * them): /.streams-held and /.streams-closed, /.never-read: answered with
 * the same name and "-done" once the host read the VMM's use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/vsock/tsi_wire.h"
#include "tap.h"
#include "tsi_test.h"
#include "vsock_data.h"

#define STREAMS 1500
#define HOST_ANSWER_S 60

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A vsock stream to the VMM's TSI endpoint: the fd, or -errno. */
static int tsi_stream(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				 .svm_port = TSI_PORT_V1 };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static struct tsi_request connect_request(uint16_t port)
{
	struct tsi_request r = { .op = TSI_OP_CONNECT };

	r.addr.family = AF_INET;
	r.addr.port = htons(port);
	memcpy(r.addr.addr, &(uint32_t){ htonl(INADDR_LOOPBACK) }, 4);
	return r;
}

/* Read len bytes within secs: len, 0 at the stream's end (a reset reads as
 * one in the guest), or -errno (-ETIMEDOUT when nothing came in time). */
static ssize_t read_within(int fd, void *buf, size_t len, double secs)
{
	size_t got = 0;
	double end = now_s() + secs;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left_ms = (int)((end - now_s()) * 1000);
		ssize_t n;

		if (left_ms <= 0 || poll(&p, 1, left_ms) == 0)
			return -ETIMEDOUT;
		if ((n = read(fd, (char *)buf + got, len - got)) < 0)
			return errno == ECONNRESET ? 0 : -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Send what, then expect the VMM to end the stream without a reply. */
static void expect_reset(const char *name, const void *what, size_t len)
{
	struct tsi_reply reply;
	int fd = tsi_stream();
	ssize_t n;

	if (fd < 0) {
		result(false, name, "no stream: %s", errname(-fd));
		return;
	}
	n = write(fd, what, len) == (ssize_t)len ? read_within(fd, &reply, sizeof(reply), 5) : -errno;
	result(n == 0, name, "wanted the stream reset, got %zd (%s)", n, n < 0 ? errname((int)-n) : "");
	close(fd);
}

static void malformed(void)
{
	struct tsi_request unknown = connect_request(TSI_TEST_SERVER_PORT);
	struct tsi_request padded = connect_request(TSI_TEST_SERVER_PORT);
	struct {
		struct tsi_request r;
		char path[200];
	} long_path = { .r = { .op = TSI_OP_UNIX, .arg = 200 } };

	unknown.op = 99;
	padded.addr.zero = 1;
	memset(long_path.path, 'a', sizeof(long_path.path));
	expect_reset("an unknown op is reset", &unknown, sizeof(unknown));
	expect_reset("padding that is not zero is reset", &padded, sizeof(padded));
	expect_reset("a UNIX path past sun_path is reset", &long_path, sizeof(long_path));
}

/* GET bytes on fd, whose reply came: the stream's bytes summed, or why not. */
static void fetch_on(const char *name, int fd, size_t bytes)
{
	static uint8_t buf[65536], want[65536];
	uint64_t state = TSI_TEST_SEED_HOST;
	char req[32];
	size_t got = 0;
	int n = snprintf(req, sizeof(req), "GET %zu\n", bytes);

	if (!vsock_test_write_all(fd, req, (size_t)n)) {
		result(false, name, "cannot send GET: %s", errname(errno));
		return;
	}
	while (got < bytes) {
		ssize_t k = read_within(fd, buf, bytes - got < sizeof(buf) ? bytes - got : sizeof(buf),
					HOST_ANSWER_S);
		if (k <= 0)
			break;
		vsock_test_fill(&state, want, (size_t)k);
		if (memcmp(buf, want, (size_t)k)) {
			result(false, name, "wrong bytes at %zu", got);
			return;
		}
		got += (size_t)k;
	}
	result(got == bytes, name, "%zu of %zu bytes", got, bytes);
}

static void split(void)
{
	struct tsi_request r = connect_request(TSI_TEST_SERVER_PORT);
	struct tsi_reply reply;
	int fd = tsi_stream();
	ssize_t n = 0;

	if (fd < 0) {
		result(false, "a request a byte at a time is answered", "%s", errname(-fd));
		return;
	}
	for (size_t i = 0; i < sizeof(r) && n >= 0; i++) {
		n = write(fd, (char *)&r + i, 1) == 1 ? 0 : -errno;
		usleep(20000); /* one packet each */
	}
	if (n == 0)
		n = read_within(fd, &reply, sizeof(reply), HOST_ANSWER_S);
	result(n == sizeof(reply) && reply.error == 0, "a request a byte at a time is answered",
	       "read %zd, error %u", n, n == sizeof(reply) ? reply.error : 0);
	if (n == sizeof(reply) && reply.error == 0)
		fetch_on("and its stream carries a fetch", fd, 1 << 20);
	close(fd);
}

static void deadline(void)
{
	struct tsi_request r = connect_request(TSI_TEST_SERVER_PORT);
	struct tsi_reply reply;
	int fd = tsi_stream();
	double start = now_s(), took;
	ssize_t n;

	if (fd < 0) {
		result(false, "a half request is reset at its deadline", "%s", errname(-fd));
		return;
	}
	n = write(fd, &r, 20) == 20 ? read_within(fd, &reply, sizeof(reply), 30) : -errno;
	took = now_s() - start;
	result(n == 0 && took >= 5 && took < 25, "a half request is reset at its deadline",
	       "read %zd after %.1f s", n, took);
	close(fd);
}

static void guess(void)
{
	struct tsi_request r = { .op = TSI_OP_ACCEPT, .arg = 0x5eed1234 };
	struct tsi_reply reply;
	int fd = tsi_stream();
	ssize_t n;

	if (fd < 0) {
		result(false, "ACCEPT with a guessed id gets no stream", "%s", errname(-fd));
		return;
	}
	n = write(fd, &r, sizeof(r)) == sizeof(r) ? read_within(fd, &reply, sizeof(reply), 5)
						  : -errno;
	/* reset, or (before listeners existed) a reply that refuses */
	result(n == 0 || (n == sizeof(reply) && reply.error != 0),
	       "ACCEPT with a guessed id gets no stream", "read %zd", n);
	close(fd);
}

/* Create /.NAME, then wait for the host's /.NAME-done. */
static bool ask_host(const char *name)
{
	char path[64], done[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/.%s", name);
	snprintf(done, sizeof(done), "/.%s-done", name);
	if ((fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)) < 0)
		return false;
	close(fd);
	for (double end = now_s() + HOST_ANSWER_S; now_s() < end; usleep(100000))
		if (stat(done, &st) == 0)
			return true;
	return false;
}

static void streams(void)
{
	static int fds[STREAMS];
	struct tsi_request r = connect_request(TSI_TEST_SINK_PORT);
	unsigned int answered = 0, refused = 0, other = 0;

	setrlimit(RLIMIT_NOFILE, &(struct rlimit){ STREAMS + 64, STREAMS + 64 });
	for (int i = 0; i < STREAMS; i++) {
		struct tsi_reply reply;
		ssize_t n;

		if ((fds[i] = tsi_stream()) < 0) {
			/* the VMM resets a connection past its bound */
			fds[i] == -ECONNRESET ? refused++ : other++;
			continue;
		}
		n = write(fds[i], &r, sizeof(r)) == sizeof(r)
			    ? read_within(fds[i], &reply, sizeof(reply), HOST_ANSWER_S)
			    : 0;
		if (n == sizeof(reply) && reply.error == 0)
			answered++;
		else
			n == 0 ? refused++ : other++;
	}
	printf("tsihostile: %d streams: %u answered, %u refused, %u otherwise\n", STREAMS, answered,
	       refused, other);
	result(answered >= 100 && answered + refused == STREAMS && refused > 0,
	       "the VMM answers streams up to its bound and refuses the rest",
	       "%u answered, %u refused, %u otherwise", answered, refused, other);
	result(ask_host("streams-held"), "the host counted the VMM's fds while held", "no answer");
	for (int i = 0; i < STREAMS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	sleep(2);
	result(ask_host("streams-closed"), "the host counted the VMM's fds after", "no answer");
}

static int tsi_fetch_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(TSI_TEST_SERVER_PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void never_read(void)
{
	int idle = tsi_fetch_socket(), busy;

	if (idle < 0 || !vsock_test_write_all(idle, "GET 268435456\n", 14)) {
		result(false, "a fetch the guest does not read", "%s", errname(errno));
		return;
	}
	sleep(3); /* the host sends until the VMM stops reading it */
	result(ask_host("never-read"), "the host read the VMM's memory meanwhile", "no answer");
	if ((busy = tsi_fetch_socket()) < 0) {
		result(false, "a second fetch beside it", "%s", errname(errno));
		return;
	}
	fetch_on("a second fetch beside it gets all its bytes", busy, 4 << 20);
	close(busy);
	close(idle);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	malformed();
	split();
	deadline();
	guess();
	streams();
	never_read();
	printf("tsihostile: %d/%d passed\n", n_pass, n_run);
	return n_pass == n_run ? 0 : 1;
}
