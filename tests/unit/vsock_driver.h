/* The guest's driver of one virtio-vsock device and the host's side of its
 * ports, for the unit tests that play them (test_virtio_vsock.c,
 * test_sandbox.c): a device with two unix endpoints (CONNECT_PORT to a
 * listener of the test's, LISTEN_PORT listened on by the device) behind
 * the MMIO transport, its queues driven through virtq_driver.h, the event
 * loop turned by hand. Paths under a directory the test makes (vsock_dir). */
#ifndef KRUN_TESTS_VSOCK_DRIVER_H
#define KRUN_TESTS_VSOCK_DRIVER_H

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "check.h"
#include "virtq_driver.h"
#include "devices/vsock/virtio_vsock.h"
#include "virtio/mmio.h"

#define VB_MEM_SIZE (64u << 20)
#define VB_QUEUE_SIZE 128
#define VB_RINGS_GPA 0x1000
#define VB_BUFS_GPA 0x10000
#define VB_SLOT_BASE 0xd0000000ull
#define CONNECT_PORT 1000 /* the guest connects to the host's unix listener */
#define LISTEN_PORT 2000  /* the device listens for the host, the guest's listener */

static struct guest_memory vb_gm;
static char vsock_dir[] = "/tmp/test-vsock-XXXXXX";
static char connect_path[108], listen_path[108];

struct vsock_bench {
	struct event_loop loop;
	struct virtio_vsock vsock;
	struct virtio_mmio t;
	struct virtq_driver driver;
	int host_listener;	       /* the test's listener behind CONNECT_PORT */
	uint64_t rx_gpa[VB_QUEUE_SIZE];   /* each offered receive buffer, by head */
	uint32_t rx_size[VB_QUEUE_SIZE];  /* and its size */
	uint16_t rx_seen;	       /* used receive entries read so far */
};

static inline void vb_no_irq(void *opaque)
{
	(void)opaque;
}

/* The device with the two unix endpoints, and extra (owned by it from
 * now on) when not NULL. */
static inline void vb_init_with(struct vsock_bench *b, unsigned int max_conns,
				struct vsock_endpoint *extra)
{
	const struct virtio_mmio_config cfg = { .base = VB_SLOT_BASE, .irq = 5, .raise_irq = vb_no_irq };
	struct vsock_endpoint **eps = calloc(3, sizeof(*eps));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	*b = (struct vsock_bench){ 0 };
	b->driver = (struct virtq_driver){
		.t = &b->t, .gm = &vb_gm, .queue_size = VB_QUEUE_SIZE, .rings_gpa = VB_RINGS_GPA,
		.bufs_gpa = VB_BUFS_GPA, .bufs_end = VB_MEM_SIZE,
	};
	unlink(connect_path);
	strcpy(addr.sun_path, connect_path);
	b->host_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK_EQ_INT(bind(b->host_listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_EQ_INT(listen(b->host_listener, 64), 0);
	CHECK_EQ_INT(vsock_unix_endpoint_open(CONNECT_PORT, connect_path, false, &eps[0]), 0);
	CHECK_EQ_INT(vsock_unix_endpoint_open(LISTEN_PORT, listen_path, true, &eps[1]), 0);
	CHECK_EQ_INT(event_loop_init(&b->loop), 0);
	eps[2] = extra;
	CHECK_EQ_INT(virtio_vsock_init(&b->vsock, eps, extra ? 3 : 2, max_conns, &b->loop), 0);
	CHECK_EQ_INT(virtio_mmio_init(&b->t, &b->vsock.vdev, &vb_gm, &cfg), 0);
	vqd_start(&b->driver, 1ull << VIRTIO_F_VERSION_1, VSOCK_NR_QUEUES);
}

static inline void vb_init(struct vsock_bench *b, unsigned int max_conns)
{
	vb_init_with(b, max_conns, NULL);
}

static inline void vb_destroy(struct vsock_bench *b)
{
	virtio_mmio_destroy(&b->t);
	virtio_vsock_release_host(&b->vsock);
	virtio_vsock_destroy(&b->vsock);
	event_loop_destroy(&b->loop);
	close(b->host_listener);
}

static inline int vb_run(struct vsock_bench *b)
{
	int turns = 0;

	while (turns < 1000 && event_loop_run_once(&b->loop, 0) > 0)
		turns++;
	return turns;
}

static inline struct virtio_vsock_hdr vb_hdr(uint16_t op, uint32_t guest_port, uint32_t host_port,
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
static inline void vb_send_raw(struct vsock_bench *b, const struct virtio_vsock_hdr *h, uint32_t hdr_len,
			   const void *payload, uint32_t len)
{
	struct vqd_seg segs[2] = { { .data = h, .len = hdr_len }, { .data = payload, .len = len } };

	vqd_add_chain(&b->driver, VSOCK_TX_QUEUE, segs, len ? 2 : 1);
	vqd_kick(&b->driver, VSOCK_TX_QUEUE);
	vb_run(b);
}

static inline void vb_send(struct vsock_bench *b, struct virtio_vsock_hdr h, const void *payload)
{
	vb_send_raw(b, &h, VSOCK_HDR_LEN, payload, le32toh(h.len));
}

/* n receive buffers of size bytes each, kicked. */
static inline void vb_offer(struct vsock_bench *b, unsigned int n, uint32_t size)
{
	for (unsigned int i = 0; i < n; i++) {
		struct vqd_seg seg = { .len = size };
		uint16_t head = vqd_add_chain(&b->driver, VSOCK_RX_QUEUE, &seg, 1);
		b->rx_gpa[head] = seg.gpa;
		b->rx_size[head] = size;
	}
	vqd_kick(&b->driver, VSOCK_RX_QUEUE);
	vb_run(b);
}

/* The device's next packet to the guest: false when there is none. A
 * buffer too small for a header comes back empty, and is skipped. */
static inline bool vb_recv(struct vsock_bench *b, struct virtio_vsock_hdr *h, void *payload, size_t cap)
{
	struct vring_used *used = vqd_used(&b->driver, VSOCK_RX_QUEUE);
	struct vring_used_elem e = { 0 };

	while (e.len == 0) {
		if (vqd_used_idx(&b->driver, VSOCK_RX_QUEUE) == b->rx_seen)
			return false;
		e = used->ring[b->rx_seen++ % VB_QUEUE_SIZE];
		CHECK(e.id < VB_QUEUE_SIZE && e.len <= b->rx_size[e.id]);
		CHECK(e.len == 0 ? b->rx_size[e.id] < VSOCK_HDR_LEN : e.len >= VSOCK_HDR_LEN);
	}
	uint64_t gpa = b->rx_gpa[e.id % VB_QUEUE_SIZE];
	memcpy(h, gm_ptr(&vb_gm, gpa, VSOCK_HDR_LEN), VSOCK_HDR_LEN);
	CHECK_EQ_INT(le32toh(h->len), e.len - VSOCK_HDR_LEN);
	CHECK(e.len - VSOCK_HDR_LEN <= cap);
	if (payload && e.len > VSOCK_HDR_LEN)
		memcpy(payload, gm_ptr(&vb_gm, gpa + VSOCK_HDR_LEN, e.len - VSOCK_HDR_LEN), e.len - VSOCK_HDR_LEN);
	return true;
}

/* The next packet must be op for the connection (guest_port, host_port). */
static inline struct virtio_vsock_hdr vb_expect(struct vsock_bench *b, uint16_t op, uint32_t guest_port,
				      uint32_t host_port)
{
	struct virtio_vsock_hdr h = { 0 };

	CHECK(vb_recv(b, &h, NULL, 0));
	CHECK_EQ_INT(le16toh(h.op), op);
	CHECK_EQ_INT(le64toh(h.src_cid), VSOCK_HOST_CID);
	CHECK_EQ_INT(le64toh(h.dst_cid), VSOCK_GUEST_CID);
	CHECK_EQ_INT(le32toh(h.src_port), host_port);
	CHECK_EQ_INT(le32toh(h.dst_port), guest_port);
	CHECK_EQ_INT(le16toh(h.type), VIRTIO_VSOCK_TYPE_STREAM);
	return h;
}

/* The guest connects from guest_port to CONNECT_PORT: the host's side of it. */
static inline int vb_connect(struct vsock_bench *b, uint32_t guest_port, uint32_t buf_alloc)
{
	struct virtio_vsock_hdr h = vb_hdr(VIRTIO_VSOCK_OP_REQUEST, guest_port, CONNECT_PORT, 0);

	h.buf_alloc = htole32(buf_alloc);
	vb_send(b, h, NULL);
	int fd = accept4(b->host_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(fd >= 0);
	struct virtio_vsock_hdr r = vb_expect(b, VIRTIO_VSOCK_OP_RESPONSE, guest_port, CONNECT_PORT);
	CHECK_EQ_INT(le32toh(r.buf_alloc), VSOCK_BUF_ALLOC);
	return fd;
}

/* The guest connects from guest_port to host_port, an endpoint that
 * answers at once (one reading a request): the response checked. */
static inline void vb_open(struct vsock_bench *b, uint32_t guest_port, uint32_t host_port,
			   uint32_t buf_alloc)
{
	struct virtio_vsock_hdr h = vb_hdr(VIRTIO_VSOCK_OP_REQUEST, guest_port, host_port, 0);

	h.buf_alloc = htole32(buf_alloc);
	vb_send(b, h, NULL);
	vb_expect(b, VIRTIO_VSOCK_OP_RESPONSE, guest_port, host_port);
}

/* Make the directory of the sockets and the guest's memory: 0 or -1. */
static inline int vsock_driver_setup(void)
{
	if (gm_add_anon(&vb_gm, 0, VB_MEM_SIZE) < 0 || !mkdtemp(vsock_dir))
		return -1;
	snprintf(connect_path, sizeof(connect_path), "%s/connect.sock", vsock_dir);
	snprintf(listen_path, sizeof(listen_path), "%s/listen.sock", vsock_dir);
	return 0;
}

#endif
