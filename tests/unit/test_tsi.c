/* TSI's endpoint in the vsock device (src/devices/vsock/tsi.c), with the
 * test as the guest kernel's side of TSI_PORT_V1 (its queues driven as in
 * test_virtio_vsock.c) and real host sockets behind: a connect to a
 * 127.0.0.1 listener and bytes both ways, bytes sent before the reply, a
 * refused connect's reply, IPv6 as this host offers it (its loopback if
 * /proc/net/if_inet6 lists ::1, else the reply's error), v4-mapped and
 * link-local destinations, a connect to an address that never answers
 * while the loop goes on, every malformed request reset and counted, the
 * operations not served yet, a mapped port published by LISTEN and its
 * connections claimed by ACCEPT (held connections' bound and expiry, the
 * listener closed and published again, a taken host port), datagram
 * streams with a real host UDP socket (an echo, a mapped /udp port,
 * frames that lie, the guest's credit), the connection bound, and unix
 * sockets beneath a root share (and none out of it). */
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
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "check.h"
#include "vsock_driver.h"
#include "config/vm_config.h"
#include "devices/vsock/tsi.h"
#include "devices/vsock/tsi_listen.h"

#define HDR VSOCK_HDR_LEN
#define TSI TSI_PORT_V1

static char root_dir[] = "/tmp/test-tsi-XXXXXX";
static char outside_dir[] = "/tmp/test-tsi-out-XXXXXX";

static struct vsock_endpoint *tsi_endpoint(uint32_t features)
{
	struct vsock_endpoint *ep = NULL;

	CHECK_EQ_INT(vsock_tsi_endpoint_open(features, root_dir, NULL, 0, &ep), 0);
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

/* A UNIX request without the unix feature, LISTEN and DGRAM without the
 * inet one: EOPNOTSUPP. */
static void test_not_yet(void)
{
	struct vsock_bench b;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct tsi_request r = { .op = htole16(TSI_OP_UNIX), .arg = htole32(2) };
	uint8_t u[sizeof(r) + 2];

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 32, HDR + 4096);
	memcpy(u, &r, sizeof(r));
	memcpy(u + sizeof(r), "/x", 2);
	tsi_send(&b, 20503, u, sizeof(u));
	expect_error(&b, 20503, EOPNOTSUPP);
	vb_destroy(&b);
	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_UNIX));
	vb_offer(&b, 32, HDR + 4096);
	r = connect_req((struct sockaddr *)&sin);
	r.op = htole16(TSI_OP_LISTEN);
	tsi_send(&b, 20504, &r, sizeof(r));
	expect_error(&b, 20504, EOPNOTSUPP);
	r.op = htole16(TSI_OP_DGRAM);
	r.flags = htole16(TSI_FLAG_V6ONLY);
	tsi_send(&b, 20505, &r, sizeof(r));
	expect_error(&b, 20505, EOPNOTSUPP);
	CHECK_EQ_INT(counters(&b)->unsupported, 2);
	vb_destroy(&b);
}

/* --- LISTEN and ACCEPT ----------------------------------------------------- */

#define GUEST_PORT 8080

/* A socket of type on 127.0.0.1, bound to an ephemeral port (*port). */
static int loopback_socket(int type, uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A TCP port of 127.0.0.1 nothing uses now. */
static uint16_t free_port(void)
{
	uint16_t port;

	close(loopback_socket(SOCK_STREAM, &port));
	return port;
}

/* TSI for inet with the port map "127.0.0.1:host:GUEST_PORT". */
static struct vsock_endpoint *published_endpoint(uint16_t host)
{
	struct vm_port_fwd fwd = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = host,
				   .guest_port = GUEST_PORT };
	struct vsock_endpoint *ep = NULL;

	CHECK_EQ_INT(vsock_tsi_endpoint_open(VM_TSI_HIJACK_INET, NULL, &fwd, 1, &ep), 0);
	return ep;
}

/* The guest's listener on 0.0.0.0:port (with backlog) published. */
static struct tsi_request listen_req(uint16_t port, uint32_t backlog)
{
	return (struct tsi_request){ .op = htole16(TSI_OP_LISTEN), .arg = htole32(backlog),
				     .addr = { .family = htole16(AF_INET), .port = htons(port) } };
}

/* LISTEN from stream port: the reply's published, checked. */
static struct tsi_reply tsi_listen_on(struct vsock_bench *b, uint32_t port, uint16_t guest_port,
				      uint32_t backlog, bool published)
{
	struct tsi_request req = listen_req(guest_port, backlog);

	tsi_send(b, port, &req, sizeof(req));
	struct tsi_reply r = recv_reply(b, port);
	CHECK_EQ_INT(le32toh(r.error), 0);
	CHECK_EQ_INT(le32toh(r.arg), published);
	if (!published)
		vb_expect(b, VIRTIO_VSOCK_OP_SHUTDOWN, port, TSI);
	return r;
}

/* A host client of 127.0.0.1:port: its fd, or -errno. */
static int host_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	CHECK(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return fd;
	err = -errno;
	close(fd);
	return err;
}

/* The guest reads stream port's bytes into buf (got there already) until
 * want are: how many there are (packets may carry more). */
static uint32_t recv_stream(struct vsock_bench *b, uint32_t port, uint8_t *buf, uint32_t cap,
			    uint32_t got, uint32_t want)
{
	struct virtio_vsock_hdr h;

	for (int i = 0; i < 100 && got < want; i++) {
		vb_run(b);
		if (!vb_recv(b, &h, buf + got, cap - got)) {
			usleep(10000);
			continue;
		}
		CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
		CHECK_EQ_INT(le32toh(h.dst_port), port);
		got += le32toh(h.len);
	}
	CHECK(got >= want);
	return got;
}

/* n records on the listener stream at port (one packet may carry several). */
static void recv_records(struct vsock_bench *b, uint32_t port, struct tsi_incoming *out,
			 unsigned int n)
{
	uint8_t buf[TSI_MAX_HELD * sizeof(*out)];

	CHECK_EQ_INT(recv_stream(b, port, buf, sizeof(buf), 0, n * sizeof(*out)),
		     n * sizeof(*out));
	memcpy(out, buf, n * sizeof(*out));
}

static void send_accept(struct vsock_bench *b, uint32_t port, uint32_t id)
{
	struct tsi_request req = { .op = htole16(TSI_OP_ACCEPT), .arg = id };

	tsi_send(b, port, &req, sizeof(req));
}

/* The guest closes its listener's stream: the device's RST ends it. */
static void guest_close(struct vsock_bench *b, uint32_t port)
{
	struct virtio_vsock_hdr h = vb_hdr(VIRTIO_VSOCK_OP_SHUTDOWN, port, TSI, 0);

	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	vb_send(b, h, NULL);
	vb_expect(b, VIRTIO_VSOCK_OP_RST, port, TSI);
}

/* A mapped port: bound but refusing before the guest listens; LISTEN
 * publishes it (the reply names the host port); a host client becomes a
 * record whose ACCEPT is a raw stream both ways; the id is single use,
 * an unknown one reset; a second LISTEN for the guest port and one for
 * an unmapped port are not published; the guest's close stops the host
 * port listening (still bound), and a later LISTEN listens again. */
static void test_listen_accept(void)
{
	struct vsock_bench b;
	uint16_t host = free_port();
	struct tsi_incoming rec;

	vb_init_with(&b, VSOCK_MAX_CONNS, published_endpoint(host));
	vb_offer(&b, 64, HDR + 4096);
	CHECK_EQ_INT(host_connect(host), -ECONNREFUSED);
	struct tsi_reply r = tsi_listen_on(&b, 21000, GUEST_PORT, 4, true);
	CHECK_EQ_INT(le16toh(r.local.family), AF_INET);
	CHECK_EQ_INT(ntohs(r.local.port), host);
	CHECK(memcmp(r.local.addr, "\x7f\0\0\x01", 4) == 0);
	int client = host_connect(host);
	CHECK(client >= 0);
	recv_records(&b, 21000, &rec, 1);
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	CHECK_EQ_INT(getsockname(client, (struct sockaddr *)&me, &len), 0);
	CHECK_EQ_INT(rec.zero, 0);
	CHECK_EQ_INT(le16toh(rec.peer.family), AF_INET);
	CHECK_EQ_INT(rec.peer.port, me.sin_port);
	CHECK(memcmp(rec.peer.addr, "\x7f\0\0\x01", 4) == 0);
	send_accept(&b, 21001, rec.id);
	echo(&b, 21001, client);
	CHECK_EQ_INT(counters(&b)->accepted, 1);
	send_accept(&b, 21002, rec.id); /* used already */
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 21002, TSI);
	send_accept(&b, 21003, rec.id ^ 1); /* never given */
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 21003, TSI);
	CHECK_EQ_INT(counters(&b)->bad_ids, 2);
	tsi_listen_on(&b, 21004, GUEST_PORT, 4, false); /* published by 21000 */
	tsi_listen_on(&b, 21005, GUEST_PORT + 1, 4, false); /* unmapped */
	CHECK_EQ_INT(counters(&b)->published, 1);
	CHECK_EQ_INT(counters(&b)->unpublished, 2);
	host_close(&b, 21001, client);
	/* closed by the guest: refused again, and the port still ours */
	guest_close(&b, 21000);
	CHECK_EQ_INT(host_connect(host), -ECONNREFUSED);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(host),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int thief = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(bind(thief, (struct sockaddr *)&sin, sizeof(sin)), -1);
	CHECK_EQ_INT(errno, EADDRINUSE);
	close(thief);
	tsi_listen_on(&b, 21006, GUEST_PORT, 4, true);
	client = host_connect(host);
	CHECK(client >= 0);
	recv_records(&b, 21006, &rec, 1);
	send_accept(&b, 21007, rec.id);
	echo(&b, 21007, client);
	close(client);
	CHECK_EQ_INT(counters(&b)->malformed, 0);
	vb_destroy(&b);
}

/* Held connections: at most the guest's backlog (here 2) on a listener,
 * the rest wait in the host's backlog until one is claimed; a held one
 * not claimed by its deadline is closed (the client reads its end), its
 * id then unknown. Bytes on a listener's stream reset it. */
static void test_held_bound(void)
{
	struct vsock_bench b;
	uint16_t host = free_port();
	struct tsi_incoming rec[3];
	int clients[3];
	char byte;

	struct vsock_endpoint *ep = published_endpoint(host);
	vb_init_with(&b, VSOCK_MAX_CONNS, ep);
	vb_offer(&b, 64, HDR + 4096);
	tsi_listen_on(&b, 22000, GUEST_PORT, 2, true);
	for (unsigned int i = 0; i < 3; i++)
		CHECK((clients[i] = host_connect(host)) >= 0);
	recv_records(&b, 22000, rec, 2);
	usleep(50000);
	vb_run(&b);
	CHECK(!vb_recv(&b, &(struct virtio_vsock_hdr){ 0 }, NULL, 0)); /* the third waits */
	CHECK_EQ_INT(counters(&b)->incoming, 2);
	CHECK_EQ_INT(vsock_tsi_listeners(ep)->nr_held, 2);
	send_accept(&b, 22001, rec[0].id);
	recv_records(&b, 22000, &rec[2], 1); /* room again: the third's */
	CHECK(rec[2].id != rec[0].id && rec[2].id != rec[1].id);
	/* rec[1]'s deadline passes (moved to now rather than waited for) */
	struct tsi_listeners *l = vsock_tsi_listeners(ep);
	for (unsigned int i = 0; i < TSI_MAX_HELD; i++) {
		if (l->held[i].port && l->held[i].id == rec[1].id)
			l->held[i].deadline = 1;
	}
	CHECK_EQ_INT(timerfd_settime(b.vsock.timer_fd, 0,
				     &(struct itimerspec){ .it_value.tv_nsec = 1000 }, NULL), 0);
	usleep(1000);
	vb_run(&b);
	CHECK_EQ_INT(counters(&b)->expired, 1);
	CHECK_EQ_INT(read(clients[1], &byte, 1), 0); /* closed */
	send_accept(&b, 22002, rec[1].id);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 22002, TSI);
	/* the held one's deadline still armed: about TSI_HELD_NS away */
	struct itimerspec left;
	CHECK_EQ_INT(timerfd_gettime(b.vsock.timer_fd, &left), 0);
	CHECK(left.it_value.tv_sec >= 8 && left.it_value.tv_sec <= 10);
	/* bytes on the listener: reset; the held connection closed */
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 22000, TSI, 1), "x");
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 22000, TSI);
	CHECK_EQ_INT(counters(&b)->malformed, 1);
	CHECK_EQ_INT(vsock_tsi_listeners(ep)->nr_held, 0);
	CHECK_EQ_INT(read(clients[2], &byte, 1), 0);
	CHECK_EQ_INT(timerfd_gettime(b.vsock.timer_fd, &left), 0);
	CHECK(left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 0); /* nothing held */
	for (unsigned int i = 0; i < 3; i++)
		close(clients[i]);
	vb_destroy(&b);
}

/* A mapped host port something else holds: the endpoint, and so the
 * VM's start, fails with EADDRINUSE. Without the inet feature nothing is
 * bound. */
static void test_port_taken(void)
{
	struct sockaddr_storage sa;
	int taker = tcp_listener(AF_INET, &sa);
	struct vm_port_fwd fwd = { .host_addr = htonl(INADDR_LOOPBACK),
				   .host_port = ntohs(((struct sockaddr_in *)&sa)->sin_port),
				   .guest_port = GUEST_PORT };
	struct vsock_endpoint *ep = NULL;

	CHECK_EQ_INT(vsock_tsi_endpoint_open(VM_TSI_HIJACK_INET, NULL, &fwd, 1, &ep),
		     -EADDRINUSE);
	CHECK(ep == NULL);
	CHECK_EQ_INT(vsock_tsi_endpoint_open(VM_TSI_HIJACK_UNIX, NULL, &fwd, 1, &ep), 0);
	ep->ops->destroy(ep);
	close(taker);
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

/* --- DGRAM -------------------------------------------------------------- */

#define UDP_GUEST_PORT 5353

static struct tsi_request dgram_req(uint16_t port)
{
	return (struct tsi_request){ .op = htole16(TSI_OP_DGRAM),
				     .addr = { .family = htole16(AF_INET), .port = htons(port) } };
}

/* A frame of the guest's to 127.0.0.1:port (len bytes of payload). */
static uint32_t frame(uint8_t *out, uint16_t port, const void *payload, uint32_t len)
{
	struct tsi_dgram f = { .len = htole32(len),
			       .addr = { .family = htole16(AF_INET), .port = htons(port),
					 .addr = { 127, 0, 0, 1 } } };

	memcpy(out, &f, sizeof(f));
	memcpy(out + sizeof(f), payload, len);
	return (uint32_t)sizeof(f) + len;
}

/* The next frame for the guest on stream port: its payload's length, the
 * payload in buf and its source in *from. */
static uint32_t recv_frame(struct vsock_bench *b, uint32_t port, uint8_t *buf,
			   struct tsi_addr *from)
{
	uint8_t bytes[sizeof(struct tsi_dgram) + 256];
	struct tsi_dgram f;
	uint32_t got = recv_stream(b, port, bytes, sizeof(bytes), 0, sizeof(f));

	memcpy(&f, bytes, sizeof(f));
	CHECK_EQ_INT(recv_stream(b, port, bytes, sizeof(bytes), got, sizeof(f) + le32toh(f.len)),
		     sizeof(f) + le32toh(f.len));
	memcpy(&f, bytes, sizeof(f));
	*from = f.addr;
	memcpy(buf, bytes + sizeof(f), le32toh(f.len));
	return le32toh(f.len);
}

/* An unmapped guest port: an ephemeral host socket (published 0); a frame
 * reaches a host UDP socket, whole also when it comes in pieces; the
 * host's answer comes back framed with its source. A mapped /udp port:
 * the pre-bound socket (published 1, the reply names it), reached by a
 * host client; a second DGRAM for it gets an ephemeral one. */
static void test_dgram_echo(void)
{
	struct vsock_bench b;
	uint16_t peer_port, mapped_port;
	int peer = loopback_socket(SOCK_DGRAM, &peer_port);
	close(loopback_socket(SOCK_DGRAM, &mapped_port)); /* a port free now */
	struct vm_port_fwd fwd = { .udp = true, .host_addr = htonl(INADDR_LOOPBACK),
				   .host_port = mapped_port, .guest_port = UDP_GUEST_PORT };
	struct vsock_endpoint *ep = NULL;
	uint8_t buf[256], out[256];
	struct tsi_addr from;
	struct sockaddr_in src;
	socklen_t len = sizeof(src);

	CHECK_EQ_INT(vsock_tsi_endpoint_open(VM_TSI_HIJACK_INET, NULL, &fwd, 1, &ep), 0);
	vb_init_with(&b, VSOCK_MAX_CONNS, ep);
	vb_offer(&b, 64, HDR + 4096);
	struct tsi_request req = dgram_req(40000);
	tsi_send(&b, 23000, &req, sizeof(req));
	struct tsi_reply r = recv_reply(&b, 23000);
	CHECK_EQ_INT(le32toh(r.error), 0);
	CHECK_EQ_INT(le32toh(r.arg), 0);
	CHECK_EQ_INT(le16toh(r.local.family), AF_INET);
	CHECK(r.local.port != 0);
	uint32_t n = frame(out, peer_port, "ping", 4);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 23000, TSI, n), out);
	CHECK_EQ_INT(recvfrom(peer, buf, sizeof(buf), 0, (struct sockaddr *)&src, &len), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	CHECK_EQ_INT(src.sin_port, r.local.port);
	/* in three pieces: part of the header, the rest of it, the payload */
	n = frame(out, peer_port, "split", 5);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 23000, TSI, 10), out);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 23000, TSI, 26), out + 10);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 23000, TSI, 5), out + 36);
	CHECK_EQ_INT(recv(peer, buf, sizeof(buf), 0), 5);
	CHECK(memcmp(buf, "split", 5) == 0);
	/* the host's answer */
	CHECK_EQ_INT(sendto(peer, "pong!", 5, 0, (struct sockaddr *)&src, sizeof(src)), 5);
	CHECK_EQ_INT(recv_frame(&b, 23000, buf, &from), 5);
	CHECK(memcmp(buf, "pong!", 5) == 0);
	CHECK_EQ_INT(le16toh(from.family), AF_INET);
	CHECK_EQ_INT(ntohs(from.port), peer_port);
	CHECK_EQ_INT(counters(&b)->dgrams_out, 2);
	CHECK_EQ_INT(counters(&b)->dgrams_in, 1);

	/* the mapped port */
	req = dgram_req(UDP_GUEST_PORT);
	tsi_send(&b, 23001, &req, sizeof(req));
	r = recv_reply(&b, 23001);
	CHECK_EQ_INT(le32toh(r.arg), 1);
	CHECK_EQ_INT(ntohs(r.local.port), mapped_port);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(mapped_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_EQ_INT(sendto(peer, "query", 5, 0, (struct sockaddr *)&to, sizeof(to)), 5);
	CHECK_EQ_INT(recv_frame(&b, 23001, buf, &from), 5);
	CHECK(memcmp(buf, "query", 5) == 0);
	n = frame(out, ntohs(from.port), "answer", 6);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 23001, TSI, n), out);
	len = sizeof(src);
	CHECK_EQ_INT(recvfrom(peer, buf, sizeof(buf), 0, (struct sockaddr *)&src, &len), 6);
	CHECK(memcmp(buf, "answer", 6) == 0);
	CHECK_EQ_INT(ntohs(src.sin_port), mapped_port);
	tsi_send(&b, 23002, &req, sizeof(req)); /* the port is 23001's */
	r = recv_reply(&b, 23002);
	CHECK_EQ_INT(le32toh(r.arg), 0);
	CHECK(ntohs(r.local.port) != mapped_port);
	/* 23001 closed: the port is free for the next */
	guest_close(&b, 23001);
	tsi_send(&b, 23003, &req, sizeof(req));
	r = recv_reply(&b, 23003);
	CHECK_EQ_INT(le32toh(r.arg), 1);
	CHECK_EQ_INT(counters(&b)->dgram_streams, 4);
	close(peer);
	vb_destroy(&b);
}

/* Frames that lie: a length past TSI_DGRAM_MAX, no destination, a
 * malformed address: reset and counted, nothing sent; a frame whose
 * payload never comes sends nothing. A host datagram waits for the
 * guest's credit to hold its whole frame. */
static void test_dgram_bad(void)
{
	struct vsock_bench b;
	uint16_t peer_port;
	int peer = loopback_socket(SOCK_DGRAM, &peer_port);
	uint8_t out[256], buf[256];
	struct tsi_request req = dgram_req(0);
	struct tsi_addr from;

	vb_init_with(&b, VSOCK_MAX_CONNS, tsi_endpoint(VM_TSI_HIJACK_INET));
	vb_offer(&b, 64, HDR + 4096);
	for (unsigned int i = 0; i < 3; i++) {
		uint32_t port = 24000 + i;
		struct tsi_dgram f;
		frame(out, peer_port, "", 0);
		memcpy(&f, out, sizeof(f));
		if (i == 0)
			f.len = htole32(TSI_DGRAM_MAX + 1);
		else if (i == 1)
			f.addr = (struct tsi_addr){ 0 };
		else
			f.addr.zero = htole32(1);
		tsi_send(&b, port, &req, sizeof(req));
		CHECK_EQ_INT(le32toh(recv_reply(&b, port).error), 0);
		vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, port, TSI, sizeof(f)), &f);
		vb_expect(&b, VIRTIO_VSOCK_OP_RST, port, TSI);
		CHECK_EQ_INT(counters(&b)->bad_frames, i + 1);
	}
	/* 100 bytes said, 10 sent, then the stream ends */
	uint32_t n = frame(out, peer_port, "0123456789", 10);
	((struct tsi_dgram *)out)->len = htole32(100);
	tsi_send(&b, 24010, &req, sizeof(req));
	recv_reply(&b, 24010);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 24010, TSI, n), out);
	guest_close(&b, 24010);
	CHECK_EQ_INT(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	CHECK_EQ_INT(counters(&b)->dgrams_out, 0);

	/* credit: 100 bytes, of which the reply takes 72: a 40-byte datagram
	 * (a 76-byte frame) waits for more */
	struct virtio_vsock_hdr h = vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 24020, TSI, 0);
	h.buf_alloc = htole32(100);
	vb_send(&b, h, NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RESPONSE, 24020, TSI);
	h = vb_hdr(VIRTIO_VSOCK_OP_RW, 24020, TSI, sizeof(req));
	h.buf_alloc = htole32(100);
	vb_send(&b, h, &req);
	struct tsi_reply r = recv_reply(&b, 24020);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = r.local.port,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	memset(buf, 'd', 40);
	CHECK_EQ_INT(sendto(peer, buf, 40, 0, (struct sockaddr *)&to, sizeof(to)), 40);
	usleep(20000);
	vb_run(&b);
	CHECK(!vb_recv(&b, &h, NULL, 0));
	h = vb_hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 24020, TSI, 0);
	h.buf_alloc = htole32(100);
	h.fwd_cnt = htole32(72);
	vb_send(&b, h, NULL);
	CHECK_EQ_INT(recv_frame(&b, 24020, buf, &from), 40);
	CHECK_EQ_INT(ntohs(from.port), peer_port);
	close(peer);
	vb_destroy(&b);
}

/* The host's name servers: nameserver lines only, at most 3, each an
 * IPv4 or unscoped IPv6 address; comments, other keys, bad addresses and
 * scoped ones skipped; a missing file gives none. */
static void test_dns(void)
{
	static const char text[] = "# a comment nameserver 9.9.9.9\n"
				   "search example.org\n"
				   "nameserver\t127.0.0.53\n"
				   "nameserver not-an-address\n"
				   "nameserver fe80::1%eth0\n"
				   "nameservers 8.8.8.8\n"
				   "nameserver 2001:db8::1  # trailing\n"
				   "nameserver 192.0.2.1\n"
				   "nameserver 192.0.2.2\n";
	char out[TSI_DNS_LIST_MAX], path[128];

	CHECK_EQ_INT(tsi_dns_parse(text, sizeof(text) - 1, out, sizeof(out)), 3);
	CHECK(strcmp(out, "127.0.0.53,2001:db8::1,192.0.2.1") == 0);
	CHECK_EQ_INT(tsi_dns_parse("nameserver 10.0.0.1", 19, out, sizeof(out)), 1); /* no newline */
	CHECK(strcmp(out, "10.0.0.1") == 0);
	CHECK_EQ_INT(tsi_dns_parse("options ndots:2\n", 16, out, sizeof(out)), 0);
	CHECK(strcmp(out, "") == 0);
	snprintf(path, sizeof(path), "%s/resolv.conf", root_dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("nameserver 192.0.2.53\n", f);
	fclose(f);
	CHECK_EQ_INT(tsi_dns_host(path, out, sizeof(out)), 1);
	CHECK(strcmp(out, "192.0.2.53") == 0);
	unlink(path);
	CHECK_EQ_INT(tsi_dns_host(path, out, sizeof(out)), 0);
	CHECK(strcmp(out, "") == 0);
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
	test_listen_accept();
	test_held_bound();
	test_port_taken();
	test_dgram_echo();
	test_dgram_bad();
	test_dns();
	test_connection_bound();
	test_unix();
	unlink(connect_path);
	rmdir(vsock_dir);
	rmdir(root_dir);
	return CHECK_DONE();
}
