/* A libkrun.h client whose guest has the user-mode interface (our
 * extension, krun_add_net_user), with the host's side of the boot test in
 * two child processes: an HTTP server on the host's 127.0.0.1 serving one
 * file (which the guest fetches through 10.0.2.2), and a prober that
 * connects to the guest's port 8080 through a published port and prints
 * the first line the guest sends.
 *
 *   user-client ROOT FILE PROGRAM [ARG...]
 *
 * The guest's program gets the server's port in $HOST_PORT. With
 * USER_CLIENT_DHCP=1 in the environment the interface has
 * NET_FLAG_DHCP_CLIENT: the guest's init asks the stack for its address.
 * Children log to stderr ("host: ..."). The process ends with the
 * workload's status. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkrun.h>

static const uint8_t guest_mac[6] = { 0x02, 0x4b, 0x52, 0x55, 0x4e, 0x03 };

static void check(int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "user-client: %s failed: %s\n", what, strerror(-ret));
		exit(99);
	}
}

/* A TCP socket on 127.0.0.1:port (0: any free one), listening when asked. */
static int loopback_socket(uint16_t *port, bool listening)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	check(fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		      (listening && listen(fd, 8) < 0) ||
		      getsockname(fd, (struct sockaddr *)&a, &len) < 0 ? -errno : 0,
	      "a loopback socket");
	*port = ntohs(a.sin_port);
	return fd;
}

/* Serve file to every request, HTTP/1.0, until the parent dies. */
static int serve(int listener, const char *file)
{
	char req[1024], head[128], buf[65536];

	for (;;) {
		int c = accept(listener, NULL, NULL), fd = open(file, O_RDONLY | O_CLOEXEC);
		struct stat st;
		ssize_t n;

		if (c < 0 || fd < 0 || fstat(fd, &st) < 0 || read(c, req, sizeof(req)) <= 0)
			return 1;
		snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Length: %lld\r\n\r\n",
			 (long long)st.st_size);
		if (write(c, head, strlen(head)) < 0)
			return 1;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				return 1;
		fprintf(stderr, "host: served %lld bytes to %.*s\n", (long long)st.st_size,
			(int)strcspn(req, "\r\n"), req);
		close(fd);
		close(c);
	}
}

/* Connect to the published port until the guest answers (a connection
 * the guest refuses is accepted here by the stack, then closed). */
static int probe(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char line[256];

	for (int tries = 0; tries < 600; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		size_t len = 0;
		ssize_t n;

		/* A whole line is enough: the guest may end, and this process with
		 * it, before its connection's end reaches here. The wait is long:
		 * the stack accepts at once and only then asks the guest, which
		 * refuses at once while nothing listens, but may start listening
		 * while the stack's SYN is on its way again, seconds later. */
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			while (len < sizeof(line) - 1 && !memchr(line, '\n', len) &&
			       poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 30000) > 0 &&
			       (n = read(fd, line + len, sizeof(line) - 1 - len)) > 0)
				len += (size_t)n;
		}
		if (fd >= 0)
			close(fd);
		if (len > 0) {
			line[strcspn(line, "\n")] = '\0';
			fprintf(stderr, "host: through 127.0.0.1:%u the guest said \"%s\"\n", port,
				line);
			return 0;
		}
		usleep(250000);
	}
	fprintf(stderr, "host: the guest never answered on 127.0.0.1:%u\n", port);
	return 1;
}

static void child(int (*body)(int, const char *), int arg, const char *file)
{
	pid_t pid = fork();

	check(pid < 0 ? -errno : 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		_exit(body(arg, file));
	}
}

static int probe_child(int port, const char *unused)
{
	(void)unused;
	return probe((uint16_t)port);
}

int main(int argc, char **argv)
{
	uint16_t server_port = 0, published = 0;
	char env_port[32], map_entry[32];

	if (argc < 4) {
		fprintf(stderr, "usage: user-client ROOT FILE PROGRAM [ARG...]\n");
		return 2;
	}
	int listener = loopback_socket(&server_port, true);
	close(loopback_socket(&published, false)); /* a port free now */
	child(serve, listener, argv[2]);
	close(listener);
	child(probe_child, published, NULL);
	snprintf(env_port, sizeof(env_port), "HOST_PORT=%u", server_port);
	snprintf(map_entry, sizeof(map_entry), "%u:8080", published);

	int ctx = krun_create_ctx();
	check(ctx, "krun_create_ctx");
	check(krun_set_log_level(KRUN_LOG_LEVEL_INFO), "krun_set_log_level");
	check(krun_set_vm_config(ctx, 1, 256), "krun_set_vm_config");
	check(krun_set_root(ctx, argv[1]), "krun_set_root");
	check(krun_set_exec(ctx, argv[3], (const char *const *)argv + 4,
			    (const char *const[]){ "PATH=/bin", env_port, NULL }), "krun_set_exec");
	const char *dhcp = getenv("USER_CLIENT_DHCP");
	check(krun_add_net_user(ctx, (uint8_t *)guest_mac, 0,
				dhcp && !strcmp(dhcp, "1") ? NET_FLAG_DHCP_CLIENT : 0),
	      "krun_add_net_user");
	check(krun_set_port_map(ctx, (const char *const[]){ map_entry, NULL }),
	      "krun_set_port_map");
	check(krun_start_enter(ctx), "krun_start_enter");
	return 99;
}
