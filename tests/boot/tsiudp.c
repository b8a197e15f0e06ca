/* The guest's side of the TSI UDP boot test (tsi-udp.sh; static, run by
 * the init, TSI on as the VMM set it): datagrams to the host's echo on
 * 127.0.0.1 with sendto and with connect + send (the two ways resolvers
 * ask), the echo's address as the source, a datagram longer than the
 * buffer (MSG_TRUNC), a non-blocking recv with nothing there (EAGAIN);
 * then a socket bound to TSI_TEST_UDP_GUEST_PORT, which the port map
 * publishes as TSI_TEST_UDP_HOST_PORT: poll sees the host client's
 * datagram, recvfrom names the client, and the answer reaches it. The
 * host's side (tsi_host.c udp-client) waits for the file this program
 * makes in its root. Exits 0 when all went as it should. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tsi_test.h"

static int failures;

static void bad(const char *what)
{
	printf("tsiudp: FAIL %s: %s\n", what, strerror(errno));
	failures++;
}

static struct sockaddr_in loopback(uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
}

/* A datagram back within 30 s, its source printed. */
static ssize_t answer(int fd, char *buf, size_t size, int flags, struct sockaddr_in *from)
{
	struct pollfd p = { fd, POLLIN, 0 };
	struct iovec iov = { buf, size };
	struct msghdr m = { .msg_name = from, .msg_namelen = sizeof(*from),
			    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (poll(&p, 1, 30000) != 1)
		return -1;
	n = recvmsg(fd, &m, flags);
	if (n >= 0)
		printf("tsiudp: %zd bytes from %s:%u%s\n", n, inet_ntoa(from->sin_addr),
		       ntohs(from->sin_port), m.msg_flags & MSG_TRUNC ? ", MSG_TRUNC" : "");
	return n;
}

static void echo(void)
{
	struct sockaddr_in to = loopback(TSI_TEST_UDP_ECHO_PORT), from;
	char buf[2048], big[1000];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	printf("tsiudp: recv with nothing there: %s\n", n < 0 ? strerror(errno) : "data");
	if (n >= 0 || errno != EAGAIN)
		failures++;
	if (sendto(fd, "ping 1", 6, 0, (struct sockaddr *)&to, sizeof(to)) != 6)
		return bad("sendto the host's echo");
	n = answer(fd, buf, sizeof(buf), 0, &from);
	if (n != 6 || memcmp(buf, "ping 1", 6))
		return bad("the echo of sendto");
	printf("tsiudp: sendto answered\n");
	memset(big, 'b', sizeof(big));
	if (sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(big))
		return bad("sendto 1000 bytes");
	n = answer(fd, buf, 100, MSG_TRUNC, &from);
	printf("tsiudp: 1000 bytes read into 100: %zd\n", n);
	close(fd);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 || send(fd, "ping 2", 6, 0) != 6)
		return bad("connect and send to the host's echo");
	n = answer(fd, buf, sizeof(buf), 0, &from);
	if (n != 6 || memcmp(buf, "ping 2", 6))
		return bad("the echo of connect and send");
	printf("tsiudp: connect and send answered\n");
	close(fd);
}

/* The published socket: the host client's datagram, and the answer. */
static void published(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(TSI_TEST_UDP_GUEST_PORT) }, from;
	char buf[64];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), file;
	ssize_t n;

	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
		return bad("bind the published port");
	file = open("/tsi-udp-1", O_WRONLY | O_CREAT, 0644);
	close(file);
	n = answer(fd, buf, sizeof(buf) - 1, 0, &from);
	if (n < 0)
		return bad("the host client's datagram");
	buf[n] = 0;
	printf("tsiudp: the host client said \"%s\"\n", buf);
	if (sendto(fd, "hi", 2, 0, (struct sockaddr *)&from, sizeof(from)) != 2)
		bad("answer the host client");
	close(fd);
}

int main(void)
{
	char mode[32] = "";
	int fd = open("/sys/module/tsi/parameters/hijack", O_RDONLY);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0 || read(fd, mode, sizeof(mode) - 1) < 0)
		bad("read tsi.hijack");
	printf("tsiudp: tsi.hijack is %s", mode);
	close(fd);
	echo();
	published();
	printf("tsiudp: %d failures\n", failures);
	return failures ? 1 : 0;
}
