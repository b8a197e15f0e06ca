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
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "base/log.h"
#include "check.h"
#include "virtq_driver.h"
#include "devices/vsock/virtio_vsock.h"
#include "virtio/mmio.h"

#define MEM_SIZE (64u << 20)
#define QUEUE_SIZE 128
#define RINGS_GPA 0x1000
#define BUFS_GPA 0x10000
#define SLOT_BASE 0xd0000000ull
#define HDR VSOCK_HDR_LEN
#define CONNECT_PORT 1000 /* the guest connects to the host's unix listener */
#define LISTEN_PORT 2000  /* the device listens for the host, the guest's listener */

static struct guest_memory gm;
static char dir[] = "/tmp/test-vsock-XXXXXX";
static char connect_path[108], listen_path[108];

struct bench {
	struct event_loop loop;
	struct virtio_vsock vsock;
	struct virtio_mmio t;
	struct virtq_driver driver;
	int host_listener;	       /* the test's listener behind CONNECT_PORT */
	uint64_t rx_gpa[QUEUE_SIZE];   /* each offered receive buffer, by head */
	uint16_t rx_seen;	       /* used receive entries read so far */
};

static void no_irq(void *opaque)
{
	(void)opaque;
}

static void bench_init(struct bench *b, unsigned int max_conns)
{
	const struct virtio_mmio_config cfg = { .base = SLOT_BASE, .irq = 5, .raise_irq = no_irq };
	struct vsock_endpoint **eps = calloc(2, sizeof(*eps));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	*b = (struct bench){ 0 };
	b->driver = (struct virtq_driver){
		.t = &b->t, .gm = &gm, .queue_size = QUEUE_SIZE, .rings_gpa = RINGS_GPA,
		.bufs_gpa = BUFS_GPA, .bufs_end = MEM_SIZE,
	};
	unlink(connect_path);
	strcpy(addr.sun_path, connect_path);
	b->host_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(bind(b->host_listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_EQ_INT(listen(b->host_listener, 64), 0);
	CHECK_EQ_INT(vsock_unix_endpoint_open(CONNECT_PORT, connect_path, false, &eps[0]), 0);
	CHECK_EQ_INT(vsock_unix_endpoint_open(LISTEN_PORT, listen_path, true, &eps[1]), 0);
	CHECK_EQ_INT(event_loop_init(&b->loop), 0);
	CHECK_EQ_INT(virtio_vsock_init(&b->vsock, eps, 2, max_conns, &b->loop), 0);
	CHECK_EQ_INT(virtio_mmio_init(&b->t, &b->vsock.vdev, &gm, &cfg), 0);
	vqd_start(&b->driver, 1ull << VIRTIO_F_VERSION_1, VSOCK_NR_QUEUES);
}

static void bench_destroy(struct bench *b)
{
	virtio_mmio_destroy(&b->t);
	virtio_vsock_release_host(&b->vsock);
	virtio_vsock_destroy(&b->vsock);
	event_loop_destroy(&b->loop);
	close(b->host_listener);
}

static int run_until_idle(struct bench *b)
{
	int turns = 0;

	while (turns < 1000 && event_loop_run_once(&b->loop, 0) > 0)
		turns++;
	return turns;
}

static struct virtio_vsock_hdr hdr_of(uint16_t op, uint32_t guest_port, uint32_t host_port,
				      uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = htole64(VSOCK_GUEST_CID), .dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(guest_port), .dst_port = htole32(host_port),
		.len = htole32(len), .type = htole16(VIRTIO_VSOCK_TYPE_STREAM), .op = htole16(op),
		.buf_alloc = htole32(1u << 20),
	};
}

/* The guest sends h and len bytes of payload, in two buffers. */
static void guest_send_raw(struct bench *b, const struct virtio_vsock_hdr *h, uint32_t hdr_len,
			   const void *payload, uint32_t len)
{
	struct vqd_seg segs[2] = { { .data = h, .len = hdr_len }, { .data = payload, .len = len } };

	vqd_add_chain(&b->driver, VSOCK_TX_QUEUE, segs, len ? 2 : 1);
	vqd_kick(&b->driver, VSOCK_TX_QUEUE);
	run_until_idle(b);
}

static void guest_send(struct bench *b, struct virtio_vsock_hdr h, const void *payload)
{
	guest_send_raw(b, &h, HDR, payload, le32toh(h.len));
}

/* n receive buffers of size bytes each, kicked. */
static void guest_offer(struct bench *b, unsigned int n, uint32_t size)
{
	for (unsigned int i = 0; i < n; i++) {
		struct vqd_seg seg = { .len = size };
		uint16_t head = vqd_add_chain(&b->driver, VSOCK_RX_QUEUE, &seg, 1);
		b->rx_gpa[head] = seg.gpa;
	}
	vqd_kick(&b->driver, VSOCK_RX_QUEUE);
	run_until_idle(b);
}

/* The device's next packet to the guest: false when there is none. */
static bool guest_recv(struct bench *b, struct virtio_vsock_hdr *h, void *payload, size_t cap)
{
	struct vring_used *used = vqd_used(&b->driver, VSOCK_RX_QUEUE);

	if (vqd_used_idx(&b->driver, VSOCK_RX_QUEUE) == b->rx_seen)
		return false;
	struct vring_used_elem e = used->ring[b->rx_seen++ % QUEUE_SIZE];
	uint64_t gpa = b->rx_gpa[e.id];
	CHECK(e.len >= HDR);
	memcpy(h, gm_ptr(&gm, gpa, HDR), HDR);
	CHECK_EQ_INT(le32toh(h->len), e.len - HDR);
	CHECK(e.len - HDR <= cap);
	if (payload && e.len > HDR)
		memcpy(payload, gm_ptr(&gm, gpa + HDR, e.len - HDR), e.len - HDR);
	return true;
}

/* The next packet must be op for the connection (guest_port, host_port). */
static struct virtio_vsock_hdr expect(struct bench *b, uint16_t op, uint32_t guest_port,
				      uint32_t host_port)
{
	struct virtio_vsock_hdr h = { 0 };

	CHECK(guest_recv(b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), op);
	CHECK_EQ_INT(le64toh(h.src_cid), VSOCK_HOST_CID);
	CHECK_EQ_INT(le64toh(h.dst_cid), VSOCK_GUEST_CID);
	CHECK_EQ_INT(le32toh(h.src_port), host_port);
	CHECK_EQ_INT(le32toh(h.dst_port), guest_port);
	CHECK_EQ_INT(le16toh(h.type), VIRTIO_VSOCK_TYPE_STREAM);
	return h;
}

/* The guest connects from guest_port to CONNECT_PORT: the host's side of it. */
static int guest_connect(struct bench *b, uint32_t guest_port, uint32_t buf_alloc)
{
	struct virtio_vsock_hdr h = hdr_of(VIRTIO_VSOCK_OP_REQUEST, guest_port, CONNECT_PORT, 0);

	h.buf_alloc = htole32(buf_alloc);
	guest_send(b, h, NULL);
	int fd = accept4(b->host_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(fd >= 0);
	struct virtio_vsock_hdr r = expect(b, VIRTIO_VSOCK_OP_RESPONSE, guest_port, CONNECT_PORT);
	CHECK_EQ_INT(le32toh(r.buf_alloc), VSOCK_BUF_ALLOC);
	return fd;
}

/* Whether the host's side of a connection was closed (end of file). */
static bool host_closed(int fd)
{
	char c;

	return read(fd, &c, 1) == 0;
}

static void test_identity(void)
{
	struct bench b;
	uint64_t cid = 0;

	bench_init(&b, VSOCK_MAX_CONNS);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG, &cid, 4);
	CHECK_EQ_INT(le64toh(cid), VSOCK_GUEST_CID);
	bench_destroy(&b);
}

/* A connection to the host's unix socket: data both ways, then a clean
 * close from the guest; the end of the host's stream told to the guest. */
static void test_connect_and_data(void)
{
	struct bench b;
	char buf[64];

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 16, HDR + 4096);
	int fd = guest_connect(&b, 5000, 1u << 20);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RW, 5000, CONNECT_PORT, 5), "hello");
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ_INT(write(fd, "world!", 6), 6);
	run_until_idle(&b);
	struct virtio_vsock_hdr h;
	CHECK(guest_recv(&b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK_EQ_INT(le32toh(h.len), 6);
	CHECK(memcmp(buf, "world!", 6) == 0);
	CHECK_EQ_INT(le32toh(h.fwd_cnt), 5); /* the guest's 5 bytes went to the host */
	/* a credit request is answered */
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 5000, CONNECT_PORT, 0), NULL);
	expect(&b, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, CONNECT_PORT);
	/* the guest's half-close reaches the host as end of file */
	h = hdr_of(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, CONNECT_PORT, 0);
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(&b, h, NULL);
	CHECK(host_closed(fd));
	/* then its full close is answered with a RST, and the host's end closed */
	h.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(&b, h, NULL);
	expect(&b, VIRTIO_VSOCK_OP_RST, 5000, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	CHECK_EQ_INT(write(fd, "x", 1), -1);
	close(fd);

	/* the host closing first: the guest hears the end of the stream */
	fd = guest_connect(&b, 5001, 1u << 20);
	close(fd);
	run_until_idle(&b);
	h = expect(&b, VIRTIO_VSOCK_OP_SHUTDOWN, 5001, CONNECT_PORT);
	CHECK(le32toh(h.flags) & VIRTIO_VSOCK_SHUTDOWN_SEND);
	bench_destroy(&b);
}

/* Requests to unmapped ports, to the listening port (host-initiated only)
 * and to a host socket nobody listens on get a RST; packets of no
 * connection too, except a RST. */
static void test_refused(void)
{
	struct bench b;
	struct virtio_vsock_hdr h;

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 16, HDR + 4096);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_REQUEST, 6000, 4242, 0), NULL);
	expect(&b, VIRTIO_VSOCK_OP_RST, 6000, 4242);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_REQUEST, 6000, LISTEN_PORT, 0), NULL);
	expect(&b, VIRTIO_VSOCK_OP_RST, 6000, LISTEN_PORT);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RW, 6000, CONNECT_PORT, 3), "abc");
	expect(&b, VIRTIO_VSOCK_OP_RST, 6000, CONNECT_PORT);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RST, 6000, CONNECT_PORT, 0), NULL);
	CHECK(!guest_recv(&b, &h, NULL, 0));
	close(b.host_listener);
	b.host_listener = -1;
	unlink(connect_path);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_REQUEST, 6001, CONNECT_PORT, 0), NULL);
	expect(&b, VIRTIO_VSOCK_OP_RST, 6001, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	bench_destroy(&b);
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
	struct bench b;

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 64, HDR + 4096);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t port = 7000 + i;
		int failures = check_failures;
		int fd = guest_connect(&b, port, 1u << 20);
		struct virtio_vsock_hdr h = hdr_of(cases[i].op, port, CONNECT_PORT, 4);
		h.src_cid = htole64(cases[i].src_cid);
		h.dst_cid = htole64(cases[i].dst_cid);
		h.type = htole16(cases[i].type);
		guest_send_raw(&b, &h, HDR, "abcde", 4 + cases[i].len_delta);
		expect(&b, VIRTIO_VSOCK_OP_RST, port, CONNECT_PORT);
		CHECK(host_closed(fd));
		CHECK_EQ_INT(b.vsock.nr_conns, 0);
		if (check_failures != failures)
			fprintf(stderr, "  (the packet with %s)\n", cases[i].what);
		close(fd);
	}
	/* a packet shorter than a header cannot be answered: dropped */
	struct virtio_vsock_hdr h = hdr_of(VIRTIO_VSOCK_OP_REQUEST, 7100, CONNECT_PORT, 0);
	guest_send_raw(&b, &h, HDR - 1, NULL, 0);
	CHECK_EQ_INT(b.vsock.counters.unreadable, 1);
	CHECK(!guest_recv(&b, &h, NULL, 0));
	/* a payload past the largest packet */
	static uint8_t big[VSOCK_MAX_PAYLOAD + 1];
	int fd = guest_connect(&b, 7101, 1u << 20);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RW, 7101, CONNECT_PORT, sizeof(big)), big);
	expect(&b, VIRTIO_VSOCK_OP_RST, 7101, CONNECT_PORT);
	close(fd);
	bench_destroy(&b);
}

/* The device sends no more than the guest's credit, and goes on when the
 * guest reports room; a guest claiming to have read more than it got is
 * reset. */
static void test_credit_to_guest(void)
{
	struct bench b;
	static char out[1000], got[1000];
	struct virtio_vsock_hdr h;

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 32, HDR + 4096);
	int fd = guest_connect(&b, 8000, 100);
	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (char)i;
	CHECK_EQ_INT(write(fd, out, 300), 300);
	run_until_idle(&b);
	CHECK(guest_recv(&b, &h, got, sizeof(got)));
	CHECK_EQ_INT(le32toh(h.len), 100);
	CHECK(!guest_recv(&b, &h, got, sizeof(got)));
	/* room for 100 more */
	h = hdr_of(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 8000, CONNECT_PORT, 0);
	h.buf_alloc = htole32(100);
	h.fwd_cnt = htole32(100);
	guest_send(&b, h, NULL);
	CHECK(guest_recv(&b, &h, got, sizeof(got)));
	CHECK_EQ_INT(le32toh(h.len), 100);
	CHECK(memcmp(got, out + 100, 100) == 0);
	/* a lie: 300 bytes read of the 200 sent */
	h = hdr_of(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 8000, CONNECT_PORT, 0);
	h.buf_alloc = htole32(100);
	h.fwd_cnt = htole32(300);
	guest_send(&b, h, NULL);
	expect(&b, VIRTIO_VSOCK_OP_RST, 8000, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.counters.credit_violations, 1);
	close(fd);
	bench_destroy(&b);
}

/* A guest that never reads stalls its own connection only: the device
 * stops reading that host socket (whose writer then waits), while another
 * connection goes on. */
static void test_guest_never_reads(void)
{
	struct bench b;
	static char chunk[65536];
	struct virtio_vsock_hdr h;
	char buf[16];

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 64, HDR + 4096);
	int stalled = guest_connect(&b, 8100, 4096);
	int other = guest_connect(&b, 8101, 1u << 20);
	size_t written = 0;
	for (int i = 0; i < 200; i++) {
		ssize_t n = write(stalled, chunk, sizeof(chunk));
		if (n < 0) {
			CHECK_EQ_INT(errno, EAGAIN);
			break;
		}
		written += (size_t)n;
		run_until_idle(&b);
	}
	CHECK(written < 200 * sizeof(chunk)); /* the host's writer was made to wait */
	CHECK(run_until_idle(&b) < 3);	      /* and the loop is idle, not spinning */
	unsigned int packets = 0;
	while (guest_recv(&b, &h, NULL, 65536))
		packets++;
	CHECK(packets >= 1 && packets <= 2); /* 4096 bytes of credit */
	CHECK_EQ_INT(write(other, "ping", 4), 4);
	run_until_idle(&b);
	CHECK(guest_recv(&b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le32toh(h.src_port), CONNECT_PORT);
	CHECK_EQ_INT(le32toh(h.dst_port), 8101);
	CHECK(memcmp(buf, "ping", 4) == 0);
	close(stalled);
	close(other);
	bench_destroy(&b);
}

/* A guest sending beyond our credit, to a host that does not read, is
 * reset once the buffer (VSOCK_BUF_ALLOC) is full, never held beyond it. */
static void test_guest_beyond_credit(void)
{
	struct bench b;
	static char chunk[VSOCK_MAX_PAYLOAD];
	struct virtio_vsock_hdr h;
	bool reset = false;

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 64, HDR + 4096);
	int fd = guest_connect(&b, 8200, 1u << 20);
	for (int i = 0; i < 64 && !reset; i++) {
		guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RW, 8200, CONNECT_PORT, sizeof(chunk)), chunk);
		while (guest_recv(&b, &h, NULL, 0))
			reset |= le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
	}
	CHECK(reset);
	CHECK_EQ_INT(b.vsock.counters.credit_violations, 1);
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	close(fd);
	bench_destroy(&b);
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
	struct bench b;
	struct virtio_vsock_hdr h;
	char buf[16];

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 64, HDR + 4096);
	int fd = host_connect();
	CHECK(fd >= 0);
	run_until_idle(&b);
	CHECK(guest_recv(&b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	CHECK_EQ_INT(le32toh(h.dst_port), LISTEN_PORT);
	uint32_t host_port = le32toh(h.src_port);
	CHECK(host_port >= 1024);
	/* nothing flows before the answer */
	CHECK_EQ_INT(write(fd, "early", 5), 5);
	run_until_idle(&b);
	CHECK(!guest_recv(&b, &h, NULL, 0));
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RESPONSE, LISTEN_PORT, host_port, 0), NULL);
	CHECK(guest_recv(&b, &h, buf, sizeof(buf)));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	CHECK(memcmp(buf, "early", 5) == 0);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RW, LISTEN_PORT, host_port, 4), "pong");
	CHECK_EQ_INT(read(fd, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	close(fd);

	/* a guest with no listener answers RST: the host's connection ends */
	fd = host_connect();
	run_until_idle(&b);
	CHECK(guest_recv(&b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RST, LISTEN_PORT, le32toh(h.src_port), 0), NULL);
	CHECK(host_closed(fd));
	close(fd);
	bench_destroy(&b);
}

/* At most VSOCK_MAX_PENDING host connections wait for the guest's answer:
 * the others wait in the listener's backlog, and go on as answers come. */
static void test_pending_bound(void)
{
	struct bench b;
	struct virtio_vsock_hdr h;
	int fds[VSOCK_MAX_PENDING + 8];
	unsigned int requests = 0;

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, QUEUE_SIZE - 1, HDR + 64);
	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		fds[i] = host_connect();
		CHECK(fds[i] >= 0);
		run_until_idle(&b);
	}
	uint32_t first_port = 0;
	while (guest_recv(&b, &h, NULL, 0)) {
		CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
		if (!first_port)
			first_port = le32toh(h.src_port);
		requests++;
	}
	CHECK_EQ_INT(requests, VSOCK_MAX_PENDING);
	CHECK_EQ_INT(b.vsock.nr_pending, VSOCK_MAX_PENDING);
	/* one answered: one more offered */
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RESPONSE, LISTEN_PORT, first_port, 0), NULL);
	CHECK(guest_recv(&b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	CHECK(!guest_recv(&b, &h, NULL, 0));
	for (unsigned int i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	bench_destroy(&b);
}

/* Past the connection limit, the guest's requests get a RST. */
static void test_connection_bound(void)
{
	struct bench b;
	int fds[4];

	bench_init(&b, 4);
	guest_offer(&b, 16, HDR + 64);
	for (unsigned int i = 0; i < 4; i++)
		fds[i] = guest_connect(&b, 9000 + i, 4096);
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_REQUEST, 9004, CONNECT_PORT, 0), NULL);
	expect(&b, VIRTIO_VSOCK_OP_RST, 9004, CONNECT_PORT);
	CHECK_EQ_INT(b.vsock.counters.over_limit, 1);
	/* one closes: room again */
	guest_send(&b, hdr_of(VIRTIO_VSOCK_OP_RST, 9000, CONNECT_PORT, 0), NULL);
	CHECK(host_closed(fds[0]));
	close(fds[0]);
	fds[0] = guest_connect(&b, 9004, 4096);
	for (unsigned int i = 0; i < 4; i++)
		close(fds[i]);
	bench_destroy(&b);
}

/* Resets the guest cannot receive yet wait, up to VSOCK_MAX_REPLIES; then
 * the device stops taking its packets until it gives buffers. */
static void test_replies_wait_for_buffers(void)
{
	struct bench b;
	struct virtio_vsock_hdr h;
	unsigned int resets = 0;

	bench_init(&b, VSOCK_MAX_CONNS);
	for (unsigned int i = 0; i < VSOCK_MAX_REPLIES + 10; i++) {
		h = hdr_of(VIRTIO_VSOCK_OP_REQUEST, 9100 + i, 4242, 0);
		vqd_add_chain(&b.driver, VSOCK_TX_QUEUE, &(struct vqd_seg){ .data = &h, .len = HDR },
			      1);
	}
	vqd_kick(&b.driver, VSOCK_TX_QUEUE);
	run_until_idle(&b);
	CHECK_EQ_INT(b.vsock.nr_replies, VSOCK_MAX_REPLIES);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VSOCK_TX_QUEUE), VSOCK_MAX_REPLIES);
	guest_offer(&b, QUEUE_SIZE - 1, HDR);
	while (guest_recv(&b, &h, NULL, 0))
		resets += le16toh(h.op) == VIRTIO_VSOCK_OP_RST;
	CHECK_EQ_INT(resets, VSOCK_MAX_REPLIES + 10);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VSOCK_TX_QUEUE), VSOCK_MAX_REPLIES + 10);
	bench_destroy(&b);
}

/* A device reset drops every connection: the host's ends close. */
static void test_device_reset(void)
{
	struct bench b;

	bench_init(&b, VSOCK_MAX_CONNS);
	guest_offer(&b, 16, HDR + 64);
	int fd = guest_connect(&b, 9200, 4096);
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	run_until_idle(&b);
	CHECK(host_closed(fd));
	CHECK_EQ_INT(b.vsock.nr_conns, 0);
	close(fd);
	bench_destroy(&b);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the VMM does */
	alarm(60);		  /* a device that hangs fails the test */
	log_set_level(getenv("TEST_LOG") ? LOG_DEBUG : LOG_OFF);
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "cannot map guest memory or make a directory\n");
		return 1;
	}
	snprintf(connect_path, sizeof(connect_path), "%s/connect.sock", dir);
	snprintf(listen_path, sizeof(listen_path), "%s/listen.sock", dir);
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
	unlink(connect_path);
	CHECK(access(listen_path, F_OK) < 0); /* removed at the end of each VM */
	rmdir(dir);
	return CHECK_DONE();
}
