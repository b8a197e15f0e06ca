/* virtio-vsock through the MMIO transport, with the test as the guest's
 * driver (rings in fake guest memory) and as the host's side of real unix
 * sockets: connections both ways, data and credit, every malformed packet
 * answered with a RST, a guest that lies about credit or never reads, and
 * the bounds (connections, host connections waiting for the guest). The
 * event loop runs one turn at a time. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "base/log.h"
#include "check.h"
#include "vsock_driver.h"
#include "devices/vsock/internal.h"

#define HDR VSOCK_HDR_LEN

/* Whether the host's side of a connection was closed (end of file). */
static bool host_closed(int fd)
{
	char c;

	return read(fd, &c, 1) == 0;
}

static void test_identity(void)
{
	struct vsock_bench b;
	uint64_t cid = 0;

	vb_init(&b, VSOCK_MAX_CONNS);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG, &cid, 4);
	CHECK_EQ_INT(le64toh(cid), VSOCK_GUEST_CID);
	vb_destroy(&b);
}

/* A connection to the host's unix socket: data both ways, then a clean
 * close from the guest; the end of the host's stream told to the guest. */
static void test_connect_and_data(void)
{
	struct vsock_bench b;
	char buf[64];

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 16, HDR + 4096);
	int fd = vb_connect(&b, 5000, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 5000, CONNECT_PORT, 5), "hello");
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ_INT(write(fd, "world!", 6), 6);
	vb_run(&b);
	struct virtio_vsock_hdr h;
	CHECK(vb_recv(&b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ_INT(le32toh(h.len), 6);
	CHECK(memcmp(buf, "world!", 6) == 0);
	CHECK_EQ_INT(le32toh(h.fwd_cnt), 5); /* the guest's 5 bytes went to the host */
	/* a credit request is answered */
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 5000, CONNECT_PORT, 0), NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, CONNECT_PORT);
	/* the guest's half-close reaches the host as end of file */
	h = vb_hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, CONNECT_PORT, 0);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
	vb_send(&b, h, NULL);
	CHECK(host_closed(fd));
	/* then its full close is answered with a RST, and the host's end closed */
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	vb_send(&b, h, NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 5000, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	CHECK_EQ_INT(write(fd, "x", 1), -1);
	close(fd);

	/* the host closing first: the guest hears the end of the stream */
	fd = vb_connect(&b, 5001, 1u << 20);
	close(fd);
	vb_run(&b);
	h = vb_expect(&b, VIRTIO_VSOCK_OP_SHUTDOWN, 5001, CONNECT_PORT);
	CHECK(le32toh(h.flags) & VIRTIO_VSOCK_SHUTDOWN_SEND);
	vb_destroy(&b);
}

/* Requests to unmapped ports, to the listening port (host-initiated only)
 * and to a host socket nobody listens on get a RST; packets of no
 * connection too, except a RST. */
static void test_refused(void)
{
	struct vsock_bench b;
	struct virtio_vsock_hdr h;

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 16, HDR + 4096);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 6000, 4242, 0), NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 6000, 4242);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 6000, LISTEN_PORT, 0), NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 6000, LISTEN_PORT);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 6000, CONNECT_PORT, 3), "abc");
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 6000, CONNECT_PORT);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RST, 6000, CONNECT_PORT, 0), NULL);
	CHECK(!vb_recv(&b, &h, NULL, 0));
	close(b.host_listener);
	b.host_listener = -1;
	unlink(connect_path);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 6001, CONNECT_PORT, 0), NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 6001, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	vb_destroy(&b);
}

/* Every bad header gets a RST, and ends the connection it names. */
static void test_bad_headers(void)
{
	static const struct {
		const char *what;
		uint64_t src_cid, dst_cid;
		uint16_t type, op;
		int len_delta;
	} cases[] = {
		{ "a foreign source CID", 7, VSOCK_HOST_CID, VIRTIO_VSOCK_TYPE_STREAM, 5, 0 },
		{ "a foreign destination CID", 3, 1, VIRTIO_VSOCK_TYPE_STREAM, 5, 0 },
		{ "SEQPACKET", 3, 2, VIRTIO_VSOCK_TYPE_SEQPACKET, 5, 0 },
		{ "a length past the payload", 3, 2, VIRTIO_VSOCK_TYPE_STREAM, 5, 1 },
		{ "a length short of the payload", 3, 2, VIRTIO_VSOCK_TYPE_STREAM, 5, -1 },
		{ "an unknown op", 3, 2, VIRTIO_VSOCK_TYPE_STREAM, 99, 0 },
		{ "a second request", 3, 2, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST, 0 },
		{ "a response from a connecting guest", 3, 2, VIRTIO_VSOCK_TYPE_STREAM,
		  VIRTIO_VSOCK_OP_RESPONSE, 0 },
	};
	struct vsock_bench b;

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 64, HDR + 4096);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t port = 7000 + i;
		int failures = check_failures;
		int fd = vb_connect(&b, port, 1u << 20);
		struct virtio_vsock_hdr h = vb_hdr(cases[i].op, port, CONNECT_PORT, 4);
		h.src_cid = htole64(cases[i].src_cid);
		h.dst_cid = htole64(cases[i].dst_cid);
		h.type = htole16(cases[i].type);
		vb_send_raw(&b, &h, HDR, "abcde", 4 + cases[i].len_delta);
		vb_expect(&b, VIRTIO_VSOCK_OP_RST, port, CONNECT_PORT);
		CHECK(host_closed(fd));
		CHECK_EQ_INT(b.vsock.nr_conns, 0);
		if (check_failures != failures)
			fprintf(stderr, "  (the packet with %s)\n", cases[i].what);
		close(fd);
	}
	/* a packet shorter than a header cannot be answered: dropped */
	struct virtio_vsock_hdr h = vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 7100, CONNECT_PORT, 0);
	vb_send_raw(&b, &h, HDR - 1, NULL, 0);
	CHECK_EQ_INT(b.vsock.counters.unreadable, 1);
	CHECK(!vb_recv(&b, &h, NULL, 0));
	/* a payload past the largest packet */
	static uint8_t big[VSOCK_MAX_PAYLOAD + 1];
	int fd = vb_connect(&b, 7101, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 7101, CONNECT_PORT, sizeof(big)), big);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 7101, CONNECT_PORT);
	close(fd);
	vb_destroy(&b);
}

/* The device sends no more than the guest's credit, and goes on when the
 * guest reports room; a guest claiming to have read more than it got is
 * reset. */
static void test_credit_to_guest(void)
{
	struct vsock_bench b;
	static char out[1000], got[1000];
	struct virtio_vsock_hdr h;

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 32, HDR + 4096);
	int fd = vb_connect(&b, 8000, 100);
	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (char)i;
	CHECK_EQ_INT(write(fd, out, 300), 300);
	vb_run(&b);
	CHECK(vb_recv(&b, &h, got, sizeof(got)));
	CHECK_EQ_INT(le32toh(h.len), 100);
	CHECK(!vb_recv(&b, &h, got, sizeof(got)));
	/* room for 100 more */
	h = vb_hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 8000, CONNECT_PORT, 0);
	h.buf_alloc = htole32(100);
	h.fwd_cnt = htole32(100);
	vb_send(&b, h, NULL);
	CHECK(vb_recv(&b, &h, got, sizeof(got)));
	CHECK_EQ_INT(le32toh(h.len), 100);
	CHECK(memcmp(got, out + 100, 100) == 0);
	/* a lie: 300 bytes read of the 200 sent */
	h = vb_hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 8000, CONNECT_PORT, 0);
	h.buf_alloc = htole32(100);
	h.fwd_cnt = htole32(300);
	vb_send(&b, h, NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 8000, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.counters.credit_violations, 1);
	close(fd);
	vb_destroy(&b);
}

/* A guest that never reads stalls its own connection only: the device
 * stops reading that host socket (whose writer then waits), while another
 * connection goes on. */
static void test_guest_never_reads(void)
{
	struct vsock_bench b;
	static char chunk[65536];
	struct virtio_vsock_hdr h;
	char buf[16];

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 64, HDR + 4096);
	int stalled = vb_connect(&b, 8100, 4096);
	int other = vb_connect(&b, 8101, 1u << 20);
	size_t written = 0;
	for (int i = 0; i < 200; i++) {
		ssize_t n = write(stalled, chunk, sizeof(chunk));
		if (n < 0) {
			CHECK_EQ_INT(errno, EAGAIN);
			break;
		}
		written += (size_t)n;
		vb_run(&b);
	}
	CHECK(written < 200 * sizeof(chunk)); /* the host's writer was made to wait */
	CHECK(vb_run(&b) < 3);	      /* and the loop is idle, not spinning */
	unsigned int packets = 0;
	while (vb_recv(&b, &h, NULL, 65536))
		packets++;
	CHECK(packets >= 1 && packets <= 2); /* 4096 bytes of credit */
	CHECK_EQ_INT(write(other, "ping", 4), 4);
	vb_run(&b);
	CHECK(vb_recv(&b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le32toh(h.src_port), CONNECT_PORT);
	CHECK_EQ_INT(le32toh(h.dst_port), 8101);
	CHECK(memcmp(buf, "ping", 4) == 0);
	close(stalled);
	close(other);
	vb_destroy(&b);
}

/* A guest sending beyond our credit, to a host that does not read, is
 * reset once the buffer (VSOCK_BUF_ALLOC) is full, never held beyond it. */
static void test_guest_beyond_credit(void)
{
	struct vsock_bench b;
	static char chunk[VSOCK_MAX_PAYLOAD];
	struct virtio_vsock_hdr h;
	bool reset = false;

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 64, HDR + 4096);
	int fd = vb_connect(&b, 8200, 1u << 20);
	for (int i = 0; i < 64 && !reset; i++) {
		vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 8200, CONNECT_PORT, sizeof(chunk)), chunk);
		while (vb_recv(&b, &h, NULL, 0))
			reset |= le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
	}
	CHECK(reset);
	CHECK_EQ_INT(b.vsock.counters.credit_violations, 1);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	close(fd);
	vb_destroy(&b);
}

/* The host connects to the listening port: the guest gets a request, and
 * data flows once it answers; a refusal closes the host's connection. */
static int host_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	strcpy(addr.sun_path, listen_path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_listen(void)
{
	struct vsock_bench b;
	struct virtio_vsock_hdr h;
	char buf[16];

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 64, HDR + 4096);
	int fd = host_connect();
	CHECK(fd >= 0);
	vb_run(&b);
	CHECK(vb_recv(&b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	CHECK_EQ_INT(le32toh(h.dst_port), LISTEN_PORT);
	uint32_t host_port = le32toh(h.src_port);
	CHECK(host_port >= 1024);
	/* nothing flows before the answer */
	CHECK_EQ_INT(write(fd, "early", 5), 5);
	vb_run(&b);
	CHECK(!vb_recv(&b, &h, NULL, 0));
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RESPONSE, LISTEN_PORT, host_port, 0), NULL);
	CHECK(vb_recv(&b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK(memcmp(buf, "early", 5) == 0);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, LISTEN_PORT, host_port, 4), "pong");
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	close(fd);

	/* a guest with no listener answers RST: the host's connection ends */
	fd = host_connect();
	vb_run(&b);
	CHECK(vb_recv(&b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RST, LISTEN_PORT, le32toh(h.src_port), 0), NULL);
	CHECK(host_closed(fd));
	close(fd);
	vb_destroy(&b);
}

/* At most VSOCK_MAX_PENDING host connections wait for the guest's answer:
 * the others wait in the listener's backlog, and go on as answers come. */
static void test_pending_bound(void)
{
	struct vsock_bench b;
	struct virtio_vsock_hdr h;
	int fds[VSOCK_MAX_PENDING + 8];
	unsigned int requests = 0;

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, VB_QUEUE_SIZE - 1, HDR + 64);
	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		fds[i] = host_connect();
		CHECK(fds[i] >= 0);
		vb_run(&b);
	}
	uint32_t first_port = 0;
	while (vb_recv(&b, &h, NULL, 0)) {
		CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
		if (!first_port)
			first_port = le32toh(h.src_port);
		requests++;
	}
	CHECK_EQ_INT(requests, VSOCK_MAX_PENDING);
	CHECK_EQ_INT(b.vsock.nr_pending, VSOCK_MAX_PENDING);
	/* one answered: one more offered */
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RESPONSE, LISTEN_PORT, first_port, 0), NULL);
	CHECK(vb_recv(&b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	CHECK(!vb_recv(&b, &h, NULL, 0));
	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	vb_destroy(&b);
}

/* Past the connection limit, the guest's requests get a RST. */
static void test_connection_bound(void)
{
	struct vsock_bench b;
	int fds[4];

	vb_init(&b, 4);
	vb_offer(&b, 16, HDR + 64);
	for (unsigned int i = 0; i < 4; i++)
		fds[i] = vb_connect(&b, 9000 + i, 4096);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 9004, CONNECT_PORT, 0), NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 9004, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.counters.over_limit, 1);
	/* one closes: room again */
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RST, 9000, CONNECT_PORT, 0), NULL);
	CHECK(host_closed(fds[0]));
	close(fds[0]);
	fds[0] = vb_connect(&b, 9004, 4096);
	for (unsigned int i = 0; i < 4; i++)
		close(fds[i]);
	vb_destroy(&b);
}

/* Resets the guest cannot receive yet wait, up to VSOCK_MAX_REPLIES; then
 * the device stops taking its packets until it gives buffers. */
static void test_replies_wait_for_buffers(void)
{
	struct vsock_bench b;
	struct virtio_vsock_hdr h;
	unsigned int resets = 0;

	vb_init(&b, VSOCK_MAX_CONNS);
	for (unsigned int i = 0; i < VSOCK_MAX_REPLIES + 10; i++) {
		h = vb_hdr(VIRTIO_VSOCK_OP_REQUEST, 9100 + i, 4242, 0);
		vqd_add_chain(&b.driver, VSOCK_TX_QUEUE, &(struct vqd_seg){ .data = &h, .len = HDR },
			      1);
	}
	vqd_kick(&b.driver, VSOCK_TX_QUEUE);
	vb_run(&b);
	CHECK_EQ_INT(b.vsock.nr_replies, VSOCK_MAX_REPLIES);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VSOCK_TX_QUEUE), VSOCK_MAX_REPLIES);
	vb_offer(&b, VB_QUEUE_SIZE - 1, HDR);
	while (vb_recv(&b, &h, NULL, 0))
		resets += le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
	CHECK_EQ_INT(resets, VSOCK_MAX_REPLIES + 10);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VSOCK_TX_QUEUE), VSOCK_MAX_REPLIES + 10);
	vb_destroy(&b);
}

/* A device reset drops every connection: the host's ends close. */
static void test_device_reset(void)
{
	struct vsock_bench b;

	vb_init(&b, VSOCK_MAX_CONNS);
	vb_offer(&b, 16, HDR + 64);
	int fd = vb_connect(&b, 9200, 4096);
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	vb_run(&b);
	CHECK(host_closed(fd));
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	close(fd);
	vb_destroy(&b);
}

/* ---- an endpoint that reads a request (as TSI's does) ---- */

#define REQUEST_PORT 3000

/* The fake's request: a line. "ok" connects to the test's unix listener
 * (the reply "hi\n" once connected), "big N" too after a prefix of N
 * bytes (i % 251), "no" leads nowhere (the reply "no\n", then the end),
 * anything else is malformed. */
static int fake_request(const struct vsock_endpoint *ep, struct vsock_conn *c,
			const uint8_t *bytes, uint32_t len, struct vsock_request *req)
{
	const uint8_t *nl = memchr(bytes, '\n', len);
	char line[VSOCK_REQUEST_MAX + 1];
	static uint8_t big[VSOCK_PREFIX_MAX + 1];
	unsigned int n;
	int fd;

	if (!nl)
		return 0;
	memcpy(line, bytes, (size_t)(nl - bytes));
	line[nl - bytes] = 0;
	if (strcmp(line, "no") == 0) {
		CHECK_EQ_INT(vsock_conn_prefix(c, "no\n", 3), 0);
		return (int)(nl - bytes + 1);
	}
	if (sscanf(line, "big %u", &n) == 1) {
		for (unsigned int i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i % 251);
		if (vsock_conn_prefix(c, big, n) < 0)
			return -ENOSPC;
	} else if (strcmp(line, "ok") != 0) {
		return -EINVAL;
	}
	CHECK_EQ_INT(ep->ops == NULL, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strcpy(addr.sun_path, connect_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	*req = (struct vsock_request){ .fd = fd, .connecting = true };
	return (int)(nl - bytes + 1);
}

static int fake_finish_connect(const struct vsock_endpoint *ep, struct vsock_conn *c, int fd)
{
	(void)ep;
	(void)fd;
	return vsock_conn_prefix(c, "hi\n", 3);
}

static void fake_destroy(struct vsock_endpoint *ep)
{
	free(ep);
}

static const struct vsock_endpoint_ops fake_ops = {
	.request = fake_request,
	.finish_connect = fake_finish_connect,
	.destroy = fake_destroy,
};

static struct vsock_endpoint *fake_endpoint(void)
{
	struct vsock_endpoint *ep = calloc(1, sizeof(*ep));

	*ep = (struct vsock_endpoint){ .ops = &fake_ops, .port = REQUEST_PORT, .listen_fd = -1,
				       .kind = "fake" };
	return ep;
}

/* The guest's next packet on the request port must be data: its bytes. */
static uint32_t recv_data(struct vsock_bench *b, uint32_t guest_port, char *buf, size_t cap)
{
	struct virtio_vsock_hdr h;

	CHECK(vb_recv(b, &h, buf, cap));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ_INT(le32toh(h.dst_port), guest_port);
	CHECK_EQ_INT(le32toh(h.src_port), REQUEST_PORT);
	return le32toh(h.len);
}

/* A request split over three packets, the last with bytes for the host
 * after it: the host gets those bytes, the guest the prefix before any of
 * the host's; the credit counts the request's bytes as taken. */
static void test_request_split(void)
{
	struct vsock_bench b;
	char buf[64];

	vb_init_with(&b, VSOCK_MAX_CONNS, fake_endpoint());
	vb_offer(&b, 16, HDR + 4096);
	vb_open(&b, 10000, REQUEST_PORT, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10000, REQUEST_PORT, 1), "o");
	CHECK_EQ_INT(accept4(b.host_listener, NULL, NULL, SOCK_CLOEXEC), -1);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10000, REQUEST_PORT, 1), "k");
	CHECK(!vb_recv(&b, &(struct virtio_vsock_hdr){ 0 }, NULL, 0));
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10000, REQUEST_PORT, 6), "\nextra");
	int fd = accept4(b.host_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "host", 4), 4);
	vb_run(&b);
	CHECK_EQ_INT(recv_data(&b, 10000, buf, sizeof(buf)), 3);
	CHECK(memcmp(buf, "hi\n", 3) == 0);
	CHECK_EQ_INT(recv_data(&b, 10000, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "host", 4) == 0);
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "extra", 5) == 0);
	/* all 8 bytes taken: a credit request tells so */
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 10000, REQUEST_PORT, 0), NULL);
	struct virtio_vsock_hdr h = vb_expect(&b, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 10000,
					      REQUEST_PORT);
	CHECK_EQ_INT(le32toh(h.fwd_cnt), 8);
	close(fd);
	vb_destroy(&b);
}

/* A request longer than VSOCK_REQUEST_MAX, a malformed one, and one that
 * leads nowhere: the first two are reset and counted, the third hears its
 * prefix and then the end of the stream. */
static void test_request_refused(void)
{
	struct vsock_bench b;
	static char line[VSOCK_REQUEST_MAX + 1];
	char buf[16];

	vb_init_with(&b, VSOCK_MAX_CONNS, fake_endpoint());
	vb_offer(&b, 16, HDR + 4096);
	memset(line, 'x', sizeof(line));
	vb_open(&b, 10100, REQUEST_PORT, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10100, REQUEST_PORT, 100), line);
	CHECK(!vb_recv(&b, &(struct virtio_vsock_hdr){ 0 }, NULL, 0));
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10100, REQUEST_PORT, sizeof(line) - 100), line);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 10100, REQUEST_PORT);
	CHECK_EQ_INT(b.vsock.counters.bad_requests, 1);
	vb_open(&b, 10101, REQUEST_PORT, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10101, REQUEST_PORT, 4), "what");
	CHECK(!vb_recv(&b, &(struct virtio_vsock_hdr){ 0 }, NULL, 0));
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10101, REQUEST_PORT, 1), "\n");
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 10101, REQUEST_PORT);
	CHECK_EQ_INT(b.vsock.counters.bad_requests, 2);
	vb_open(&b, 10102, REQUEST_PORT, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10102, REQUEST_PORT, 3), "no\n");
	CHECK_EQ_INT(recv_data(&b, 10102, buf, sizeof(buf)), 3);
	CHECK(memcmp(buf, "no\n", 3) == 0);
	struct virtio_vsock_hdr h = vb_expect(&b, VIRTIO_VSOCK_OP_SHUTDOWN, 10102, REQUEST_PORT);
	CHECK(le32toh(h.flags) & VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* bytes the guest sends then have nowhere to go: taken, not a reset */
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10102, REQUEST_PORT, 3), "abc");
	CHECK(!vb_recv(&b, &h, NULL, 0));
	h = vb_hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 10102, REQUEST_PORT, 0);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	vb_send(&b, h, NULL);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 10102, REQUEST_PORT);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	CHECK_EQ_INT(b.vsock.counters.host_errors, 0);
	vb_destroy(&b);
}

/* A prefix larger than the guest's credit goes as the credit allows,
 * and the host's bytes only after it; the largest prefix is bounded. */
static void test_prefix_waits_for_credit(void)
{
	struct vsock_bench b;
	static char got[1000];
	struct virtio_vsock_hdr h;

	vb_init_with(&b, VSOCK_MAX_CONNS, fake_endpoint());
	vb_offer(&b, 32, HDR + 4096);
	vb_open(&b, 10200, REQUEST_PORT, 100);
	h = vb_hdr(VIRTIO_VSOCK_OP_RW, 10200, REQUEST_PORT, 8);
	h.buf_alloc = htole32(100);
	vb_send(&b, h, "big 250\n");
	int fd = accept4(b.host_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, "host", 4), 4);
	vb_run(&b);
	CHECK_EQ_INT(recv_data(&b, 10200, got, sizeof(got)), 100);
	CHECK(!vb_recv(&b, &h, NULL, 0));
	uint32_t seen = 100;
	while (seen < 250 + 3) {
		h = vb_hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 10200, REQUEST_PORT, 0);
		h.buf_alloc = htole32(100);
		h.fwd_cnt = htole32(seen);
		vb_send(&b, h, NULL);
		uint32_t n = recv_data(&b, 10200, got + seen % 100, sizeof(got) - seen % 100);
		CHECK(n > 0 && n <= 100);
		for (uint32_t i = 0; i < n && seen + i < 250; i++)
			CHECK_EQ_INT((uint8_t)got[seen % 100 + i], (seen + i) % 251);
		seen += n;
		if (seen < 253)
			CHECK(!vb_recv(&b, &h, NULL, 0));
	}
	CHECK_EQ_INT(seen, 253); /* the prefix, then "hi\n" of the connect */
	/* then, in the credit left, the host's bytes */
	CHECK_EQ_INT(recv_data(&b, 10200, got, sizeof(got)), 4);
	CHECK(memcmp(got, "host", 4) == 0);
	close(fd);
	vb_run(&b);
	vb_expect(&b, VIRTIO_VSOCK_OP_SHUTDOWN, 10200, REQUEST_PORT);
	/* past VSOCK_PREFIX_MAX: the fake refuses, reset */
	vb_open(&b, 10201, REQUEST_PORT, 1u << 20);
	snprintf(got, sizeof(got), "big %u\n", VSOCK_PREFIX_MAX + 1);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10201, REQUEST_PORT, (uint32_t)strlen(got)), got);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 10201, REQUEST_PORT);
	vb_destroy(&b);
}

/* A request not whole by its deadline: reset and counted. The deadline
 * is moved to now rather than waited for. */
static void test_request_deadline(void)
{
	struct vsock_bench b;

	vb_init_with(&b, VSOCK_MAX_CONNS, fake_endpoint());
	vb_offer(&b, 16, HDR + 4096);
	vb_open(&b, 10300, REQUEST_PORT, 1u << 20);
	vb_open(&b, 10301, REQUEST_PORT, 1u << 20);
	vb_send(&b, vb_hdr(VIRTIO_VSOCK_OP_RW, 10300, REQUEST_PORT, 1), "o");
	CHECK(vb_run(&b) == 0); /* nothing pending: the loop is idle */
	TAILQ_FIRST(&b.vsock.awaiting)->request_deadline = 0;
	CHECK_EQ_INT(timerfd_settime(b.vsock.timer_fd, 0,
				     &(struct itimerspec){ .it_value.tv_nsec = 1000 }, NULL), 0);
	usleep(1000);
	vb_run(&b);
	vb_expect(&b, VIRTIO_VSOCK_OP_RST, 10300, REQUEST_PORT);
	CHECK_EQ_INT(b.vsock.counters.request_timeouts, 1);
	CHECK_EQ_INT(b.vsock.nr_conns, 1); /* the other still waits */
	vb_destroy(&b);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the VMM does */
	alarm(60);		  /* a device that hangs fails the test */
	log_set_level(getenv("TEST_LOG") ? LOG_DEBUG : LOG_OFF);
	if (vsock_driver_setup() < 0) {
		fprintf(stderr, "cannot map guest memory or make a directory\n");
		return 1;
	}
	test_identity();
	test_connect_and_data();
	test_refused();
	test_bad_headers();
	test_credit_to_guest();
	test_guest_never_reads();
	test_guest_beyond_credit();
	test_listen();
	test_pending_bound();
	test_connection_bound();
	test_replies_wait_for_buffers();
	test_device_reset();
	test_request_split();
	test_request_refused();
	test_prefix_waits_for_credit();
	test_request_deadline();
	unlink(connect_path);
	CHECK(access(listen_path, F_OK) < 0); /* removed at the end of each VM */
	rmdir(vsock_dir);
	return CHECK_DONE();
}
