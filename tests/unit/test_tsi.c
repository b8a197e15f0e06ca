/* TSI's endpoint in the vsock device (src/devices/vsock/tsi.c), with the
 * test as the guest kernel's side of TSI_PORT_V1 (its queues driven as in
 * test_virtio_vsock.c) and real host sockets behind: a connect to a
 * 127.0.0.1 listener and bytes both ways, bytes sent before the reply, a
 * refused connect's reply, IPv6 as this host offers it (its loopback if
 * /proc/net/if_inet6 lists ::1, else the reply's error), v4-mapped and
 * link-local destinations, a connect to an address that never answers
 * while the loop goes on, every malformed request reset and counted, the
 * operations not served yet, the connection bound, and unix sockets
 * beneath a root share (and none out of it). */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "check.h"
#include "vsock_driver.h"
#include "config/vm_config.h"
#include "devices/vsock/tsi.h"

#define HDR VSOCK_HDR_LEN
#define TSI TSI_PORT_V1

static char root_dir[] = "/tmp/test-tsi-XXXXXX";
static char outside_dir[] = "/tmp/test-tsi-out-XXXXXX";

static struct vsock_endpoint *tsi_endpoint(uint32_t features)
{
	struct vsock_endpoint *ep = NULL;

	CHECK_EQ_INT(vsock_tsi_endpoint_open(features, root_dir, &ep), 0);
	return ep;
}

static const struct tsi_counters *counters(struct vsock_bench *b)
{
	return vsock_tsi_counters(b->vsock.endpoints[2]);
}

static struct tsi_request connect_req(const struct sockaddr *sa)
{
	struct tsi_request r = { .op = htole16(TSI_OP_CONNECT) };

	r.addr.family = htole16(sa->sa_family);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		r.addr.port = sin->sin_port;
		memcpy(r.addr.addr, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		r.addr.port = sin6->sin6_port;
		memcpy(r.addr.addr, &sin6->sin6_addr, 16);
	}
	return r;
}

/* A TCP listener on addr (family's loopback), its address in *sa. */
static int tcp_listener(int family, struct sockaddr_storage *sa)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*sa);

	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
	}
	CHECK(fd >= 0);
	CHECK_EQ_INT(bind(fd, (struct sockaddr *)sa, family == AF_INET ?
			  sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)), 0);
	CHECK_EQ_INT(listen(fd, 16), 0);
	CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

/* The guest opens a TSI stream from port and sends bytes (len of them). */
static void tsi_send(struct vsock_bench *b, uint32_t port, const void *bytes, uint32_t len)
{
	vb_open(b, port, TSI, 1u << 20);
	vb_send(b, vb_hdr(VIRTIO_VSOCK_OP_RW, port, TSI, len), bytes);
}

/* The guest reads the stream's reply. */
static struct tsi_reply recv_reply(struct vsock_bench *b, uint32_t port)
{
	struct tsi_reply r = { .error = htole32(~0u) };
	uint8_t buf[256];
	struct virtio_vsock_hdr h;

	CHECK(vb_recv(b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ_INT(le32toh(h.dst_port), port);
	CHECK_EQ_INT(le32toh(h.len), sizeof(r));
	memcpy(&r, buf, sizeof(r));
	return r;
}

/* A reply with error err, then the end of the stream. */
static void expect_error(struct vsock_bench *b, uint32_t port, int err)
{
	struct tsi_reply r = recv_reply(b, port);

	CHECK_EQ_INT(le32toh(r.error), err);
	CHECK_EQ_INT(r.local.family, 0);
	CHECK_EQ_INT(r.peer.family, 0);
	struct virtio_vsock_hdr h = vb_expect(b, VIRTIO_VSOCK_OP_SHUTDOWN, port, TSI);
	CHECK(le32toh(h.flags) & VIRTIO_VSOCK_SHUTDOWN_SEND);
}

/* Bytes both ways between the guest's stream at port and host fd. */
static void echo(struct vsock_bench *b, uint32_t port, int fd)
{
	char buf[64];
	struct virtio_vsock_hdr h;

	vb_send(b, vb_hdr(VIRTIO_VSOCK_OP_RW, port, TSI, 4), "ping");
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK_EQ_INT(write(fd, "pong!", 5), 5);
	vb_run(b);
	CHECK(vb_recv(b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ_INT(le32toh(h.len), 5);
	CHECK(memcmp(buf, "pong!", 5) == 0);
}

/* The host closes its end: the guest hears the end of the stream. */
static void host_close(struct vsock_bench *b, uint32_t port, int fd)
{
	close(fd);
	vb_run(b);
	vb_expect(b, VIRTIO_VSOCK_OP_SHUTDOWN, port, TSI);
}

/* Accept the device's connection on listener, waiting up to a second
 * for the loop to make it. */
static int host_accept(struct vsock_bench *b, int listener)
{
	int fd = -1;

	for (int i = 0; i < 100 && fd < 0; i++) {
		vb_run(b);
		fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			usleep(10000);
	}
	CHECK(fd >= 0);
	vb_run(b);
	return fd;
}

/* 127.0.0.1: the reply names both ends as the host sees them; then bytes
 * both ways, and bytes the guest sent with its request reach the host
 * first. */
static void test_connect_v4(void)
{
	struct vsock_bench b;
	struct sockaddr_storage sa;
	char buf[64];

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	int listener = tcp_listener(AF_INET, &sa);
	struct tsi_request req = connect_req((struct sockaddr *)&sa);
	uint8_t with_early[sizeof(req) + 5];
	memcpy(with_early, &req, sizeof(req));
	memcpy(with_early + sizeof(req), "early", 5);
	tsi_send(&b, 20000, with_early, sizeof(with_early));
	int fd = host_accept(&b, listener);
	struct tsi_reply r = recv_reply(&b, 20000);
	CHECK_EQ_INT(le32toh(r.error), 0);
	CHECK_EQ_INT(le16toh(r.peer.family), AF_INET);
	CHECK_EQ_INT(r.peer.port, ((struct sockaddr_in *)&sa)->sin_port);
	CHECK(memcmp(r.peer.addr, "\x7f\0\0\x01", 4) == 0);
	CHECK_EQ_INT(le16toh(r.local.family), AF_INET);
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	CHECK_EQ_INT(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
	CHECK_EQ_INT(r.local.port, peer.sin_port); /* what the host's peer sees */
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "early", 5) == 0);
	echo(&b, 20000, fd);
	CHECK_EQ_INT(counters(&b)->connected, 1);
	close(fd);
	close(listener);
	vb_destroy(&b);
}

/* A closed port: ECONNREFUSED in the reply, then the end. */
static void test_refused(void)
{
	struct vsock_bench b;
	struct sockaddr_storage sa;

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	close(tcp_listener(AF_INET, &sa));
	struct tsi_request req = connect_req((struct sockaddr *)&sa);
	tsi_send(&b, 20100, &req, sizeof(req));
	for (int i = 0; i < 100 && counters(&b)->failed == 0; i++) {
		usleep(10000);
		vb_run(&b);
	}
	expect_error(&b, 20100, ECONNREFUSED);
	CHECK_EQ_INT(counters(&b)->failed, 1);
	CHECK_EQ_INT(b.vsock.counters.host_errors, 0);
	vb_destroy(&b);
}

static bool host_has_ipv6_loopback(void)
{
	FILE *f = fopen("/proc/net/if_inet6", "r");
	char line[256];
	bool found = false;

	while (f && fgets(line, sizeof(line), f))
		found |= strncmp(line, "00000000000000000000000000000001 ", 33) == 0;
	if (f)
		fclose(f);
	return found;
}

/* IPv6: with ::1 on this host, a connect there works; without, the reply
 * says why (the host's own errno). A v4-mapped address is connected as
 * IPv4; a link-local one or one with a scope is unreachable. */
static void test_ipv6(void)
{
	struct vsock_bench b;
	struct sockaddr_storage sa;

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	if (host_has_ipv6_loopback()) {
		int listener = tcp_listener(AF_INET6, &sa);
		struct tsi_request req = connect_req((struct sockaddr *)&sa);
		tsi_send(&b, 20200, &req, sizeof(req));
		int fd = host_accept(&b, listener);
		struct tsi_reply r = recv_reply(&b, 20200);
		CHECK_EQ_INT(le32toh(r.error), 0);
		CHECK_EQ_INT(le16toh(r.peer.family), AF_INET6);
		CHECK(memcmp(r.peer.addr, &in6addr_loopback, 16) == 0);
		echo(&b, 20200, fd);
		host_close(&b, 20200, fd);
		close(listener);
	} else {
		fprintf(stderr, "this host has no ::1: its connect must fail in the reply\n");
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(9),
					     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		struct tsi_request req = connect_req((struct sockaddr *)&sin6);
		tsi_send(&b, 20200, &req, sizeof(req));
		struct tsi_reply r = recv_reply(&b, 20200);
		CHECK(le32toh(r.error) != 0);
	}
	/* ::ffff:127.0.0.1 */
	int listener = tcp_listener(AF_INET, &sa);
	struct sockaddr_in6 mapped = { .sin6_family = AF_INET6,
				       .sin6_port = ((struct sockaddr_in *)&sa)->sin_port };
	CHECK_EQ_INT(inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr), 1);
	struct tsi_request req = connect_req((struct sockaddr *)&mapped);
	tsi_send(&b, 20201, &req, sizeof(req));
	int fd = host_accept(&b, listener);
	struct tsi_reply r = recv_reply(&b, 20201);
	CHECK_EQ_INT(le32toh(r.error), 0);
	CHECK_EQ_INT(le16toh(r.peer.family), AF_INET);
	host_close(&b, 20201, fd);
	close(listener);
	/* fe80::1, and ::1 with a scope */
	struct sockaddr_in6 ll = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	CHECK_EQ_INT(inet_pton(AF_INET6, "fe80::1", &ll.sin6_addr), 1);
	req = connect_req((struct sockaddr *)&ll);
	tsi_send(&b, 20202, &req, sizeof(req));
	expect_error(&b, 20202, ENETUNREACH);
	ll.sin6_addr = in6addr_loopback;
	req = connect_req((struct sockaddr *)&ll);
	req.addr.scope_id = htole32(1);
	tsi_send(&b, 20203, &req, sizeof(req));
	expect_error(&b, 20203, ENETUNREACH);
	vb_destroy(&b);
}

/* A listener whose accept queue is full drops SYNs: a connect there stays
 * pending, as to an address that never answers (a network's answer to
 * TEST-NET addresses depends on the host: some proxies answer them all).
 * The loop does not wait for it, idles, and serves another connection
 * meanwhile; the pending stream hears nothing. */
static void test_pending(void)
{
	struct vsock_bench b;
	struct sockaddr_storage full, other;
	int fillers[2];

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	int blackhole = tcp_listener(AF_INET, &full);
	CHECK_EQ_INT(listen(blackhole, 0), 0); /* room for one, never accepted */
	for (unsigned int i = 0; i < 2; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(fillers[i], (struct sockaddr *)&full, sizeof(struct sockaddr_in));
	}
	usleep(100000); /* the fillers' handshakes */
	struct tsi_request req = connect_req((struct sockaddr *)&full);
	uint64_t start = monotonic_ns();
	tsi_send(&b, 20300, &req, sizeof(req));
	CHECK(monotonic_ns() - start < 500000000ull);
	CHECK(vb_run(&b) < 3); /* idle, not spinning */
	int listener = tcp_listener(AF_INET, &other);
	req = connect_req((struct sockaddr *)&other);
	tsi_send(&b, 20301, &req, sizeof(req));
	int fd = host_accept(&b, listener);
	struct tsi_reply r = recv_reply(&b, 20301);
	CHECK_EQ_INT(le32toh(r.error), 0);
	usleep(200000);
	vb_run(&b);
	CHECK(!vb_recv(&b, &(struct virtio_vsock_hdr){ 0 }, NULL, 0)); /* 20300: nothing */
	CHECK_EQ_INT(counters(&b)->connected, 1);
	CHECK_EQ_INT(counters(&b)->connects, 2);
	CHECK_EQ_INT(b.vsock.nr_conns, 2);
	close(fd);
	close(listener);
	vb_destroy(&b);
	for (unsigned int i = 0; i < 2; i++)
		close(fillers[i]);
	close(blackhole);
}

/* Every malformed request: a RST, counted by TSI and by the device. */
static void test_malformed(void)
{
	struct vsock_bench b;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const struct tsi_request good = connect_req((struct sockaddr *)&sin);
	struct {
		const char *what;
		struct tsi_request r;
		const char *tail;
		uint32_t tail_len;
	} cases[12];
	unsigned int n = 0;

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET | VM_TSI_HIJACK_UNIX));
	vb_offer(&b, 64, HDR + 4096);
#define CASE(w, field, value) do { cases[n] = (typeof(cases[0])){ .what = w, .r = good }; \
		cases[n].r.field = value; n++; } while (0)
	CASE("op 0", op, 0);
	CASE("an unknown op", op, htole16(9));
	CASE("flags on a CONNECT", flags, htole16(1));
	CASE("an arg on a CONNECT", arg, htole32(1));
	CASE("no address on a CONNECT", addr, (struct tsi_addr){ 0 });
	CASE("an unknown family", addr.family, htole16(AF_UNIX));
	CASE("the padding", addr.zero, htole32(1));
	CASE("an IPv4 address's tail", addr.addr[7], 1);
	CASE("an IPv4 scope", addr.scope_id, htole32(1));
	cases[n] = (typeof(cases[0])){ "a UNIX path of 0 bytes",
				       { .op = htole16(TSI_OP_UNIX) }, NULL, 0 };
	n++;
	cases[n] = (typeof(cases[0])){ "a UNIX path of 108 bytes",
				       { .op = htole16(TSI_OP_UNIX), .arg = htole32(108) },
				       NULL, 0 };
	n++;
	cases[n] = (typeof(cases[0])){ "a NUL in a UNIX path",
				       { .op = htole16(TSI_OP_UNIX), .arg = htole32(3) }, "a\0b",
				       3 };
	n++;
#undef CASE
	for (unsigned int i = 0; i < n; i++) {
		uint8_t bytes[sizeof(struct tsi_request) + 8];
		uint32_t port = 20400 + i;
		int failures = check_failures;
		memcpy(bytes, &cases[i].r, sizeof(cases[i].r));
		memcpy(bytes + sizeof(cases[i].r), cases[i].tail ? cases[i].tail : "", cases[i].tail_len);
		tsi_send(&b, port, bytes, sizeof(cases[i].r) + cases[i].tail_len);
		vb_expect(&b, VIRTIO_VSOCK_OP_RST, port, TSI);
		CHECK_EQ_INT(counters(&b)->malformed, i + 1);
		CHECK_EQ_INT(b.vsock.counters.bad_requests, i + 1);
		if (check_failures != failures)
			fprintf(stderr, "  (the request with %s)\n", cases[i].what);
	}
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	CHECK_EQ_INT(counters(&b)->connects, 0);
	vb_destroy(&b);
}

/* LISTEN, ACCEPT and DGRAM, well formed: EOPNOTSUPP for now; so is a UNIX
 * request without the unix feature. */
static void test_not_yet(void)
{
	struct vsock_bench b;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct tsi_request r = connect_req((struct sockaddr *)&sin);

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	r.op = htole16(TSI_OP_LISTEN);
	r.arg = htole32(128);
	tsi_send(&b, 20500, &r, sizeof(r));
	expect_error(&b, 20500, EOPNOTSUPP);
	r.op = htole16(TSI_OP_DGRAM);
	r.arg = 0;
	r.flags = htole16(TSI_FLAG_V6ONLY);
	tsi_send(&b, 20501, &r, sizeof(r));
	expect_error(&b, 20501, EOPNOTSUPP);
	r = (struct tsi_request){ .op = htole16(TSI_OP_ACCEPT), .arg = htole32(1234) };
	tsi_send(&b, 20502, &r, sizeof(r));
	expect_error(&b, 20502, EOPNOTSUPP);
	uint8_t u[sizeof(r) + 2];
	r = (struct tsi_request){ .op = htole16(TSI_OP_UNIX), .arg = htole32(2) };
	memcpy(u, &r, sizeof(r));
	memcpy(u + sizeof(r), "/x", 2);
	tsi_send(&b, 20503, u, sizeof(u));
	expect_error(&b, 20503, EOPNOTSUPP);
	CHECK_EQ_INT(counters(&b)->unsupported, 4);
	vb_destroy(&b);
}

/* Past the device's connection bound, a TSI stream gets a RST. */
static void test_connection_bound(void)
{
	struct vsock_bench b;

	vb_init_with(&b, 2, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	vb_open(&b, 20600, TSI, 1u << 20);
	vb_open(&b, 20601, TSI, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 20602, TSI, 0), NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 20602, TSI);
	CHECK_EQ_INT(b.vsock.counters.over_limit, 1);
	vb_destroy(&b);
}

static int unix_listener(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_EQ_INT(listen(fd, 4), 0);
	return fd;
}

static void unix_send(struct vsock_bench *b, uint32_t port, const char *path)
{
	uint8_t bytes[VSOCK_REQUEST_MAX];
	struct tsi_request r = { .op = htole16(TSI_OP_UNIX), .arg = htole32(strlen(path)) };

	memcpy(bytes, &r, sizeof(r));
	memcpy(bytes + sizeof(r), path, strlen(path));
	tsi_send(b, port, bytes, (uint32_t)(sizeof(r) + strlen(path)));
}

/* A unix socket inside the root share is reached (by an absolute or a
 * relative path, and through a symlink inside); ".." or an absolute
 * symlink out of the share is refused (EACCES), and a missing one is
 * ENOENT. */
static void test_unix(void)
{
	struct vsock_bench b;
	char path[256], out_path[256];

	snprintf(path, sizeof(path), "%s/run", root_dir);
	CHECK_EQ_INT(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/run/s.sock", root_dir);
	int inside = unix_listener(path);
	snprintf(path, sizeof(path), "%s/in-link", root_dir);
	CHECK_EQ_INT(symlink("run/s.sock", path), 0);
	snprintf(out_path, sizeof(out_path), "%s/o.sock", outside_dir);
	int outside = unix_listener(out_path);
	snprintf(path, sizeof(path), "%s/out-link", root_dir);
	CHECK_EQ_INT(symlink(out_path, path), 0);

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_UNIX));
	vb_offer(&b, 64, HDR + 4096);
	static const char *const good[] = { "/run/s.sock", "run/s.sock", "/in-link" };
	for (unsigned int i = 0; i < 3; i++) {
		unix_send(&b, 20700 + i, good[i]);
		int fd = host_accept(&b, inside);
		struct tsi_reply r = recv_reply(&b, 20700 + i);
		CHECK_EQ_INT(le32toh(r.error), 0);
		CHECK_EQ_INT(r.local.family, 0);
		CHECK_EQ_INT(r.peer.family, 0);
		echo(&b, 20700 + i, fd);
		host_close(&b, 20700 + i, fd);
	}
	char escape[128];
	snprintf(escape, sizeof(escape), "/../%s/o.sock", strrchr(outside_dir, '/') + 1);
	unix_send(&b, 20710, escape);
	expect_error(&b, 20710, EACCES);
	unix_send(&b, 20711, "/out-link");
	expect_error(&b, 20711, EACCES);
	unix_send(&b, 20712, "/run/none.sock");
	expect_error(&b, 20712, ENOENT);
	CHECK_EQ_INT(accept4(outside, NULL, NULL, SOCK_CLOEXEC), -1);
	CHECK_EQ_INT(counters(&b)->refused, 2);
	vb_destroy(&b);
	close(inside);
	close(outside);
	unlink(out_path);
	rmdir(outside_dir);
	snprintf(path, sizeof(path), "%s/run/s.sock", root_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run", root_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/in-link", root_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/out-link", root_dir);
	unlink(path);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the VMM does */
	alarm(60);
	log_set_level(getenv("TEST_LOG") ? LOG_DEBUG : LOG_OFF);
	if (vsock_driver_setup() < 0 || !mkdtemp(root_dir) || !mkdtemp(outside_dir)) {
		fprintf(stderr, "cannot map guest memory or make directories\n");
		return 1;
	}
	test_connect_v4();
	test_refused();
	test_ipv6();
	test_pending();
	test_malformed();
	test_not_yet();
	test_connection_bound();
	test_unix();
	unlink(connect_path);
	rmdir(vsock_dir);
	rmdir(root_dir);
	return CHECK_DONE();
}
