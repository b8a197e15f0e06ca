/* The host's side of the vsock boot test.
 *
 *   vsock-peer serve PATH   listen at PATH (the mapped port's socket): the
 *                           first connection is echoed, the second is the
 *                           transfer (its bytes summed until the guest's
 *                           end of file, then 16 MiB of ours sent back)
 *   vsock-peer knock PATH   connect to the VMM's listening socket at PATH
 *                           until the guest's listener answers ping with pong
 *
 * Prints what it saw; exits 0 when all went as it should. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vsock_data.h"

static struct sockaddr_un address(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	return addr;
}

static int serve(const char *path)
{
	static uint8_t buf[65536];
	struct sockaddr_un addr = address(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	char line[6];

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 4) < 0) {
		printf("peer: cannot listen at %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("peer: listening\n");
	fflush(stdout);
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		return 1;
	ssize_t n = read(fd, line, sizeof(line));
	if (n > 0 && vsock_test_write_all(fd, line, (size_t)n))
		printf("peer: echoed %zd bytes\n", n);
	close(fd);
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		return 1;
	uint64_t sum = VSOCK_TEST_SUM_INIT, state = 2;
	size_t got = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sum = vsock_test_sum(sum, buf, (size_t)n);
		got += (size_t)n;
	}
	printf("peer: received %zu bytes, sum %016llx\n", got, (unsigned long long)sum);
	sum = VSOCK_TEST_SUM_INIT;
	for (size_t done = 0; done < VSOCK_TEST_BULK; done += sizeof(buf)) {
		vsock_test_fill(&state, buf, sizeof(buf));
		sum = vsock_test_sum(sum, buf, sizeof(buf));
		if (!vsock_test_write_all(fd, buf, sizeof(buf))) {
			printf("peer: the transfer back broke: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("peer: sent %u bytes, sum %016llx\n", VSOCK_TEST_BULK, (unsigned long long)sum);
	close(fd);
	return 0;
}

/* Until the guest listens, the VMM's connections are refused by it. */
static int knock(const char *path)
{
	struct sockaddr_un addr = address(path);
	char word[4];

	for (int attempt = 0; attempt < 3000; attempt++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
		    vsock_test_write_all(fd, "ping", 4) && read(fd, word, 4) == 4 && !memcmp(word, "pong", 4)) {
			printf("peer: the guest's listener answered pong (attempt %d)\n", attempt + 1);
			close(fd);
			return 0;
		}
		close(fd);
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	printf("peer: the guest's listener never answered\n");
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A knock the guest refused may be closed before its ping is written:
	 * an error to try again after, not a death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if (argc == 3 && strcmp(argv[1], "knock") == 0)
		return knock(argv[2]);
	fprintf(stderr, "usage: vsock-peer serve|knock PATH\n");
	return 2;
}
