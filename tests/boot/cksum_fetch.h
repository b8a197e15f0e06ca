// SPDX-License-Identifier: Apache-2.0
/*
 * For the static guest programs of the network boot tests (netfetch,
 * netbulk): POSIX cksum's CRC, which the host's `cksum` checks the other
 * end with, and an HTTP/1.0 GET whose body it digests. Errors are printed
 * as "PROG: what: why".
 */
#ifndef KRUN_TESTS_BOOT_CKSUM_FETCH_H
#define KRUN_TESTS_BOOT_CKSUM_FETCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cksum {
	uint32_t crc;
	uint64_t len;
};

static uint32_t crc_step(uint32_t crc, uint8_t byte)
{
	crc ^= (uint32_t)byte << 24;
	for (int i = 0; i < 8; i++)
		crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
	return crc;
}

/* A byte at a time through a table: the guest digests 100 MiB under the
 * test host's emulation, where the bit loop alone would take a minute. */
static void cksum_add(struct cksum *c, const uint8_t *p, size_t n)
{
	static uint32_t table[256];

	if (!table[1])
		for (unsigned int i = 0; i < 256; i++)
			table[i] = crc_step(0, (uint8_t)i);
	for (size_t i = 0; i < n; i++)
		c->crc = c->crc << 8 ^ table[(c->crc >> 24) ^ p[i]];
	c->len += n;
}

/* The CRC after the length's bytes, as cksum prints it. */
static uint32_t cksum_end(const struct cksum *c)
{
	uint32_t crc = c->crc;

	for (uint64_t n = c->len; n; n >>= 8)
		crc = crc_step(crc, n & 0xff);
	return ~crc;
}

static int prog_fail(const char *prog, const char *what)
{
	printf("%s: %s: %s\n", prog, what, strerror(errno));
	return 1;
}

/* GET path from addr:port; the body's digest into *sum. 0 when a 200 came. */
static int http_fetch(const char *prog, struct in_addr addr, int port, const char *path,
		      struct cksum *sum)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr };
	char request[512], buf[65536];
	size_t head = 0;
	bool in_body = false;
	ssize_t n;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof(to)) < 0)
		return prog_fail(prog, "cannot connect to the host's server");
	snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: host\r\n\r\n", path);
	if (write(s, request, strlen(request)) != (ssize_t)strlen(request))
		return prog_fail(prog, "cannot send the request");
	while ((n = read(s, buf + head, sizeof(buf) - head)) > 0) {
		if (in_body) {
			cksum_add(sum, (uint8_t *)buf, n);
			continue;
		}
		head += n;
		char *end = memmem(buf, head, "\r\n\r\n", 4);
		if (!end) {
			if (head == sizeof(buf)) {
				printf("%s: no end to the reply's header\n", prog);
				return 1;
			}
			continue;
		}
		if (strncmp(buf, "HTTP/1.0 200", 12) && strncmp(buf, "HTTP/1.1 200", 12)) {
			printf("%s: the server said %.20s\n", prog, buf);
			return 1;
		}
		in_body = true;
		cksum_add(sum, (uint8_t *)end + 4, buf + head - (end + 4));
		head = 0;
	}
	close(s);
	if (n < 0)
		return prog_fail(prog, "cannot read the reply");
	if (!in_body)
		printf("%s: the reply ended in its header\n", prog);
	return in_body ? 0 : 1;
}

#endif
