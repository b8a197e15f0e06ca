// SPDX-License-Identifier: Apache-2.0
/*
 * netbulk: a guest program that moves a large amount of data over one TCP
 * connection and prints the POSIX cksum of what it moved, for the host to
 * compare with its own end.
 *
 *   netbulk get IP PORT PATH    HTTP GET of PATH; "netbulk: fetched N bytes, cksum C"
 *   netbulk put IP PORT BYTES   sends BYTES of pseudo-random data, then waits
 *                               for the host to close; "netbulk: sent N bytes, cksum C"
 *
 * The data put is generated, not read from a file: the root is a virtio-fs
 * share, and the test is about the network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cksum_fetch.h"

static int put(struct in_addr addr, int port, uint64_t bytes)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr };
	struct cksum sum = { 0 };
	uint64_t state = 0x9e3779b97f4a7c15ull, buf[8192];
	char drain[512];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)) < 0)
		return prog_fail("netbulk", "cannot connect to the host's receiver");
	while (sum.len < bytes) {
		size_t n = bytes - sum.len < sizeof(buf) ? bytes - sum.len : sizeof(buf);
		for (size_t i = 0; i < sizeof(buf) / sizeof(buf[0]); i++) {
			state ^= state << 13; /* xorshift64 */
			state ^= state >> 7;
			state ^= state << 17;
			buf[i] = state;
		}
		for (size_t done = 0; done < n;) {
			ssize_t w = write(s, (char *)buf + done, n - done);
			if (w < 0)
				return prog_fail("netbulk", "cannot send");
			done += w;
		}
		cksum_add(&sum, (uint8_t *)buf, n);
	}
	/* Until the host closes, the data may still be in our socket's buffer. */
	if (shutdown(s, SHUT_WR) < 0)
		return prog_fail("netbulk", "cannot end the stream");
	while (read(s, drain, sizeof(drain)) > 0)
		;
	close(s);
	printf("netbulk: sent %llu bytes, cksum %u\n", (unsigned long long)sum.len,
	       cksum_end(&sum));
	return 0;
}

int main(int argc, char **argv)
{
	struct in_addr addr;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5 || inet_pton(AF_INET, argv[2], &addr) != 1 ||
	    (strcmp(argv[1], "get") && strcmp(argv[1], "put"))) {
		printf("usage: netbulk get IP PORT PATH | netbulk put IP PORT BYTES\n");
		return 2;
	}
	if (!strcmp(argv[1], "put"))
		return put(addr, atoi(argv[3]), strtoull(argv[4], NULL, 0));
	struct cksum sum = { 0 };
	if (http_fetch("netbulk", addr, atoi(argv[3]), argv[4], &sum))
		return 1;
	printf("netbulk: fetched %llu bytes, cksum %u\n", (unsigned long long)sum.len,
	       cksum_end(&sum));
	return 0;
}
