/* virtio-net through the MMIO transport, with the test as the guest's
 * driver (rings in fake guest memory) and as the peer on the host's side of
 * real sockets: frames both ways with each framing, gvproxy's greeting, a
 * hostile or vanishing peer, a guest with no receive buffers, a backend
 * that stops taking frames; then a tap, in a network namespace of the
 * test's own (which takes root), with a packet socket as its host side.
 * The event loop runs one turn at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>

#include "base/log.h"
#include "check.h"
#include "virtq_driver.h"
#include "devices/net/virtio_net.h"
#include "virtio/mmio.h"

#define MEM_SIZE (8u << 20)
#define QUEUE_SIZE 16
#define RINGS_GPA 0x1000
#define BUFS_GPA 0x10000
#define SLOT_BASE 0xd0000000ull
#define HDR NET_VNET_HDR_LEN

/* libkrun.h's COMPAT_NET_FEATURES, as virtio-net's bits */
#define COMPAT_FEATURES_FOR_TEST \
	(1u << VIRTIO_NET_F_CSUM | 1u << VIRTIO_NET_F_GUEST_CSUM | 1u << VIRTIO_NET_F_GUEST_TSO4 | \
	 1u << VIRTIO_NET_F_GUEST_UFO | 1u << VIRTIO_NET_F_HOST_TSO4 | 1u << VIRTIO_NET_F_HOST_UFO)

static struct guest_memory gm;
static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

struct bench {
	struct event_loop loop;
	struct virtio_net net;
	struct virtio_mmio t;
	struct virtq_driver driver;
	unsigned int irqs;
	int peer; /* the host side's socket */
};

static void count_irq(void *opaque)
{
	((struct bench *)opaque)->irqs++;
}

/* A device on backend, its transport, the driver not started. */
static void bench_init(struct bench *b, struct net_backend *backend, int peer, uint32_t features)
{
	const struct virtio_mmio_config cfg = {
		.base = SLOT_BASE, .irq = 5, .raise_irq = count_irq, .irq_opaque = b,
	};

	*b = (struct bench){ .peer = peer };
	b->driver = (struct virtq_driver){
		.t = &b->t, .gm = &gm, .queue_size = QUEUE_SIZE, .rings_gpa = RINGS_GPA,
		.bufs_gpa = BUFS_GPA, .bufs_end = MEM_SIZE,
	};
	CHECK_EQ_INT(event_loop_init(&b->loop), 0);
	CHECK_EQ_INT(virtio_net_init(&b->net, 0, mac, features, backend, &b->loop), 0);
	CHECK_EQ_INT(virtio_mmio_init(&b->t, &b->net.vdev, &gm, &cfg), 0);
}

/* The device over one end of a socket pair of type; the test keeps the other. */
static void bench_socketpair(struct bench *b, int type, uint32_t features)
{
	struct vm_net cfg = { .backend = type == SOCK_STREAM ? VM_NET_UNIXSTREAM : VM_NET_UNIXGRAM };
	struct net_backend *backend;
	int sv[2];

	CHECK_EQ_INT(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	cfg.fd = sv[0];
	CHECK_EQ_INT(type == SOCK_STREAM ? net_unixstream_open(&cfg, 0, &backend)
					 : net_unixgram_open(&cfg, 0, &backend), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	bench_init(b, backend, sv[1], features);
}

static void bench_destroy(struct bench *b)
{
	int fd = b->net.backend->fd;

	virtio_mmio_destroy(&b->t);
	virtio_net_destroy(&b->net);
	event_loop_destroy(&b->loop);
	close(fd); /* the client's: the backend leaves it open */
	if (b->peer >= 0)
		close(b->peer);
}

static void driver_up(struct bench *b, uint64_t features)
{
	vqd_start(&b->driver, features, VIRTIO_NET_NR_QUEUES);
}

/* The guest sends frame after hdr in two buffers. */
static void guest_send_hdr(struct bench *b, const struct virtio_net_hdr_v1 *hdr, const void *frame,
			   uint32_t len)
{
	struct vqd_seg segs[2] = { { .data = hdr, .len = HDR }, { .data = frame, .len = len } };

	vqd_add_chain(&b->driver, VIRTIO_NET_TX_QUEUE, segs, 2);
	vqd_kick(&b->driver, VIRTIO_NET_TX_QUEUE);
}

/* The same with a header that asks for nothing. */
static void guest_send(struct bench *b, const void *frame, uint32_t len)
{
	static const struct virtio_net_hdr_v1 none;

	guest_send_hdr(b, &none, frame, len);
}

/* The guest offers len bytes to receive into: the buffer's address. */
static uint64_t guest_offer(struct bench *b, uint32_t len, bool kicked)
{
	struct vqd_seg seg = { .len = len };

	vqd_add_chain(&b->driver, VIRTIO_NET_RX_QUEUE, &seg, 1);
	if (kicked)
		vqd_kick(&b->driver, VIRTIO_NET_RX_QUEUE);
	return seg.gpa;
}

/* Turns of the loop with events until it is idle: a watch that keeps
 * firing with nothing to do shows as a large count. */
static int run_until_idle(struct bench *b)
{
	int turns = 0;

	while (turns < 100 && event_loop_run_once(&b->loop, 0) > 0)
		turns++;
	return turns;
}

static uint16_t link_status(struct bench *b)
{
	uint16_t status = 0;

	virtio_mmio_read(&b->t, VIRTIO_MMIO_CONFIG + offsetof(struct virtio_net_config, status),
			 &status, sizeof(status));
	return status;
}

/* A recognisable frame of len bytes. */
static uint8_t *make_frame(uint32_t len, uint8_t seed)
{
	uint8_t *f = malloc(len);

	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
	return f;
}

static void stream_peer_send(int fd, const void *frame, uint32_t len)
{
	uint32_t prefix = htonl(len);

	CHECK_EQ_INT(write(fd, &prefix, 4), 4);
	CHECK_EQ_INT(write(fd, frame, len), len);
}

/* Read exactly len bytes of what the device sent the peer, turning the
 * loop while the device waits for room: false if a second passes idle. */
static bool peer_read(struct bench *b, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(b->peer, (uint8_t *)buf + got, len - got);
		if (n > 0) {
			got += n;
		} else if (n < 0 && errno == EAGAIN) {
			if (run_until_idle(b) == 0 &&
			    poll(&(struct pollfd){ .fd = b->peer, .events = POLLIN }, 1, 1000) <= 0)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* The received frame at gpa: the header the device wrote, then frame. */
static void check_received(uint64_t gpa, const uint8_t *frame, uint32_t len)
{
	struct virtio_net_hdr_v1 hdr;

	memcpy(&hdr, gm_ptr(&gm, gpa, HDR), HDR);
	CHECK_EQ_INT(hdr.flags, 0);
	CHECK_EQ_INT(hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_EQ_INT(hdr.num_buffers, 1);
	CHECK(memcmp(gm_ptr(&gm, gpa + HDR, len), frame, len) == 0);
}

static void test_identity(void)
{
	struct bench b;
	uint8_t cfg_mac[6];

	bench_socketpair(&b, SOCK_STREAM, COMPAT_FEATURES_FOR_TEST);
	CHECK_EQ_INT(rd(&b.t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	wr(&b.t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t low = rd(&b.t, VIRTIO_MMIO_DEVICE_FEATURES);
	CHECK_EQ_INT(low & ~(1u << VIRTIO_RING_F_EVENT_IDX | 1u << VIRTIO_RING_F_INDIRECT_DESC),
		     COMPAT_FEATURES_FOR_TEST | 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS |
			     1u << VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned int i = 0; i < 6; i++)
		virtio_mmio_read(&b.t, VIRTIO_MMIO_CONFIG + i, &cfg_mac[i], 1);
	CHECK(memcmp(cfg_mac, mac, 6) == 0);
	CHECK_EQ_INT(link_status(&b), VIRTIO_NET_S_LINK_UP);
	bench_destroy(&b);
}

/* A frame each way over a stream, the length before each. */
static void test_stream_frames(void)
{
	struct bench b;
	uint8_t *out = make_frame(1514, 1), *in = make_frame(60, 2), got[1514];
	uint32_t prefix;

	bench_socketpair(&b, SOCK_STREAM, 0);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	guest_send(&b, out, 1514);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 1);
	CHECK(peer_read(&b, &prefix, 4) && ntohl(prefix) == 1514);
	CHECK(peer_read(&b, got, 1514) && memcmp(got, out, 1514) == 0);

	uint64_t gpa = guest_offer(&b, 2048, true);
	stream_peer_send(b.peer, in, 60);
	run_until_idle(&b);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	CHECK_EQ_INT(vqd_used_len(&b.driver, VIRTIO_NET_RX_QUEUE, 1), HDR + 60);
	check_received(gpa, in, 60);
	/* a frame that comes in pieces is delivered once whole */
	gpa = guest_offer(&b, 2048, true);
	prefix = htonl(60);
	CHECK_EQ_INT(write(b.peer, &prefix, 3), 3);
	run_until_idle(&b);
	CHECK_EQ_INT(write(b.peer, (uint8_t *)&prefix + 3, 1), 1);
	CHECK_EQ_INT(write(b.peer, in, 30), 30);
	run_until_idle(&b);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	CHECK_EQ_INT(write(b.peer, in + 30, 30), 30);
	run_until_idle(&b);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 2);
	check_received(gpa, in, 60);
	CHECK_EQ_INT(b.net.counters.tx_frames, 1);
	CHECK_EQ_INT(b.net.counters.rx_frames, 2);
	CHECK_EQ_INT(b.net.counters.rx_bytes, 120);

	/* The driver resets the device and starts again (a guest's reboot, a
	 * driver reloaded): a frame that came meanwhile waits, then both
	 * ways work on the new rings. */
	wr(&b.t, VIRTIO_MMIO_STATUS, 0);
	stream_peer_send(b.peer, in, 60);
	CHECK(run_until_idle(&b) <= 1);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	gpa = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	check_received(gpa, in, 60);
	guest_send(&b, out, 1514);
	CHECK(peer_read(&b, &prefix, 4) && ntohl(prefix) == 1514);
	CHECK(peer_read(&b, got, 1514) && memcmp(got, out, 1514) == 0);
	bench_destroy(&b);
	free(out);
	free(in);
}

/* A frame each way over datagrams, through a socket the device binds
 * beside the peer's path and greets it from, as gvproxy's vfkit mode wants. */
static void test_datagram_frames_and_greeting(void)
{
	char path[64];
	struct sockaddr_un addr = { .sun_family = AF_UNIX }, from;
	socklen_t from_len = sizeof(from);
	struct vm_net cfg = { .backend = VM_NET_UNIXGRAM, .fd = -1, .path = path,
			      .flags = VM_NET_FLAG_VFKIT };
	struct net_backend *backend;
	uint8_t *out = make_frame(1000, 3), *in = make_frame(1514, 4), got[2048];
	struct bench b;
	int peer = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(path, sizeof(path), "/tmp/test-virtio-net-%d.sock", (int)getpid());
	unlink(path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	CHECK_EQ_INT(bind(peer, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_EQ_INT(net_unixgram_open(&cfg, 0, &backend), 0);
	CHECK_EQ_INT(recvfrom(peer, got, sizeof(got), MSG_DONTWAIT, (struct sockaddr *)&from,
			      &from_len), 4);
	CHECK(memcmp(got, "VFKT", 4) == 0);
	CHECK(strstr(from.sun_path, "/tmp/krun-net-") == from.sun_path);
	CHECK_EQ_INT(connect(peer, (struct sockaddr *)&from, from_len), 0);
	fcntl(peer, F_SETFL, O_NONBLOCK);
	bench_init(&b, backend, peer, 0);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);

	guest_send(&b, out, 1000);
	CHECK_EQ_INT(recv(peer, got, sizeof(got), 0), 1000);
	CHECK(memcmp(got, out, 1000) == 0);
	uint64_t gpa = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(send(peer, in, 1514, 0), 1514);
	run_until_idle(&b);
	CHECK_EQ_INT(vqd_used_len(&b.driver, VIRTIO_NET_RX_QUEUE, 1), HDR + 1514);
	check_received(gpa, in, 1514);

	virtio_mmio_destroy(&b.t);
	virtio_net_destroy(&b.net); /* closes its socket and removes its name */
	event_loop_destroy(&b.loop);
	CHECK(access(from.sun_path, F_OK) < 0 && errno == ENOENT);
	close(peer);
	unlink(path);
	free(out);
	free(in);
}

/* Datagrams past the largest frame are dropped and counted, and the next
 * one still arrives; so is a frame larger than the guest's buffer, which
 * stays for the next. */
static void test_datagram_too_long(void)
{
	struct bench b;
	uint8_t *big = make_frame(NET_MAX_FRAME + 1, 5), *small = make_frame(100, 6);
	int size = 1 << 20;

	bench_socketpair(&b, SOCK_DGRAM, 0);
	setsockopt(b.peer, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	uint64_t gpa = guest_offer(&b, HDR + 200, true);
	CHECK_EQ_INT(send(b.peer, big, NET_MAX_FRAME + 1, 0), NET_MAX_FRAME + 1);
	CHECK_EQ_INT(send(b.peer, big, 1500, 0), 1500);
	CHECK_EQ_INT(send(b.peer, small, 100, 0), 100);
	run_until_idle(&b);
	CHECK_EQ_INT(b.net.counters.rx_too_big, 1);
	CHECK_EQ_INT(b.net.counters.rx_no_room, 1);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	check_received(gpa, small, 100);
	CHECK_EQ_INT(link_status(&b), VIRTIO_NET_S_LINK_UP);
	bench_destroy(&b);
	free(big);
	free(small);
}

/* A length no frame can have: the stream cannot be followed, the link
 * goes down (a config interrupt), the peer is not read again, and what
 * the guest sends is dropped and counted. */
static void test_stream_impossible_length(void)
{
	struct bench b;
	uint32_t prefix = htonl(NET_MAX_FRAME + 1);
	uint8_t frame[64] = { 0 };

	bench_socketpair(&b, SOCK_STREAM, 0);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	guest_offer(&b, 2048, true);
	unsigned int irqs = b.irqs;
	CHECK_EQ_INT(write(b.peer, &prefix, 4), 4);
	CHECK_EQ_INT(write(b.peer, frame, sizeof(frame)), sizeof(frame));
	CHECK(run_until_idle(&b) <= 2);
	CHECK_EQ_INT(link_status(&b), 0);
	CHECK_EQ_INT(b.net.counters.link_downs, 1);
	CHECK(b.irqs > irqs);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 0);
	stream_peer_send(b.peer, frame, sizeof(frame));
	CHECK_EQ_INT(run_until_idle(&b), 0);
	guest_send(&b, frame, sizeof(frame));
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 1);
	CHECK_EQ_INT(b.net.counters.tx_link_down, 1);
	bench_destroy(&b);
}

/* A peer that closes inside a prefix, or between frames: link down, no
 * spin on the hang-up, the device still answers the guest. */
static void test_stream_peer_closes(bool inside_prefix)
{
	struct bench b;
	uint8_t frame[60] = { 1 };

	bench_socketpair(&b, SOCK_STREAM, 0);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	guest_offer(&b, 2048, true);
	stream_peer_send(b.peer, frame, sizeof(frame));
	if (inside_prefix)
		CHECK_EQ_INT(write(b.peer, "\0\0", 2), 2);
	close(b.peer);
	b.peer = -1;
	CHECK(run_until_idle(&b) <= 2);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1); /* what came before the close */
	guest_offer(&b, 2048, true);
	CHECK(run_until_idle(&b) <= 2);
	CHECK_EQ_INT(link_status(&b), 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	guest_send(&b, frame, sizeof(frame));
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 1);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	bench_destroy(&b);
}

/* A datagram peer that goes away shows when the guest sends. */
static void test_datagram_peer_closes(void)
{
	struct bench b;
	uint8_t frame[60] = { 1 };

	bench_socketpair(&b, SOCK_DGRAM, 0);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	close(b.peer);
	b.peer = -1;
	guest_send(&b, frame, sizeof(frame));
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 1);
	CHECK_EQ_INT(link_status(&b), 0);
	CHECK_EQ_INT(b.net.counters.tx_link_down, 1);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	bench_destroy(&b);
}

/* With no receive buffer, the peer's frames wait in the socket and the
 * loop sleeps; the guest's kick with a buffer brings them in. */
static void test_receive_waits_for_buffers(uint64_t features)
{
	struct bench b;
	uint8_t *in = make_frame(200, 7);

	bench_socketpair(&b, SOCK_DGRAM, 0);
	driver_up(&b, features);
	CHECK_EQ_INT(send(b.peer, in, 200, 0), 200);
	CHECK_EQ_INT(send(b.peer, in, 100, 0), 100);
	CHECK(run_until_idle(&b) <= 1);
	CHECK_EQ_INT(run_until_idle(&b), 0);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 0);
	uint64_t gpa = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	check_received(gpa, in, 200);
	CHECK_EQ_INT(run_until_idle(&b), 0); /* the second waits again */
	gpa = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 2);
	check_received(gpa, in, 100);
	CHECK(b.net.counters.rx_waits >= 2);
	bench_destroy(&b);
	free(in);
}

/* With MRG_RXBUF, a frame larger than one receive buffer spreads over as
 * many as it takes, all given back at once with their count in the first
 * one's header; one that finds too few waits for the guest's next buffers;
 * one the whole ring cannot hold is dropped and the buffers kept. */
static void test_receive_merged(void)
{
	const uint64_t features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MRG_RXBUF;
	struct bench b;
	uint8_t *in = make_frame(5000, 3), got[5000 + HDR];
	uint64_t gpa[3];
	struct virtio_net_hdr_v1 hdr;

	bench_socketpair(&b, SOCK_DGRAM, 0);
	driver_up(&b, features);
	gpa[0] = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(send(b.peer, in, 5000, 0), 5000);
	run_until_idle(&b);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 0); /* waits: too few */
	gpa[1] = guest_offer(&b, 2048, false);
	gpa[2] = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 3);
	CHECK_EQ_INT(vqd_used_len(&b.driver, VIRTIO_NET_RX_QUEUE, 1), 2048);
	CHECK_EQ_INT(vqd_used_len(&b.driver, VIRTIO_NET_RX_QUEUE, 2), 2048);
	CHECK_EQ_INT(vqd_used_len(&b.driver, VIRTIO_NET_RX_QUEUE, 3), 5000 + HDR - 4096);
	for (unsigned int i = 0; i < 3; i++)
		memcpy(got + i * 2048, gm_ptr(&gm, gpa[i], i < 2 ? 2048 : 5000 + HDR - 4096),
		       i < 2 ? 2048 : 5000 + HDR - 4096);
	memcpy(&hdr, got, HDR);
	CHECK_EQ_INT(hdr.num_buffers, 3);
	CHECK(memcmp(got + HDR, in, 5000) == 0);
	CHECK_EQ_INT(b.net.counters.rx_frames, 1);
	CHECK_EQ_INT(b.net.counters.rx_merged, 1);

	/* the whole ring in 64-byte buffers holds no 5000-byte frame */
	for (unsigned int i = 0; i < QUEUE_SIZE; i++)
		gpa[0] = guest_offer(&b, 64, i + 1 == QUEUE_SIZE);
	CHECK_EQ_INT(send(b.peer, in, 5000, 0), 5000);
	CHECK_EQ_INT(send(b.peer, in, 100, 0), 100);
	run_until_idle(&b);
	CHECK_EQ_INT(b.net.counters.rx_no_room, 1);
	/* the small one after it took two of the buffers the large one gave back */
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 5);
	CHECK_EQ_INT(b.net.counters.rx_frames, 2);
	bench_destroy(&b);
	free(in);
}

/* A peer that stops reading: the guest's frames stay in its ring (none
 * lost, nothing buffered beyond a frame), the loop waits for room and
 * sends the rest, whole and in order, once the peer reads again. */
static void test_transmit_backpressure(void)
{
	struct bench b;
	const uint32_t len = 8000;
	const unsigned int nr = QUEUE_SIZE / 2 - 1; /* two descriptors each */
	int small = 4096;
	uint8_t got[8000];

	bench_socketpair(&b, SOCK_STREAM, 0);
	setsockopt(b.net.backend->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(b.peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	for (unsigned int i = 0; i < nr; i++) {
		uint8_t *f = make_frame(len, i);
		guest_send(&b, f, len);
		free(f);
	}
	uint16_t sent = vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE);
	CHECK(sent < nr);
	CHECK(b.net.counters.tx_waits >= 1);
	CHECK_EQ_INT(run_until_idle(&b), 0); /* waiting for room, not spinning */
	for (unsigned int i = 0; i < nr; i++) {
		uint32_t prefix;
		uint8_t *f = make_frame(len, i);
		CHECK(peer_read(&b, &prefix, 4));
		CHECK_EQ_INT(ntohl(prefix), len);
		CHECK(peer_read(&b, got, len) && memcmp(got, f, len) == 0);
		free(f);
	}
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), nr);
	CHECK_EQ_INT(b.net.counters.tx_frames, nr);
	bench_destroy(&b);
}

/* The guest's malformed and oversized frames are dropped and counted. */
static void test_transmit_bounds(void)
{
	struct bench b;
	uint8_t *big = make_frame(NET_MAX_FRAME + 1, 8);
	struct vqd_seg shorter = { .data = big, .len = HDR - 1 };
	char got[16];

	bench_socketpair(&b, SOCK_DGRAM, 0);
	driver_up(&b, 1ull << VIRTIO_F_VERSION_1);
	vqd_add_chain(&b.driver, VIRTIO_NET_TX_QUEUE, &shorter, 1);
	vqd_kick(&b.driver, VIRTIO_NET_TX_QUEUE);
	guest_send(&b, big, NET_MAX_FRAME + 1);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 2);
	CHECK_EQ_INT(b.net.counters.tx_malformed, 1);
	CHECK_EQ_INT(b.net.counters.tx_too_big, 1);
	CHECK_EQ_INT(b.net.counters.tx_frames, 0);
	CHECK(recv(b.peer, got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	bench_destroy(&b);
	free(big);
}

/* The sum of 16-bit big-endian words, folded: what a receiver adds up. */
static uint16_t fold_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A UDP checksum the guest leaves to the device reaches a bare-frame peer
 * finished; one whose field lies outside the frame is dropped. */
static void test_transmit_checksums(void)
{
	uint8_t frame[14 + 20 + 8 + 33] = { 0 }, got[128];
	const uint8_t pseudo[12] = { 10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0, 8 + 33 };
	struct virtio_net_hdr_v1 hdr = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
					 .csum_offset = 6 };
	struct bench b;

	frame[12] = 0x08; /* IPv4, UDP from 10.0.2.15:5000 to 10.0.2.2:53 */
	frame[14] = 0x45;
	frame[14 + 9] = 17;
	memcpy(frame + 14 + 12, pseudo, 8);
	uint8_t *udp = frame + 34;
	udp[0] = 5000 >> 8, udp[1] = 5000 & 0xff, udp[3] = 53, udp[5] = 8 + 33;
	for (size_t i = 8; i < 8 + 33; i++)
		udp[i] = (uint8_t)(i * 29);
	/* the guest's partial sum: its pseudo-header's, not complemented */
	uint16_t partial = fold_sum(0, pseudo, sizeof(pseudo));
	udp[6] = partial >> 8, udp[7] = partial & 0xff;

	bench_socketpair(&b, SOCK_DGRAM, COMPAT_FEATURES_FOR_TEST);
	driver_up(&b, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_CSUM));
	guest_send_hdr(&b, &hdr, frame, sizeof(frame));
	CHECK_EQ_INT(recv(b.peer, got, sizeof(got), MSG_DONTWAIT), sizeof(frame));
	CHECK(memcmp(got, frame, 34 + 6) == 0 && memcmp(got + 42, frame + 42, 33) == 0);
	CHECK(got[40] != udp[6] || got[41] != udp[7]);
	CHECK_EQ_INT(fold_sum(fold_sum(0, pseudo, sizeof(pseudo)), got + 34, 8 + 33), 0xffff);
	/* the field's last byte past the frame */
	hdr.csum_start = sizeof(frame) - 7;
	guest_send_hdr(&b, &hdr, frame, sizeof(frame));
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 2);
	CHECK_EQ_INT(b.net.counters.tx_malformed, 1);
	CHECK(recv(b.peer, got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	bench_destroy(&b);
}

/* ---- the tap, in a network namespace of the test's own ---- */

#define TAP_NAME "krtest0"
#define ETHERTYPE_TEST 0x88b5 /* IEEE's local experimental type */

/* No IPv6 on the namespace's new interfaces: its router solicitations and
 * listener reports would reach the guest before the test's frames. */
static void quiet_ipv6(void)
{
	int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) { /* a kernel without IPv6 sends none */
		CHECK_EQ_INT(write(fd, "1", 1), 1);
		close(fd);
	}
}

/* Whether the tap's netdev does TCP segmentation: what TUNSETOFFLOAD set. */
static int tap_tso(void)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq ifr = { .ifr_data = (void *)&ev };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, TAP_NAME);
	CHECK_EQ_INT(ioctl(s, SIOCETHTOOL, &ifr), 0);
	close(s);
	return (int)ev.data;
}

/* A packet socket on the tap, up: the host's side of the guest's link. */
static int tap_peer(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int p = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETHERTYPE_TEST));

	strcpy(ifr.ifr_name, TAP_NAME);
	CHECK_EQ_INT(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP | IFF_NOARP;
	CHECK_EQ_INT(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_TEST),
				  .sll_ifindex = (int)if_nametoindex(TAP_NAME) };
	CHECK_EQ_INT(bind(p, (struct sockaddr *)&ll, sizeof(ll)), 0);
	close(s);
	return p;
}

/* Frames both ways through a tap with virtio-net headers, and the
 * offloads the driver took (and only those) handed to the tap. */
static void test_tap(uint64_t driver_features, int want_tso)
{
	struct vm_net cfg = { .backend = VM_NET_TAP, .path = TAP_NAME, .fd = -1 };
	uint8_t out[200], in[300], got[400];
	struct net_backend *backend;
	struct bench b;

	memset(out, 0xff, 6); /* broadcast, from the guest's MAC, our type */
	memcpy(out + 6, mac, 6);
	out[12] = ETHERTYPE_TEST >> 8;
	out[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < sizeof(out); i++)
		out[i] = (uint8_t)i;
	memcpy(in, mac, 6);
	memcpy(in + 6, "\x02\0\0\0\0\x09", 6);
	memcpy(in + 12, out + 12, 2);
	for (size_t i = 14; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 3);

	CHECK_EQ_INT(net_tap_open(&cfg, 0, &backend), 0);
	bench_init(&b, backend, tap_peer(), COMPAT_FEATURES_FOR_TEST);
	CHECK_EQ_INT(tap_tso(), 0); /* nothing before the driver says */
	driver_up(&b, driver_features);
	CHECK_EQ_INT(tap_tso(), want_tso);

	guest_send(&b, out, sizeof(out));
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_TX_QUEUE), 1);
	CHECK(peer_read(&b, got, sizeof(out)) && memcmp(got, out, sizeof(out)) == 0);
	uint64_t gpa = guest_offer(&b, 2048, true);
	CHECK_EQ_INT(send(b.peer, in, sizeof(in), 0), sizeof(in));
	run_until_idle(&b);
	CHECK_EQ_INT(vqd_used_idx(&b.driver, VIRTIO_NET_RX_QUEUE), 1);
	CHECK_EQ_INT(vqd_used_len(&b.driver, VIRTIO_NET_RX_QUEUE, 1), HDR + sizeof(in));
	check_received(gpa, in, sizeof(in));

	virtio_mmio_destroy(&b.t);
	virtio_net_destroy(&b.net); /* closes the tap, which then goes */
	event_loop_destroy(&b.loop);
	close(b.peer);
	CHECK_EQ_INT(if_nametoindex(TAP_NAME), 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the VMM does */
	alarm(60);		  /* a device that hangs fails the test */
	log_set_level(getenv("TEST_LOG") ? LOG_DEBUG : LOG_OFF);
	if (gm_add_anon(&gm, 0, MEM_SIZE) < 0) {
		fprintf(stderr, "cannot map guest memory\n");
		return 1;
	}
	test_identity();
	test_stream_frames();
	test_datagram_frames_and_greeting();
	test_datagram_too_long();
	test_stream_impossible_length();
	test_stream_peer_closes(false);
	test_stream_peer_closes(true);
	test_datagram_peer_closes();
	test_receive_waits_for_buffers(1ull << VIRTIO_F_VERSION_1);
	test_receive_waits_for_buffers((1ull << VIRTIO_F_VERSION_1) |
				       (1ull << VIRTIO_RING_F_EVENT_IDX));
	test_receive_merged();
	test_transmit_backpressure();
	test_transmit_bounds();
	test_transmit_checksums();
	/* a tap of our own, in a network namespace of our own (needs root) */
	CHECK_EQ_INT(unshare(CLONE_NEWNET), 0);
	quiet_ipv6();
	test_tap(1ull << VIRTIO_F_VERSION_1, 0);
	test_tap((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
		 (1ull << VIRTIO_NET_F_GUEST_TSO4), 1);
	return CHECK_DONE();
}
